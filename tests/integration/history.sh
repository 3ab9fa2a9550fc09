#!/usr/bin/env bash
# `whochanged history`: the real binary against the AWS Config and
# CloudTrail stand-ins (tests/support/standins), which verify every
# request's SigV4 signature with botocore. A security group's history
# (tests/data/history, shifted so that its anchor is now) comes in pages of
# 3; its changes are attributed to a human, Terraform, a service and
# nobody; JSON lines; --since/--until; Config's errors; throttling;
# another account through STS AssumeRole. TAP; bounded in time.
set -uo pipefail
root=${WC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${WHOCHANGED:-$root/build/whochanged}
data="$root/tests/data/history"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wc-history.XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    for _ in $(seq 1 30); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

N=17
echo "1..$N"
n=0
ok()     { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1)); echo "not ok $n - $1"
    [ -s "$tmp/out" ] && sed 's/^/# out: /' "$tmp/out" | tail -10
    [ -s "$tmp/err" ] && sed 's/^/# err: /' "$tmp/err" | tail -5
}

# the fixtures' times, moved so that their anchor is now
python3 - "$data" "$tmp" <<'PY' || { for _ in $(seq 1 $N); do not_ok "fixtures"; done; exit 1; }
import datetime, json, os, sys, time
KEYS = ("configurationItemCaptureTime", "resourceCreationTime", "configurationItemDeliveryTime",
        "eventTime")
def parse(s): return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
def fmt(t): return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
for name in ("sg-history.json", "sg-events.json"):
    d = json.load(open(os.path.join(sys.argv[1], name)))
    delta = int(time.time()) - int(parse(d["_anchor"]))
    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k in KEYS and isinstance(v, str):
                    o[k] = fmt(parse(v) + delta)
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(d)
    json.dump(d, open(os.path.join(sys.argv[2], name), "w"))
PY

denied_key=AKIDDENIEDEXAMPLE000
denied_secret=deniedSECRETdeniedSECRETdeniedSECRET0000
if ! read -r pid port < <(STANDIN_LOG="$tmp/standin.log" "$root/tests/support/standins/start" \
        --config --cloudtrail --sts --config-history "$tmp/sg-history.json" \
        --events "$tmp/sg-events.json" --config-max-page 3 \
        --key "$denied_key=$denied_secret" --config-deny "$denied_key"); then
    for _ in $(seq 1 $N); do not_ok "stand-in did not start"; done
    exit 1
fi
url="http://127.0.0.1:$port"
SG=AWS::EC2::SecurityGroup/sg-0a1b2c3d4e5f60718

write_config() { # file extra-yaml
    cat >"$1" <<YAML
region: eu-west-1
endpoints:
  cloudtrail: $url
  sts: $url
  config: $url
trusted: ["arn:aws:iam::*:role/terraform-*"]
$2
YAML
}
write_config "$tmp/config.yaml" ""
write_config "$tmp/accounts.yaml" 'accounts: {role_arn: "arn:aws:iam::{account_id}:role/whochanged-reader", allowed: ["210987654321"]}'

good=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY
run_as() { # key secret config args... -> $tmp/out, $tmp/err, rc
    local key=$1 secret=$2 config=$3
    shift 3
    # each run is its own process with its own CloudTrail budget: a pause
    # keeps consecutive ones within the stand-in's 2 calls/s
    sleep 1.1
    env -i PATH="$PATH" HOME="$tmp" AWS_EC2_METADATA_DISABLED=true \
        AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" \
        timeout 120 "$bin" history --config "$config" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
run() { run_as AKIDEXAMPLE "$good" "$tmp/config.yaml" "$@"; }
# column k (1-based, split on two or more spaces) of every output line
cols() { python3 -c 'import re,sys; print(" ".join(re.split(r"  +", l.rstrip("\n"))[int(sys.argv[1])-1] for l in open(sys.argv[2])))' "$1" "$tmp/out"; }
stats() { curl -fsS "$url/_stats"; }
config_calls() { stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["roles"].get("config",{}).get("GetResourceConfigHistory",0))'; }

# 1-3: the last 7 days, in pages of 3
c0=$(config_calls)
run --resource "$SG"
if [ "$rc" = 0 ] && [ "$(wc -l <"$tmp/out")" = 6 ] &&
   [ "$(cols 2)" = "human automation service unattributed human human" ] &&
   [ "$(cols 3)" = "alice@example.com terraform-deployer elasticloadbalancing.amazonaws.com - alice@example.com bob" ] &&
   [ "$(cols 4)" = "AuthorizeSecurityGroupIngress CreateTags AuthorizeSecurityGroupEgress - RevokeSecurityGroupIngress AuthorizeSecurityGroupIngress" ]; then
    ok "six changes of the last 7 days, oldest first: a human, Terraform, a service, nobody"
else not_ok "the last 7 days (rc=$rc)"; fi

if [ "$(cols 5)" = "changed ipPermissions changed Tags.owner changed ipPermissionsEgress changed Relationships changed ipPermissions changed ipPermissions" ]; then
    ok "what changed: the keys that differ from the item before (the first against the one before the range)"
else not_ok "what changed: $(cols 5)"; fi

calls=$(( $(config_calls) - c0 ))
if [ "$calls" = 3 ] && curl -fsS "$url/_requests" | python3 -c '
import json, sys
reqs = [r["request"] for r in json.load(sys.stdin) if r["role"] == "config" and "request" in r][-3:]
b, p1, p2 = reqs
assert b["chronologicalOrder"] == "Reverse" and b["limit"] == 2 and "earlierTime" not in b, b
assert p1["chronologicalOrder"] == "Forward" and "nextToken" not in p1, p1
assert p2["nextToken"] and p2["earlierTime"] == p1["earlierTime"] and p2["laterTime"] == p1["laterTime"], p2
'; then ok "3 GetResourceConfigHistory calls: the item before the range, then 2 pages (nextToken)"
else not_ok "Config calls: $calls"; fi

# 4: JSON lines
run --resource "$SG" --format json
if [ "$rc" = 0 ] && python3 - "$tmp/out" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 6, len(lines)
d = [json.loads(l) for l in lines]
assert [x["class"] for x in d] == ["human", "automation", "service", "unattributed", "human", "human"]
assert [x["verdict"] for x in d][2] == "aws_service"
assert d[0]["events"][0]["event_id"] == "5e0c1a2b-0002-4c3d-9e8f-000000000002", d[0]["events"]
assert d[0]["events"][0]["actor"]["session_name"] == "alice@example.com"
assert d[0]["change"]["changed_properties"][0]["path"] == "Configuration.ipPermissions"
assert d[4]["events"][0]["event_id"] == "5e0c1a2b-0006-4c3d-9e8f-000000000006"
assert d[3]["who"] is None and d[3]["events"] == [] and d[3]["lookup"] == "looked_up"
assert all(x["change"]["resource_id"] == "sg-0a1b2c3d4e5f60718" for x in d)
assert d[0]["time"] < d[1]["time"] < d[5]["time"]
PY
then ok "--format json: one object per change with the explain fields"
else not_ok "--format json (rc=$rc)"; fi

# 5: beyond CloudTrail's 90 days
run --resource "$SG" --since 200d
if [ "$rc" = 0 ] && [ "$(wc -l <"$tmp/out")" = 8 ] &&
   [ "$(grep -c "older than CloudTrail's 90 days: not looked up" "$tmp/out")" = 2 ] &&
   head -1 "$tmp/out" | grep -q '  created \[older' && sed -n 2p "$tmp/out" | grep -q 'changed ipPermissions \[older'; then
    ok "--since 200d: the two changes older than 90 days are listed, not looked up"
else not_ok "--since 200d (rc=$rc)"; fi

# 6-7: --since / --until
run --resource "$SG" --since 84h --until 36h
if [ "$rc" = 0 ] && [ "$(cols 2)" = "unattributed human" ] && [ "$(cols 4)" = "- RevokeSecurityGroupIngress" ]; then
    ok "--since 84h --until 36h: the two changes in between"
else not_ok "--since 84h --until 36h (rc=$rc)"; fi

since=$(python3 -c 'import datetime,time; print(datetime.datetime.fromtimestamp(time.time()-5.5*86400, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))')
run --resource "$SG" --since "$since"
if [ "$rc" = 0 ] && [ "$(cols 2)" = "automation service unattributed human human" ]; then
    ok "--since as an RFC 3339 time"
else not_ok "--since $since (rc=$rc)"; fi

# 8-11: errors
c0=$(config_calls)
run --resource sg-0a1b2c3d4e5f60718
if [ "$rc" = 2 ] && grep -q "is not TYPE/ID" "$tmp/err" && [ "$(config_calls)" = "$c0" ]; then
    ok "a --resource without its type: usage error, nothing asked"
else not_ok "bad --resource (rc=$rc)"; fi

run --resource AWS::EC2::SecurityGroup/sg-0000000000000dead
if [ "$rc" = 1 ] && grep -q "is not recorded by AWS Config in your account, eu-west-1 (ResourceNotDiscoveredException)" "$tmp/err" &&
   [ ! -s "$tmp/out" ]; then
    ok "a resource Config never discovered: ResourceNotDiscoveredException said plainly"
else not_ok "not discovered (rc=$rc)"; fi

run_as "$denied_key" "$denied_secret" "$tmp/config.yaml" --resource "$SG"
if [ "$rc" = 1 ] && grep -q "not authorized to config:GetResourceConfigHistory" "$tmp/err" &&
   ! grep -q "$denied_secret" "$tmp/err"; then
    ok "AccessDeniedException: not authorized to config:GetResourceConfigHistory"
else not_ok "access denied (rc=$rc)"; fi

run --resource AWS::EC2::NotAType/x-1
if [ "$rc" = 1 ] && grep -q "AWS Config refused the request" "$tmp/err" && grep -q ValidationException "$tmp/err"; then
    ok "ValidationException for an unknown resource type"
else not_ok "validation (rc=$rc)"; fi

# 12: throttled twice, then answered (the SDK's standard retry)
curl -fsS -X POST -d '{"config": "throttle*2"}' "$url/_faults" >/dev/null
run --resource "$SG"
faults=$(stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["roles"]["config"].get("fault_throttle",0))')
if [ "$rc" = 0 ] && [ "$(wc -l <"$tmp/out")" = 6 ] && [ "$faults" = 2 ]; then
    ok "GetResourceConfigHistory throttled twice: retried with backoff, the history complete"
else not_ok "throttled Config (rc=$rc, faults=$faults)"; fi

# 13-14: another account, through AssumeRole
run --resource AWS::EC2::SecurityGroup/sg-0f0e0d0c0b0a09080 --account 210987654321
if [ "$rc" = 1 ] && grep -q "ResourceNotDiscoveredException" "$tmp/err" && grep -q "without accounts.role_arn" "$tmp/err"; then
    ok "--account without accounts.role_arn: our own account's Config does not know it"
else not_ok "--account without a role (rc=$rc)"; fi

a0=$(stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["roles"].get("sts",{}).get("AssumeRole",0))')
run_as AKIDEXAMPLE "$good" "$tmp/accounts.yaml" --resource AWS::EC2::SecurityGroup/sg-0f0e0d0c0b0a09080 --account 210987654321
a1=$(stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["roles"].get("sts",{}).get("AssumeRole",0))')
if [ "$rc" = 0 ] && [ "$(cols 2)" = human ] && [ "$(cols 3)" = carol ] && [ "$a1" -gt "$a0" ]; then
    ok "--account with accounts.role_arn: Config and CloudTrail read in 210987654321 through AssumeRole"
else not_ok "cross-account (rc=$rc, AssumeRole $a0 -> $a1)"; fi

# 15: a wrong secret is refused by the stand-in's own SigV4 check
run_as AKIDEXAMPLE "wrongSECRETwrongSECRETwrongSECRET0000000" "$tmp/config.yaml" --resource "$SG"
if [ "$rc" = 1 ] && grep -q InvalidSignatureException "$tmp/err" && ! grep -q wrongSECRET "$tmp/err"; then
    ok "a wrong secret: InvalidSignatureException from the stand-in's SigV4 check, secret not shown"
else not_ok "wrong secret (rc=$rc)"; fi

# 16: the stand-in as the API model says: botocore's own Config client
if /usr/bin/python3 - "$url" "$good" <<'PY'
import sys
import botocore.session
url, secret = sys.argv[1], sys.argv[2]
c = botocore.session.get_session().create_client(
    "config", region_name="eu-west-1", endpoint_url=url, aws_access_key_id="AKIDEXAMPLE",
    aws_secret_access_key=secret)
assert c.meta.service_model.signing_name == "config"
pages = list(c.get_paginator("get_resource_config_history").paginate(
    resourceType="AWS::EC2::SecurityGroup", resourceId="sg-0a1b2c3d4e5f60718",
    chronologicalOrder="Forward"))
items = [i for p in pages for i in p["configurationItems"]]
assert len(pages) == 3 and len(items) == 8, (len(pages), len(items))
times = [i["configurationItemCaptureTime"] for i in items]
assert times == sorted(times) and times[0].tzinfo is not None, times
assert items[0]["configurationItemStatus"] == "ResourceDiscovered"
assert isinstance(items[0]["configuration"], str) and items[0]["tags"] == {"team": "web"}
try:
    c.get_resource_config_history(resourceType="AWS::EC2::SecurityGroup", resourceId="sg-404")
    raise SystemExit("no error")
except c.exceptions.ResourceNotDiscoveredException:
    pass
PY
then ok "botocore's Config client pages through the stand-in (3 pages, 8 items) and gets its errors"
else not_ok "botocore against the Config stand-in"; fi

# 17: rate-limited like the worker: about 8 lookups a run, each process
# spacing its calls 10% under the stand-in's strict 2 a second. Unpaced,
# most calls of a run would be throttled; a loaded machine's scheduling
# jitter may still cost one or two over the whole script.
st=$(stats)
if python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s["calls"] >= 30 and s["throttled"] <= 2 else 1)' "$st"; then
    ok "LookupEvents paced: $(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); print("%d calls, %d throttled" % (s["calls"], s["throttled"]))' "$st")"
else not_ok "LookupEvents throttled: $st"; fi

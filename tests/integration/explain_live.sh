#!/usr/bin/env bash
# `whochanged explain` without --events: the real binary looks the events up
# in the CloudTrail stand-in (tests/support/standins), which verifies every
# request's SigV4 signature independently with botocore, throttles above
# 2 calls/s per account-region, and scopes events by account; cross-account
# lookups go through the STS stand-in's AssumeRole. TAP; bounded in time.
set -uo pipefail
root=${WC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${WHOCHANGED:-$root/build/whochanged}
ex="$root/examples"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wc-explain-live.XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    for _ in $(seq 1 30); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "1..10"
n=0
ok()     { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; [ -s "$tmp/err" ] && sed 's/^/# /' "$tmp/err" | tail -5; }

# an oversized notification: the summary in SNS, the item (gzip JSON) in S3
python3 - "$ex/notifications/01-sso-console-security-group.json" "$tmp" <<'PY'
import gzip, json, os, sys
env = json.load(open(sys.argv[1]))
item = json.loads(env["Message"])
ci = item["configurationItem"]
key = ("AWSLogs/123456789012/Config/eu-west-1/2026/11/20/OversizedChangeNotification/"
       "AWS::EC2::SecurityGroup/%s/123456789012_Config_eu-west-1_ChangeNotification_"
       "AWS::EC2::SecurityGroup_%s_20261120T100030Z_0.json.gz" % (ci["resourceId"], ci["resourceId"]))
path = os.path.join(sys.argv[2], "s3", "config-bucket-123456789012", key)
os.makedirs(os.path.dirname(path))
with open(path, "wb") as f:
    f.write(gzip.compress(json.dumps(item).encode()))
summary = {k: ci[k] for k in ("configurationItemCaptureTime", "awsAccountId", "configurationItemStatus",
                              "resourceType", "resourceId", "resourceName", "ARN", "awsRegion")}
summary["changeType"] = "UPDATE"
msg = {"configurationItemSummary": summary,
       "s3DeliverySummary": {"s3BucketLocation": "config-bucket-123456789012/" + key,
                             "errorCode": None, "errorMessage": None},
       "notificationCreationTime": ci["configurationItemCaptureTime"],
       "messageType": "OversizedConfigurationItemChangeNotification", "recordVersion": "1.0"}
env["Message"] = json.dumps(msg)
json.dump(env, open(os.path.join(sys.argv[2], "oversized.json"), "w"))
PY

if ! read -r pid port < <(STANDIN_LOG="$tmp/standin.log" "$root/tests/support/standins/start" \
        --cloudtrail --sts --s3 --s3-dir "$tmp/s3" --events "$ex/cloudtrail-events.json" \
        --events "$root/tests/data/live/other-account-events.json"); then
    for _ in $(seq 1 10); do not_ok "stand-in did not start"; done
    exit 1
fi
url="http://127.0.0.1:$port"

write_config() { # file extra-yaml
    cat >"$1" <<YAML
region: eu-west-1
endpoints:
  cloudtrail: $url
  sts: $url
  s3: $url
trusted: ["arn:aws:iam::*:role/terraform-*"]
$2
YAML
}
write_config "$tmp/config.yaml" ""
write_config "$tmp/accounts.yaml" 'accounts: {role_arn: "arn:aws:iam::{account_id}:role/whochanged-reader"}'

run() { # secret config notification -> stdout in $tmp/out, stderr in $tmp/err, status in rc
    # Each explain is its own process with its own token bucket: a pause
    # keeps consecutive processes within CloudTrail's 2 calls/s (the worker
    # shares one bucket per account-region across everything in flight).
    sleep 1.1
    env -i PATH="$PATH" HOME="$tmp" AWS_EC2_METADATA_DISABLED=true \
        AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY="$1" \
        timeout 60 "$bin" explain --config "$2" --notification "$3" --log-level warn \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/out" "$1" 2>/dev/null; }
good=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY

run "$good" "$tmp/config.yaml" "$ex/notifications/01-sso-console-security-group.json"
if [ "$rc" = 0 ] && [ "$(field 'd["verdict"]')" = human ] &&
   [ "$(field 'd["events"][0]["event_id"]')" = 7c1d0e2f-0001-4b5a-8c6d-000000000001 ] &&
   [ "$(field 'd["events"][0]["actor"]["session_name"]')" = alice@example.com ]; then
    ok "SSO console change attributed live to alice@example.com"
else not_ok "SSO console change attributed live (rc=$rc)"; fi

run "$good" "$tmp/config.yaml" "$ex/notifications/02-terraform-security-group.json"
if [ "$rc" = 0 ] && [ "$(field 'd["verdict"]')" = automation ]; then ok "Terraform change is automation"
else not_ok "Terraform change is automation (rc=$rc, $(field 'd["verdict"]'))"; fi

run "$good" "$tmp/config.yaml" "$ex/notifications/03-autoscaling-instance.json"
if [ "$rc" = 0 ] && [ "$(field 'd["verdict"]')" = aws_service ] &&
   [ "$(field 'd["events"][0]["event_id"]')" = 7c1d0e2f-0003-4b5a-8c6d-000000000003 ]; then
    ok "Auto Scaling launch found by its related EventId and classified aws_service"
else not_ok "Auto Scaling launch (rc=$rc)"; fi

# the bucket policy event becomes visible 40 s after the stand-in started
run "$good" "$tmp/config.yaml" "$ex/notifications/04-late-bucket-policy.json"
if [ "$rc" = 0 ] && [ "$(field 'd["verdict"]')" = unattributed ]; then
    ok "an event CloudTrail has not published yet leaves the change unattributed"
else not_ok "late event not yet visible (rc=$rc, $(field 'd["verdict"]'))"; fi

before=$(curl -fsS "$url/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["calls"])')
run "wrongSECRETwrongSECRETwrongSECRET0000000" "$tmp/config.yaml" \
    "$ex/notifications/01-sso-console-security-group.json"
if [ "$rc" = 1 ] && grep -q InvalidSignatureException "$tmp/err" && ! grep -q wrongSECRET "$tmp/err"; then
    ok "a wrong secret is refused by the stand-in's own SigV4 check (InvalidSignatureException), secret not logged"
else not_ok "wrong secret refused (rc=$rc)"; fi

# the other account's event is not in our own account's trail ...
run "$good" "$tmp/config.yaml" "$root/tests/data/live/other-account-notification.json"
if [ "$rc" = 0 ] && [ "$(field 'd["verdict"]')" = unattributed ]; then
    ok "without accounts.role_arn another account's trail is not visible"
else not_ok "own credentials, other account (rc=$rc, $(field 'd["verdict"]'))"; fi

# ... but is through AssumeRole into that account
run "$good" "$tmp/accounts.yaml" "$root/tests/data/live/other-account-notification.json"
if [ "$rc" = 0 ] && [ "$(field 'd["verdict"]')" = human ] &&
   [ "$(field 'd["events"][0]["actor"]["name"]')" = carol ]; then
    ok "with accounts.role_arn the change in 210987654321 is attributed through STS AssumeRole"
else not_ok "cross-account AssumeRole (rc=$rc, $(field 'd["verdict"]'))"; fi

stats=$(curl -fsS "$url/_stats")
if python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s.get("throttled",0)==0 else 1)' "$stats"; then
    ok "no LookupEvents call was throttled"
else not_ok "no throttling: $stats"; fi

# oversized: the item is fetched from S3 (signature checked by the stand-in), then attributed
run "$good" "$tmp/config.yaml" "$tmp/oversized.json"
if [ "$rc" = 0 ] && [ "$(field 'd["verdict"]')" = human ] &&
   [ "$(field 'd["change"]["changed_properties"][0]["path"]')" = Configuration.IpPermissions.0 ]; then
    ok "oversized notification: item fetched from S3, diff included, attributed"
else not_ok "oversized notification (rc=$rc)"; fi

# One lookup per change when it finds the write event: SSO, Terraform (by
# ResourceName) and Auto Scaling (by EventId) 1 each; the bucket, whose
# event is not visible yet, 2 (its id, then its ARN; the name is the id).
if [ "$before" = 5 ]; then ok "LookupEvents calls: 5 for the 4 example changes"
else not_ok "LookupEvents calls: $before for the 4 example changes, expected 5"; fi

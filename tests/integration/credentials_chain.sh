#!/usr/bin/env bash
# The AWS SDKs' credential chain end to end: the real binary (`whochanged
# explain`, which looks the change up in CloudTrail) with no keys in its
# environment, only an AWS profile in a temporary HOME:
#   - a credential_process profile (tests/data/credentials/process.sh);
#   - IAM Identity Center profiles (sso_session and legacy), with the token
#     cache `aws sso login` writes, against the SSO stand-in (portal
#     GetRoleCredentials and OIDC CreateToken, tests/support/standins/sso.py).
# The CloudTrail stand-in verifies every request's SigV4 signature with
# botocore against the keys it knows or issued, and its request log says
# which keys signed it. TAP; bounded in time.
set -uo pipefail
root=${WC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${WHOCHANGED:-$root/build/whochanged}
ex="$root/examples"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wc-creds-chain.XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    for _ in $(seq 1 30); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

plan=12
echo "1..$plan"
n=0 failed=0
ok()     { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; [ -s "$tmp/err" ] && sed 's/^/# /' "$tmp/err" | tail -5; }

proc_key=AKIDPROCESSEXAMPLE01
proc_secret=procSECRETprocSECRETprocSECRETprocSECR1
if ! read -r pid port < <(STANDIN_LOG="$tmp/standin.log" "$root/tests/support/standins/start" \
        --cloudtrail --sso --events "$ex/cloudtrail-events.json" \
        --key "$proc_key=$proc_secret" \
        --sso-token good-access-token --sso-token legacy-access-token \
        --sso-token expiring-access-token=600 \
        --sso-assignment 123456789012/ReadOnly \
        --sso-client whochanged-client=client-secret-example --sso-refresh-token refresh-1); then
    for _ in $(seq 1 $plan); do not_ok "stand-in did not start"; done
    exit 1
fi
url="http://127.0.0.1:$port"

home="$tmp/home"
mkdir -p "$home/.aws/sso/cache"
cat >"$tmp/config.yaml" <<YAML
endpoints:
  cloudtrail: $url
YAML
script="$root/tests/data/credentials/process.sh"
cat >"$home/.aws/config" <<INI
[profile proc]
credential_process = '$script' static $proc_key $proc_secret
[profile proc-wrong]
credential_process = '$script' static $proc_key wrongSECRETwrongSECRETwrongSECRETwrong01
[profile proc-fails]
credential_process = '$script' fail 4 "no session: run helper login"
[profile sso]
sso_session = org
sso_account_id = 123456789012
sso_role_name = ReadOnly
[profile sso-admin]
sso_session = org
sso_account_id = 123456789012
sso_role_name = Admin
[sso-session org]
sso_start_url = https://example.awsapps.com/start
sso_region = eu-west-1
[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 123456789012
sso_role_name = ReadOnly
INI
# the token cache `aws sso login` writes: sha1 of the session name, or of
# the start URL in the legacy form
cache() { # key-text json
    printf '%s' "$2" >"$home/.aws/sso/cache/$(printf '%s' "$1" | sha1sum | cut -d' ' -f1).json"
}
future=$(date -u -d '+8 hours' +%Y-%m-%dT%H:%M:%SZ)
past=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
cache https://legacy.awsapps.com/start \
    "{\"startUrl\":\"https://legacy.awsapps.com/start\",\"region\":\"eu-west-1\",\"accessToken\":\"legacy-access-token\",\"expiresAt\":\"$future\"}"

run() { # profile -> stdout in $tmp/out, stderr in $tmp/err, status in rc
    # one explain per process, each with its own CloudTrail token bucket:
    # a pause keeps consecutive runs within the stand-in's 2 calls/s
    sleep 1.1
    env -i PATH="$PATH" HOME="$home" AWS_PROFILE="$1" AWS_EC2_METADATA_DISABLED=true \
        AWS_ENDPOINT_URL_SSO="$url" AWS_ENDPOINT_URL_SSO_OIDC="$url" \
        timeout 60 "$bin" explain --config "$tmp/config.yaml" \
        --notification "$ex/notifications/01-sso-console-security-group.json" --log-level warn \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    cat "$tmp/err" >>"$tmp/all-err"
    [ -n "${SHOW_ERR:-}" ] && sed "s/^/# [$1] /" "$tmp/err"
    return 0
}
verdict() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"])' "$tmp/out" 2>/dev/null; }
# the access key and its source ("static", "sso") of the last CloudTrail call
last_ct() {
    curl -fsS "$url/_requests" | python3 -c '
import json, sys
ct = [r for r in json.load(sys.stdin) if r.get("role") == "cloudtrail" and r.get("status") == 200]
print("%s %s" % (ct[-1].get("akid"), ct[-1].get("cred_source")) if ct else "none none")'
}
stat() { curl -fsS "$url/_stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["roles"].get("sso",{}).get(sys.argv[1],0))' "$1"; }

# --- credential_process ---------------------------------------------------
run proc
if [ "$rc" = 0 ] && [ "$(verdict)" = human ] && [ "$(last_ct)" = "$proc_key static" ]; then
    ok "credential_process profile: CloudTrail call signed with the process's keys"
else not_ok "credential_process profile (rc=$rc, $(verdict), $(last_ct))"; fi

run proc-wrong
if [ "$rc" = 1 ] && grep -q InvalidSignatureException "$tmp/err" && ! grep -q wrongSECRET "$tmp/err"; then
    ok "credential_process with a wrong secret: refused by the stand-in's SigV4 check, secret not logged"
else not_ok "credential_process wrong secret (rc=$rc)"; fi

run proc-fails
if [ "$rc" = 1 ] && grep -q "profile proc-fails: credential_process .*process.sh exited with status 4" "$tmp/err"; then
    ok "a failing credential_process is reported with its exit status"
else not_ok "failing credential_process (rc=$rc)"; fi

# --- IAM Identity Center --------------------------------------------------
cache org "{\"startUrl\":\"https://example.awsapps.com/start\",\"region\":\"eu-west-1\",\"accessToken\":\"good-access-token\",\"expiresAt\":\"$future\"}"
before=$(stat issued)
run sso
got=$(last_ct)
if [ "$rc" = 0 ] && [ "$(verdict)" = human ] && [ "${got#ASIA}" != "$got" ] && [ "${got#* }" = sso ] &&
   [ "$(stat issued)" = $((before + 1)) ]; then
    ok "sso_session profile: GetRoleCredentials, CloudTrail call signed with the role's keys ($got)"
else not_ok "sso_session profile (rc=$rc, $(verdict), $got)"; fi

run legacy
got=$(last_ct)
if [ "$rc" = 0 ] && [ "$(verdict)" = human ] && [ "${got#* }" = sso ]; then
    ok "legacy SSO profile (sso_start_url in the profile): token found by the start URL's sha1"
else not_ok "legacy SSO profile (rc=$rc, $got)"; fi

run sso-admin
if [ "$rc" = 1 ] && grep -q "SSO GetRoleCredentials for role Admin in account 123456789012 failed: ForbiddenException: No access" "$tmp/err"; then
    ok "a role not assigned to the user: the portal's ForbiddenException is reported"
else not_ok "unassigned role (rc=$rc)"; fi

cache org "{\"startUrl\":\"https://example.awsapps.com/start\",\"region\":\"eu-west-1\",\"accessToken\":\"good-access-token\",\"expiresAt\":\"$past\"}"
calls=$(stat GetRoleCredentials)
run sso
if [ "$rc" = 1 ] && grep -q "SSO token for profile sso is expired: run aws sso login --profile sso" "$tmp/err" &&
   [ "$(stat GetRoleCredentials)" = "$calls" ]; then
    ok "expired SSO token: \"run aws sso login --profile sso\", the portal not called"
else not_ok "expired SSO token (rc=$rc)"; fi

rm -f "$home/.aws/sso/cache/"*.json
run sso
if [ "$rc" = 1 ] && grep -q "SSO token for profile sso is missing: run aws sso login --profile sso" "$tmp/err"; then
    ok "missing SSO token: \"run aws sso login --profile sso\""
else not_ok "missing SSO token (rc=$rc)"; fi

# a token the portal no longer accepts (signed out, revoked): its 401
cache org "{\"startUrl\":\"https://example.awsapps.com/start\",\"region\":\"eu-west-1\",\"accessToken\":\"revoked-access-token\",\"expiresAt\":\"$future\"}"
run sso
if [ "$rc" = 1 ] && grep -q "SSO token for profile sso was refused by the portal (UnauthorizedException: Session token not found or invalid): run aws sso login --profile sso" "$tmp/err" &&
   ! grep -q revoked-access-token "$tmp/err"; then
    ok "a token the portal refuses (401 UnauthorizedException): reported, token not logged"
else not_ok "refused SSO token (rc=$rc)"; fi

# within 15 min of its expiry: refreshed through OIDC CreateToken first
soon=$(date -u -d '+5 minutes' +%Y-%m-%dT%H:%M:%SZ)
reg=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
cache org "{\"startUrl\":\"https://example.awsapps.com/start\",\"region\":\"eu-west-1\",\"accessToken\":\"expiring-access-token\",\"expiresAt\":\"$soon\",\"refreshToken\":\"refresh-1\",\"clientId\":\"whochanged-client\",\"clientSecret\":\"client-secret-example\",\"registrationExpiresAt\":\"$reg\"}"
run sso
file="$home/.aws/sso/cache/$(printf org | sha1sum | cut -d' ' -f1).json"
if [ "$rc" = 0 ] && [ "$(verdict)" = human ] && [ "$(stat token_refreshed)" = 1 ] &&
   python3 - "$file" <<'PY'
import json, sys, os, stat
t = json.load(open(sys.argv[1]))
assert t["accessToken"].startswith("aoa") and t["refreshToken"].startswith("aor"), t
assert t["clientId"] == "whochanged-client" and t["startUrl"] == "https://example.awsapps.com/start"
assert stat.S_IMODE(os.stat(sys.argv[1]).st_mode) == 0o600
PY
then ok "SSO token near expiry refreshed via OIDC CreateToken, cache rewritten (0600)"
else not_ok "SSO token refresh (rc=$rc, refreshed $(stat token_refreshed))"; fi

# the refreshed token is the one in use now: a second run needs no refresh
run sso
if [ "$rc" = 0 ] && [ "$(stat token_refreshed)" = 1 ] && [ "$(stat CreateToken)" = 1 ]; then
    ok "the refreshed token is used by the next run (no second CreateToken)"
else not_ok "refreshed token reused (rc=$rc)"; fi

if [ -s "$tmp/all-err" ] && ! grep -q -e "$proc_secret" -e access-token -e client-secret-example \
        -e refresh-1 -e '"aoa' -e '"aor' "$tmp/all-err"; then
    ok "no secret (keys, SSO tokens, client secret) in any of the runs' logs"
else not_ok "no secret in the logs"; fi
[ "$failed" = 0 ] && [ "$n" = "$plan" ]

#!/usr/bin/env bash
# TAP self-test of the local stand-ins (tests/support/standins) and the
# fauxqs SQS emulator (tests/support/fauxqs): installs fauxqs if missing,
# starts both on 127.0.0.1, drives them with botocore, stops them.
set -uo pipefail

root=${WC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
ref_dir=${WC_REFERENCE:-$root/tests/data/aws-reference}
py=/usr/bin/python3
sup="$root/tests/support/standins"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wc-standins.XXXXXX")
standin_pid= fauxqs_pid= short_pid= pacing_pid= client_pid=

cleanup() {
    for p in $client_pid $standin_pid $fauxqs_pid $short_pid $pacing_pid; do
        kill "$p" 2>/dev/null || true
    done
    for p in $standin_pid $fauxqs_pid $short_pid $pacing_pid; do
        for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

n=0
ok()     { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
diag()   { sed 's/^/# /' "$@"; }

checks=$("$py" "$sup/selftest.py" count) || checks=0
plan=$((checks + 8))
echo "1..$plan"
bail() { # name: fail it and everything after
    not_ok "$1"
    while [ "$n" -lt "$plan" ]; do not_ok "skipped after failure"; done
    exit 1
}

# 1: golden SigV4 vectors through the verifier
vectors="$ref_dir/sigv4-testsuite/generated-service-vectors"
if "$py" "$sup/check_vectors.py" "$vectors" >"$tmp/vectors.log" 2>&1; then
    ok "sigv4 verifier accepts the 13 golden vectors and rejects tampered copies"
else
    diag "$tmp/vectors.log"; not_ok "sigv4 verifier against golden vectors in $vectors"
fi

# 2: fauxqs installed (npm ci when missing)
if timeout 300 "$root/scripts/fauxqs-install" >"$tmp/install.log" 2>&1; then
    ok "scripts/fauxqs-install"
else
    diag "$tmp/install.log"; bail "scripts/fauxqs-install"
fi

# 3: the stand-in starts with every role
"$py" "$sup/selftest.py" setup "$tmp" || bail "fixtures"
mkdir -p "$tmp/state"
"$py" "$sup/standin.py" --quiet --cloudtrail --sts --s3 --imds --ecs --slack --webhook \
    --port-file "$tmp/standin.port" --state-dir "$tmp/state" \
    --events "$tmp/events.json" --s3-dir "$tmp/s3" \
    --role-external-id "arn:aws:iam::210987654321:role/ExternalAuditor=whochanged-ext-1" \
    --slack-token xoxb-selftest-token --slack-channel C0SELFTEST \
    --ecs-path /v2/credentials/selftest --ecs-token ecs-auth-token-for-tests \
    --webhook-secret hook-secret-for-tests --max-hang 5 \
    --web-identity-token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3aG9jaGFuZ2VkIn0.c2VsZnRlc3Q \
    >"$tmp/standin.out" 2>"$tmp/standin.err" &
standin_pid=$!
for _ in $(seq 1 50); do [ -s "$tmp/standin.port" ] && break; sleep 0.1; done
port=$(cat "$tmp/standin.port" 2>/dev/null)
if [ -n "$port" ] && curl -fsS --max-time 2 "http://127.0.0.1:$port/_health" >/dev/null; then
    ok "standin starts on 127.0.0.1:$port"
else
    diag "$tmp/standin.err"; bail "standin starts"
fi

# 4: fauxqs starts on loopback
if out=$(FAUXQS_LOG="$tmp/fauxqs.log" FAUXQS_RECEIVE_LOG="$tmp/receipts.log" "$root/tests/support/fauxqs/start" 0 "$tmp/fauxqs-init.json" 2>"$tmp/fauxqs.err"); then
    fauxqs_pid=${out% *}; fq_port=${out#* }
    ok "fauxqs starts on 127.0.0.1:$fq_port"
else
    diag "$tmp/fauxqs.err"; bail "fauxqs starts"
fi

# 5..: the client checks
# (in the background so a TERM from the test runner reaches the trap at once)
"$py" "$sup/selftest.py" run $((n + 1)) "$port" "$standin_pid" "$fq_port" "$fauxqs_pid" "$tmp" &
client_pid=$!
wait "$client_pid"
client_pid=
n=$((n + checks))

# an independent signer (curl --aws-sigv4) is accepted; with a wrong secret it is not
ct_curl() { # secret
    curl -sS --max-time 10 --aws-sigv4 "aws:amz:ap-south-1:cloudtrail" --user "AKIDEXAMPLE:$1" \
        -H 'Content-Type: application/x-amz-json-1.1' \
        -H 'X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents' \
        -d '{"MaxResults":5}' "http://127.0.0.1:$port/"
}
good=$(ct_curl 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' 2>&1)
bad=$(ct_curl 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ' 2>&1)
if [ "$good" = '{"Events":[]}' ] && [[ $bad == *'"__type":"InvalidSignatureException"'* ]]; then
    ok "curl --aws-sigv4 request verifies; wrong secret refused"
else
    echo "# good: $good"; echo "# bad: $bad"; not_ok "curl --aws-sigv4 interop"
fi

# short-lived credentials and a server clock 30 s ahead, on a second stand-in
# (started through tests/support/standins/start)
if out=$(STANDIN_LOG="$tmp/short.err" "$sup/start" --sts --cloudtrail --imds --sts-cred-ttl 2 \
        --cred-ttl 2.5 --clock-offset 30); then
    short_pid=${out% *}
    "$py" "$sup/selftest.py" expiry $((n + 1)) "${out#* }" &
    client_pid=$!
    wait "$client_pid"
    client_pid=
    n=$((n + 1))
else
    diag "$tmp/short.err"; not_ok "second stand-in starts"
fi

# --latency and the request log's error type, on a third stand-in
if out=$(STANDIN_LOG="$tmp/pacing.err" "$sup/start" --cloudtrail --latency 0.3 --ct-rate 1); then
    pacing_pid=${out% *}
    "$py" "$sup/selftest.py" pacing $((n + 1)) "${out#* }" &
    client_pid=$!
    wait "$client_pid"
    client_pid=
    n=$((n + 1))
else
    diag "$tmp/pacing.err"; not_ok "third stand-in starts"
fi

# last: SIGTERM stops the stand-in cleanly
kill -TERM "$standin_pid"
rc=124
for _ in $(seq 1 50); do
    if ! kill -0 "$standin_pid" 2>/dev/null; then wait "$standin_pid"; rc=$?; break; fi
    sleep 0.1
done
if [ "$rc" -eq 0 ]; then
    standin_pid=
    ok "standin exits 0 on SIGTERM"
else
    diag "$tmp/standin.err"; not_ok "standin exits 0 on SIGTERM (rc $rc)"
fi

#!/usr/bin/env bash
# Integration test for `whochanged check-config` (TAP on stdout).
# Needs $WHOCHANGED (the binary) and runs from the repository root.
# --online runs against the STS/CloudTrail/Slack stand-ins and fauxqs, on
# 127.0.0.1 (skipped when fauxqs cannot be installed).
set -uo pipefail

bin=${WHOCHANGED:-build/whochanged}
data=tests/data/configs
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
unset WHOCHANGED_CONFIG AWS_REGION AWS_DEFAULT_REGION
# what run needs besides the keys a test is about
base='queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/q
trusted: ["arn:aws:iam::*:role/ci"]
notifiers: [{type: jsonl, path: /tmp/wc-it.jsonl}]'

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
    sed 's/^/#   stderr: /' "$tmp/err" | head -20
    sed 's/^/#   stdout: /' "$tmp/out" | head -20
}
# run ARGS... -> $rc, $tmp/out, $tmp/err
run() { "$bin" check-config "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
check() { # name, condition...
    local name=$1; shift
    if "$@"; then ok "$name"; else not_ok "$name"; fi
}
has_err() { grep -qF -- "$1" "$tmp/err"; }
has_out() { grep -qF -- "$1" "$tmp/out"; }
err_line() { grep -qxF -- "$1" "$tmp/err"; } # an exact stderr line

echo "1..34"

run --config "$data/valid.yaml"
check "valid config: exit 0, 'config OK: path' on stderr" \
    eval '[ $rc -eq 0 ] && err_line "config OK: $data/valid.yaml"'
check "valid config: effective config on stdout with values and defaults" \
    eval 'has_out "skew_seconds: 300" && has_out "retry_for_seconds: 900" &&
          has_out "region: \"eu-central-1\"" && has_out "max_in_flight: 512" &&
          has_out "- \"AWS::Config::ResourceCompliance\""'
check "valid config: secret redacted, never printed" \
    eval 'has_out "hmac_secret: \"(redacted)\"" && ! grep -q "integration-hmac-secret-42" "$tmp/out" "$tmp/err"'

# secrets are printed as "(redacted)", which is not a valid secret: put one back
cp "$tmp/out" "$tmp/dump.orig"
sed 's|"(redacted)"|"https://restored.invalid/secret"|' "$tmp/out" >"$tmp/dump.yaml"
run --config "$tmp/dump.yaml"
check "the printed config is itself a valid config and prints the same" \
    eval '[ $rc -eq 0 ] && diff -q "$tmp/out" "$tmp/dump.orig" >/dev/null'

run --config "$data/empty.yaml"
check "empty file: exit 2, no queue is the one error, with the warnings run would log" \
    eval '[ $rc -eq 2 ] && [ ! -s "$tmp/out" ] &&
          err_line "$data/empty.yaml: no queue: set queue_url (or queue_name) to the SQS queue AWS Config notifications arrive on" &&
          [ "$(grep -vc "^warning:" "$tmp/err")" -eq 1 ] &&
          has_err "warning: $data/empty.yaml: no notifier configured" &&
          has_err "warning: $data/empty.yaml: \`trusted\` and \`automation_user_agents\` are both empty"'
printf 'queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/q\n' >"$tmp/minimal.yaml"
run --config "$tmp/minimal.yaml"
check "a queue URL alone: exit 0 (region from the URL), the defaults, two warnings" \
    eval '[ $rc -eq 0 ] && has_out "skew_seconds: 180" && has_out "notifiers: []" &&
          [ "$(grep -c "^warning:" "$tmp/err")" -eq 2 ]'

run --config "$data/many_errors.yaml"
f=$data/many_errors.yaml
check "invalid config: exit 2, every error reported as file:line:col: reason" \
    eval '[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 8 ] && [ ! -s "$tmp/out" ] &&
          err_line "$f:2:17: correlation.skew_seconds: must be between 1 and 3600, got 99999" &&
          err_line "$f:3:22: correlation.retry_for_seconds: expected an integer, got '\''abc'\''" &&
          err_line "$f:5:10: trusted: expected a list of strings, got a string" &&
          err_line "$f:7:22: notify_unattributed: expected true or false, got '\''yes'\''" &&
          err_line "$f:11:1: duplicate key '\''region'\'' (first at line 10)"'

run --config "$data/unknown_key.yaml"
check "unknown key reported at its line:col" \
    eval '[ $rc -eq 2 ] && has_err "$data/unknown_key.yaml:4:3: unknown key '\''skew_secs'\'' in correlation"'

run --config "$data/syntax.yaml"
check "YAML syntax error with its position" \
    eval '[ $rc -eq 2 ] && has_err "$data/syntax.yaml:3:10: YAML syntax error: did not find expected"'

run --config "$data/alias.yaml"
check "aliases rejected" \
    eval '[ $rc -eq 2 ] && has_err "$data/alias.yaml:2:10: YAML aliases are not allowed"'

run --config "$data/secret_bad.yaml"
check "an invalid secret is reported without its value" \
    eval '[ $rc -eq 2 ] && has_err "secret_bad.yaml:3:18: notifiers[0].webhook_url: must be an http:// or https:// URL" &&
          ! grep -q SECRETVALUE "$tmp/err"'

run --config /nonexistent/whochanged.yaml
check "unreadable file: 'whochanged: cannot read FILE: reason', exit 2" \
    eval '[ $rc -eq 2 ] && err_line "whochanged: cannot read /nonexistent/whochanged.yaml: No such file or directory"'

WHOCHANGED_CONFIG="$data/valid.yaml" run
check "WHOCHANGED_CONFIG names the file" \
    eval '[ $rc -eq 0 ] && err_line "config OK: $data/valid.yaml"'

printf 'region: eu-west-1\nqueue_name: "${WC_IT_SURELY_UNSET_VAR}"\nstate_dir: ${WC_IT_SURELY_UNSET_VAR:-/srv/x}\n' >"$tmp/env.yaml"
run --config="$tmp/env.yaml"
check "unset environment variable reported at its position" \
    eval '[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] &&
          has_err "$tmp/env.yaml:2:13: queue_name: environment variable WC_IT_SURELY_UNSET_VAR is not set"'

# issue 9: the example runs as copied: it names nothing of someone else's
run -c examples/config.yaml
check "examples/config.yaml as copied: refused for the one reason a user must act on (no queue)" \
    eval '[ $rc -eq 2 ] && [ "$(grep -vc "^warning:" "$tmp/err")" -eq 1 ] &&
          err_line "examples/config.yaml: no queue: set queue_url (or queue_name) to the SQS queue AWS Config notifications arrive on" &&
          err_line "warning: examples/config.yaml: no notifier configured: findings are only logged (add one under \`notifiers:\`)"'
{ cat examples/config.yaml; echo 'queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/whochanged'; } >"$tmp/example.yaml"
chmod 600 "$tmp/example.yaml"
run -c "$tmp/example.yaml"
check "examples/config.yaml with a queue added: valid, only the no-notifier warning, no placeholder in effect" \
    eval '[ $rc -eq 0 ] && [ "$(grep -c "^warning:" "$tmp/err")" -eq 1 ] &&
          has_out "notifiers: []" && has_out "region: null" && ! has_out "123456789012\"" &&
          ! grep -qi -e "example.com" -e "xoxb" "$tmp/out"'

# issue 9: what run refused after check-config said OK
printf '%s\nmetrics_listen: "myhost:9464"\n' "$base" >"$tmp/listen.yaml"
run -c "$tmp/listen.yaml"
check "metrics_listen with a host name: exit 2 at its line" \
    eval '[ $rc -eq 2 ] && has_err "$tmp/listen.yaml:4:17: metrics_listen: must be IP:port or localhost:port"'
printf '%s\n' "$base" >"$tmp/region.yaml"
AWS_REGION=bogus run -c "$tmp/region.yaml"
check "AWS_REGION=bogus (no region key): exit 2, naming the variable" \
    eval '[ $rc -eq 2 ] && has_err "$tmp/region.yaml: no \`region\` key and \$AWS_REGION is '\''bogus'\''"'
AWS_REGION=eu-west-1 run -c "$tmp/region.yaml"
check "the same with a valid AWS_REGION: exit 0, no warning" eval '[ $rc -eq 0 ] && ! has_err "warning:"'
printf '%s\nqueue_name: q\n' "$base" >"$tmp/both.yaml"
run -c "$tmp/both.yaml"
check "queue_url and queue_name both set: exit 2 naming both" \
    eval '[ $rc -eq 2 ] && has_err "$tmp/both.yaml:4:1: queue_name: set queue_url or queue_name, not both (queue_url is set at line 1)"'
printf 'queue_name: q\n' >"$tmp/noregion.yaml"
run -c "$tmp/noregion.yaml"
check "a queue name and no region anywhere: exit 2" \
    eval '[ $rc -eq 2 ] && has_err "$tmp/noregion.yaml: no AWS region: set \`region\`"'

# issue 9: secrets from files
mkdir -p "$tmp/creds"
printf 'integration-file-secret-77\n' >"$tmp/creds/hmac"
printf '%s\n  - {type: webhook, url: "${WC_IT_HOOK}", hmac_secret: "${file:${CREDENTIALS_DIRECTORY}/hmac}"}\n' \
    "$(printf '%s' "$base" | sed 's/^notifiers: .*/notifiers:/')" >"$tmp/file.yaml"
chmod 644 "$tmp/file.yaml"
WC_IT_HOOK=http://127.0.0.1:9/x CREDENTIALS_DIRECTORY=$tmp/creds run -c "$tmp/file.yaml"
check "\${file:...}: the secret read, redacted, and no mode warning for it" \
    eval '[ $rc -eq 0 ] && has_out "hmac_secret: \"(redacted)\"" &&
          ! grep -q integration-file-secret-77 "$tmp/out" "$tmp/err" && ! has_err "chmod 600"'
WC_IT_HOOK=http://127.0.0.1:9/x CREDENTIALS_DIRECTORY=$tmp/nonexistent run -c "$tmp/file.yaml"
check "\${file:...} that cannot be read: exit 2 at the value, naming the file" \
    eval '[ $rc -eq 2 ] && has_err "$tmp/file.yaml:4:" &&
          has_err "hmac_secret: \${file:$tmp/nonexistent/hmac}: cannot read it: No such file or directory"'

# a file others can read holding a secret written in it: a warning, not an error
cp "$data/valid.yaml" "$tmp/open.yaml"
chmod 644 "$tmp/open.yaml"
run --config "$tmp/open.yaml"
check "group/world-readable file with a literal secret: a warning on stderr, exit 0" \
    eval '[ $rc -eq 0 ] && err_line "warning: $tmp/open.yaml: readable by group and others (mode 0644) and holds a secret written in the file (notifiers[0].url, line 7): chmod 600 it, or take the secret from the environment with \${VAR}" &&
          ! grep -q integration-hmac-secret-42 "$tmp/err"'
chmod 600 "$tmp/open.yaml"
run --config "$tmp/open.yaml"
check "the same file owner-only: no warning" eval '[ $rc -eq 0 ] && ! has_err "warning:"'

# review finding 2: a role template with no accounts.allowed trusts any account a message names
printf '%s\naccounts: {role_arn: "arn:aws:iam::{account_id}:role/r"}\n' "$base" >"$tmp/anyacct.yaml"
run --config "$tmp/anyacct.yaml"
check "role_arn with {account_id} and no accounts.allowed: one warning, exit 0" \
    eval '[ $rc -eq 0 ] && [ "$(grep -c "^warning:" "$tmp/err")" -eq 1 ] &&
          has_err "warning: accounts.role_arn names {account_id} and accounts.allowed is empty: any account id in a queue message is trusted"'
printf '%s\naccounts: {role_arn: "arn:aws:iam::{account_id}:role/r", allowed: ["111122223333"]}\nsns: {allowed_topics: ["arn:aws:sns:*:111122223333:t"]}\noversized: {allowed_buckets: [b]}\n' "$base" >"$tmp/allowed.yaml"
run --config "$tmp/allowed.yaml"
check "with accounts.allowed: no warning, the lists in the effective config" \
    eval '[ $rc -eq 0 ] && ! has_err "warning:" && has_out "  - \"111122223333\"" &&
          has_out "  - \"arn:aws:sns:*:111122223333:t\""'
printf 'accounts:\n  allowed: [o-a1b2c3d4e5]\n' >"$tmp/orgs.yaml"
run --config "$tmp/orgs.yaml"
check "accounts.allowed with org ids alone: exit 2, why" \
    eval '[ $rc -eq 2 ] && has_err "$tmp/orgs.yaml:2:12: accounts.allowed: only AWS Organizations ids"'

run --help
check "--help prints usage and exits 0" eval '[ $rc -eq 0 ] && has_out "usage: whochanged check-config"'

run --bogus
check "unknown option: exit 2, usage on stderr" \
    eval '[ $rc -eq 2 ] && has_err "unknown option" && has_err "usage: whochanged check-config" && [ ! -s "$tmp/out" ]'
run -c
check "-c without a value: exit 2, says so" eval '[ $rc -eq 2 ] && has_err "option --config needs a value"'

# --- --online, against the stand-ins and fauxqs --------------------------------
online_skip=
if ! scripts/fauxqs-install >"$tmp/fauxqs-install.log" 2>&1; then
    online_skip="fauxqs cannot be installed ($(tail -1 "$tmp/fauxqs-install.log"))"
fi
if [ -z "$online_skip" ]; then
    echo '{"region":"us-east-1","queues":[{"name":"online"}]}' >"$tmp/fq.json"
    if read -r fq_pid fq_port < <(FAUXQS_LOG=$tmp/fauxqs.log tests/support/fauxqs/start 0 "$tmp/fq.json"); then
        pids+=("$fq_pid")
    else
        online_skip="fauxqs did not start"
    fi
fi
if [ -z "$online_skip" ]; then
    echo '[]' >"$tmp/events.json"
    if read -r st_pid st_port < <(tests/support/standins/start --sts --cloudtrail --slack \
            --slack-token xoxb-online-check-token --events "$tmp/events.json" --state-dir "$tmp"); then
        pids+=("$st_pid")
    else
        online_skip="the stand-ins did not start"
    fi
fi
online_conf() { # file, queue line, token
    printf 'region: us-east-1\n%s\nendpoints: {sqs: "http://127.0.0.1:%s", sts: "http://127.0.0.1:%s", cloudtrail: "http://127.0.0.1:%s"}\ntrusted: ["arn:aws:iam::*:role/ci"]\nnotifiers:\n  - {type: slack, name: slack-bot, bot_token: "${file:%s}", channel: "#c", api_url: "http://127.0.0.1:%s/api"}\n  - {type: slack, webhook_url: "http://127.0.0.1:%s/services/T0/B0/x"}\n' \
        "$2" "$fq_port" "$st_port" "$st_port" "$3" "$st_port" "$st_port" >"$1"
    chmod 600 "$1"
}
online() { # config, access key
    AWS_ACCESS_KEY_ID=$2 AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
        AWS_EC2_METADATA_DISABLED=true HOME=$tmp run -c "$1" --online
}
if [ -n "$online_skip" ]; then
    for name in "--online: every check ok" "--online: bad token, missing queue" "--online: unknown key"; do
        n=$((n + 1)); echo "ok $n - $name # SKIP $online_skip"
    done
else
    printf 'xoxb-online-check-token\n' >"$tmp/token"
    printf 'xoxb-wrong-but-long-token\n' >"$tmp/badtoken"
    online_conf "$tmp/online.yaml" "queue_url: http://127.0.0.1:$fq_port/000000000000/online" "$tmp/token"
    online "$tmp/online.yaml" AKIDEXAMPLE
    check "--online: credentials, queue, CloudTrail and the bot token each ok on one line; exit 0" \
        eval '[ $rc -eq 0 ] && grep -q "^credentials  ok (arn:aws:" "$tmp/out" &&
              grep -q "^queue        ok (http://127.0.0.1:$fq_port/000000000000/online, VisibilityTimeout 30 s)" "$tmp/out" &&
              grep -q "^cloudtrail   ok (LookupEvents in us-east-1)" "$tmp/out" &&
              grep -q "^slack-bot    ok (bot whochanged in Standin)" "$tmp/out" &&
              grep -q "^slack#1      skipped: a webhook can only be tested by posting to it" "$tmp/out" &&
              [ "$(wc -l <"$tmp/out")" -eq 5 ] && ! grep -q xoxb-online "$tmp/out" "$tmp/err"'
    online_conf "$tmp/online-bad.yaml" "queue_name: no-such-queue" "$tmp/badtoken"
    online "$tmp/online-bad.yaml" AKIDEXAMPLE
    check "--online: a missing queue and a wrong bot token each FAILED with the reason; exit 1" \
        eval '[ $rc -eq 1 ] && grep -q "^credentials  ok" "$tmp/out" &&
              grep -q "^queue        FAILED: .*no-such-queue does not exist" "$tmp/out" &&
              grep -q "^cloudtrail   ok" "$tmp/out" &&
              grep -q "^slack-bot    FAILED: slack auth.test: HTTP 200, invalid_auth (the bot token is not valid)" "$tmp/out" &&
              ! grep -q xoxb-wrong "$tmp/out" "$tmp/err"'
    online "$tmp/online.yaml" AKIDUNKNOWNEXAMPLE00
    check "--online: an unknown access key: credentials FAILED (refused by sts), exit 1" \
        eval '[ $rc -eq 1 ] && grep -q "^credentials  FAILED: credentials refused by sts (InvalidClientTokenId" "$tmp/out" &&
              grep -q "^queue        skipped: no usable credentials" "$tmp/out"'
fi

[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Integration test for `whochanged check-config` (TAP on stdout).
# Needs $WHOCHANGED (the binary) and runs from the repository root.
set -uo pipefail

bin=${WHOCHANGED:-build/whochanged}
data=tests/data/configs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset WHOCHANGED_CONFIG

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

echo "1..21"

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
check "empty file: exit 0 with the defaults" \
    eval '[ $rc -eq 0 ] && has_out "skew_seconds: 180" && has_out "notifiers: []"'

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

WHOCHANGED_EXTERNAL_ID=ext-it-123456 SLACK_WEBHOOK_URL=https://hooks.slack.com/services/TIT/BIT/itsecret \
    run -c examples/config.yaml
check "examples/config.yaml is valid and its secrets are redacted" \
    eval '[ $rc -eq 0 ] && ! grep -q -e ext-it-123456 -e itsecret "$tmp/out" "$tmp/err" &&
          [ "$(grep -c "(redacted)" "$tmp/out")" -eq 5 ]'

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
printf 'accounts: {role_arn: "arn:aws:iam::{account_id}:role/r"}\n' >"$tmp/anyacct.yaml"
run --config "$tmp/anyacct.yaml"
check "role_arn with {account_id} and no accounts.allowed: one warning, exit 0" \
    eval '[ $rc -eq 0 ] && [ "$(grep -c "^warning:" "$tmp/err")" -eq 1 ] &&
          has_err "warning: accounts.role_arn names {account_id} and accounts.allowed is empty: any account id in a queue message is trusted"'
printf 'accounts: {role_arn: "arn:aws:iam::{account_id}:role/r", allowed: ["111122223333"]}\nsns: {allowed_topics: ["arn:aws:sns:*:111122223333:t"]}\noversized: {allowed_buckets: [b]}\n' >"$tmp/allowed.yaml"
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
check "unknown option: exit 2" eval '[ $rc -eq 2 ] && has_err "unknown option"'

[ "$failed" -eq 0 ]

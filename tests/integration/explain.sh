#!/usr/bin/env bash
# `whochanged explain` on every scenario in tests/data/scenarios: the real
# binary, its exit status, and the fields of its JSON output (TAP).
set -uo pipefail
root=${WC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
ref_dir=${WC_REFERENCE:-$root/tests/data/aws-reference}
bin=${WHOCHANGED:-$root/build/whochanged}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

scen=("$root"/tests/data/scenarios/*/)
echo "1..$(( ${#scen[@]} + 4 ))"
n=0
for d in "${scen[@]}"; do
    name=$(basename "$d")
    n=$((n + 1))
    args=()
    note="$d/notification.json"
    ref=$(awk '$1=="notification_ref"{print $2}' "$d/expect")
    [ -n "$ref" ] && note="$ref_dir/$ref"
    args+=(--notification "$note")
    for e in "$d"/events-*.json; do [ -f "$e" ] && args+=(--events "$e"); done
    while read -r r; do args+=(--events "$ref_dir/$r"); done \
        < <(awk '$1=="events_ref"{print $2}' "$d/expect")
    if [ -f "$d/config.yaml" ]; then args+=(--config "$d/config.yaml"); else args+=(--config /dev/null); fi
    WHOCHANGED_CONFIG= "$bin" explain "${args[@]}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if python3 - "$d/expect" "$tmp/out" "$tmp/err" "$rc" >"$tmp/why" 2>&1 <<'PY'
import json, sys
expect = {}
for line in open(sys.argv[1]):
    k, _, v = line.strip().partition(" ")
    expect.setdefault(k, v)
out, err, rc = open(sys.argv[2]).read(), open(sys.argv[3]).read(), int(sys.argv[4])
bad = []
if rc != int(expect["exit"]):
    bad.append("exit %d, expected %s; stderr: %s" % (rc, expect["exit"], err.strip()))
if rc == 0:
    lines = out.strip().splitlines()
    if len(lines) != 1:
        bad.append("expected one line of JSON, got %d" % len(lines))
    doc = json.loads(out)
    ev = doc.get("events", [])
    first = ev[0] if ev else {}
    got = {"verdict": doc.get("verdict"), "n_events": len(ev),
           "first_event": first.get("event_id"), "first_class": first.get("class"),
           "first_console": str(first.get("console")).lower(),
           "first_session_name": (first.get("actor") or {}).get("session_name"),
           "first_name": (first.get("actor") or {}).get("name"),
           "lookup_region": (doc.get("change") or {}).get("lookup_region"),
           "change": "null" if doc.get("change") is None else "object"}
    for k in ("verdict", "reason", "change", "events"):
        if k not in doc:
            bad.append("missing key " + k)
    if not isinstance(doc.get("reason"), str) or not doc["reason"]:
        bad.append("empty reason")
    for k, v in expect.items():
        if k in got and str(got[k]) != v:
            bad.append("%s = %s, expected %s" % (k, got[k], v))
    # times are RFC 3339 UTC
    for e in ev:
        if not e["event_time"].endswith("Z"):
            bad.append("event_time not UTC: " + e["event_time"])
if "stderr" in expect and expect["stderr"] not in err:
    bad.append("stderr does not name %s: %s" % (expect["stderr"], err.strip()))
if bad:
    print("\n".join(bad))
    sys.exit(1)
PY
    then echo "ok $n - explain $name"
    else echo "not ok $n - explain $name"; sed 's/^/# /' "$tmp/why"; fi
done

# --help and usage errors
n=$((n + 1))
if "$bin" explain --help | grep -q -- '--notification FILE'; then echo "ok $n - explain --help"
else echo "not ok $n - explain --help"; fi
n=$((n + 1))
"$bin" explain >/dev/null 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 2 ] && grep -q 'notification' "$tmp/err"; then echo "ok $n - explain without --notification exits 2"
else echo "not ok $n - explain without --notification exits 2 (got $rc)"; fi
n=$((n + 1))
"$bin" explain --notification "$tmp/does-not-exist.json" --events /dev/null --config /dev/null \
    >/dev/null 2>"$tmp/err"; rc=$?
if [ "$rc" -eq 2 ] && grep -q 'does-not-exist.json' "$tmp/err"; then echo "ok $n - missing notification file names the file"
else echo "not ok $n - missing notification file names the file (got $rc: $(cat "$tmp/err"))"; fi

# The process holds live credentials: core dumps are off from the start (soft
# and hard RLIMIT_CORE 0). explain blocks reading the notification from a FIFO
# while /proc/PID/limits is read; it starts with a non-zero soft limit.
n=$((n + 1))
name="core dumps disabled at start (RLIMIT_CORE 0 0)"
if [ "$(ulimit -H -c)" = 0 ]; then
    echo "ok $n - $name # SKIP the hard core limit is already 0 here"
else
    mkfifo "$tmp/fifo"
    ( ulimit -S -c 4096; WHOCHANGED_CONFIG= exec "$bin" explain --config /dev/null \
        --notification - <"$tmp/fifo" >/dev/null 2>&1 ) &
    pid=$!
    exec 3>"$tmp/fifo"
    lim=""
    for _ in $(seq 100); do   # at most ~5 s
        lim=$(awk '/^Max core file size/ {print $5, $6}' "/proc/$pid/limits" 2>/dev/null)
        [ "$lim" = "0 0" ] && break
        sleep 0.05
    done
    exec 3>&-
    wait "$pid" 2>/dev/null
    if [ "$lim" = "0 0" ]; then echo "ok $n - $name"
    else echo "not ok $n - $name (limits: '$lim')"; fi
fi

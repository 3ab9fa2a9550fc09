#!/usr/bin/env bash
# The tests read nothing outside the repository (issue 8): a clone with
# nothing beside it must be enough. Runs the unit test binaries and the cheap
# integration scripts under strace and checks every path they name (opened,
# stat'ed, executed, probed; failed attempts count too) with
# tests/support/trace_check.py: the repository is allowed, so are system
# locations (/usr, /lib*, /etc, /proc, /sys, /dev, /run, temporary files),
# the Python install, the PATH directories and dot-directories in $HOME
# (caches); anything under the repository's parent directory (the tests
# used to read the team's shared/ folder there) or elsewhere fails. Checks the defaults:
# WC_REFERENCE is unset for the traced runs. About a minute; skipped under
# SAN=1 (make check), which reads the same files. TAP.
#
# SELF_CONTAINED_ALLOW=dir1:dir2 allows more locations on unusual machines.
set -uo pipefail
root=${WC_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${WHOCHANGED:-$root/build/whochanged}
build=$(dirname "$bin")
py=$(command -v python3)
if [ "${SAN:-}" = 1 ]; then   # the sanitizer build reads the same files
    echo "1..0 # SKIP under SAN=1 (make test runs it)"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wc-selfcontained.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

units=()
for t in "$build"/tests/test_*; do [ -f "$t" ] && [ -x "$t" ] && units+=("$t"); done
scripts=(explain.sh check_config.sh standins.sh)
plan=$((3 + ${#units[@]} + ${#scripts[@]}))
echo "1..$plan"
n=0 failed=0
ok()     { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }

if ! command -v strace >/dev/null; then
    not_ok "strace is installed (scripts/deps installs it)"
    while [ "$n" -lt "$plan" ]; do not_ok "skipped: no strace"; done
    exit 1
fi
if [ ${#units[@]} -eq 0 ]; then
    not_ok "unit test binaries in $build/tests (make tests)"
else
    ok "strace is installed, ${#units[@]} unit test binaries in $build/tests"
fi

# Allowed besides the repository. The longest matching prefix decides, so the
# repository's parent refuses /tmp/x/shared even though /tmp is allowed.
# /nonexistent (Debian's home for system users, never created) is where tests
# point when a file must be missing.
allow=(/usr /lib /lib32 /lib64 /libx32 /bin /sbin /etc /proc /sys /dev /run /selinux
       /tmp /var/tmp "${TMPDIR:-/tmp}" "$tmp" /nonexistent)
IFS=: read -r -a path_dirs <<<"$PATH"
allow+=("${path_dirs[@]}")
# the Python install (pyenv or not) and its probes
allow+=("$("$py" -c 'import sys; print(sys.base_prefix)')"
        "$("$py" -c 'import sys; print(sys.prefix)')" "${PYENV_ROOT:-}")
# caches and tool settings: dot-files and dot-directories in $HOME
[ -n "${HOME:-}" ] && [ "$HOME" != / ] && allow+=("$HOME/.*")
# a git worktree's metadata lives in the main checkout's .git
common=$(git -C "$root" rev-parse --path-format=absolute --git-common-dir 2>/dev/null) \
    && allow+=("$common")
IFS=: read -r -a extra <<<"${SELF_CONTAINED_ALLOW:-}"
allow+=("${extra[@]}")

# the checker itself: a child that changes into tests/ and then reads
# ../../beside/x (a folder next to the repository) must be caught, and a
# read in /usr must not
parent=$(dirname "$root")
fake() { # the last syscall line
    printf '%s\n' \
        "100 openat(AT_FDCWD<$root>, \"tests/data/aws-reference/README.md\", O_RDONLY) = 3<$root/tests/data/aws-reference/README.md>" \
        "100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7f0) = 101" \
        "101 chdir(\"tests\") = 0" "$1" >"$tmp/fake"
    "$py" "$root/tests/support/trace_check.py" "$tmp/fake" "$root" "$root" "${allow[@]}" >"$tmp/verdict" 2>&1
}
if fake "101 stat(\"../../beside/aws-reference/x\", 0x7ffc) = -1 ENOENT (No such file or directory)"
then r1=0; else r1=$?; fi
grep -qF "outside the repository: $parent/beside/aws-reference/x" "$tmp/verdict" && f1=1 || f1=0
if fake "101 openat(AT_FDCWD<$root/tests>, \"/usr/share/zoneinfo/UTC\", O_RDONLY) = 3"; then r2=0; else r2=$?; fi
if [ "$r1" -eq 1 ] && [ "$f1" -eq 1 ] && [ "$r2" -eq 0 ]; then
    ok "trace_check refuses a read beside the repository from a child in tests/, allows /usr"
else
    not_ok "trace_check refuses a read beside the repository from a child in tests/ (exit $r1, named $f1; /usr exit $r2)"
    sed 's/^/# /' "$tmp/verdict"
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"   # LSan cannot run under ptrace
mkdir -p "$tmp/t"
seen_ref=0
traced() { # name, command...: run it from the root under strace, then judge the trace
    local name=$1; shift
    local rc planned reported
    ( cd "$root" && env -u OLDPWD -u WC_REFERENCE PWD="$root" TMPDIR="$tmp/t" WC_ROOT="$root" \
          WHOCHANGED="$bin" CMOCKA_MESSAGE_OUTPUT=TAP \
          strace -f -qq -y --seccomp-bpf -e trace=%file,fchdir,%process -o "$tmp/trace" "$@" ) \
        >"$tmp/out" 2>&1
    rc=$?
    planned=$(grep -m1 -oE '^1\.\.[0-9]+' "$tmp/out" | cut -d. -f3)
    reported=$(grep -cE '^(not )?ok [0-9]+' "$tmp/out")
    "$py" "$root/tests/support/trace_check.py" "$tmp/trace" "$root" "$root" "${allow[@]}" \
        >"$tmp/verdict" 2>&1
    local verdict=$?
    grep -q "\"$root/tests/data/aws-reference/" "$tmp/trace" && seen_ref=$((seen_ref + 1))
    if [ "$verdict" -eq 0 ] && [ -n "$planned" ] && [ "$reported" -eq "$planned" ]; then
        ok "$name reads nothing outside the repository ($(tail -n1 "$tmp/verdict"))"
        [ "$rc" -ne 0 ] && echo "# $name exited $rc under strace (its own run reports why)"
    else
        not_ok "$name reads nothing outside the repository"
        sed 's/^/# /' "$tmp/verdict" | head -n 40
        if [ -z "$planned" ] || [ "$reported" -ne "$planned" ]; then
            echo "# the traced run did not finish (exit $rc; ${reported}/${planned:-?} reported):"
            tail -n 20 "$tmp/out" | sed 's/^/#   /'
        fi
    fi
    rm -f "$tmp/trace"
}

for t in "${units[@]}"; do traced "unit/$(basename "$t")" "$t"; done
for s in "${scripts[@]}"; do traced "integration/$s" "$root/tests/integration/$s"; done

# the canary: the traces saw the tests read the in-repository copy, so the
# tracing and the path resolution work (a trace of nothing would pass above)
if [ "$seen_ref" -gt 0 ]; then
    ok "the traces show reads of tests/data/aws-reference ($seen_ref runs)"
else
    not_ok "the traces show reads of tests/data/aws-reference"
fi
[ "$failed" -eq 0 ]

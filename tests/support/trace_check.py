#!/usr/bin/env python3
"""Lists the file accesses in an strace log that leave the repository.

usage: trace_check.py TRACE ROOT CWD [ALLOW...]

TRACE is the output of `strace -f -y -o TRACE -e trace=%file,fchdir,%process`
run with CWD as its working directory. Every path a traced process named
(opened, stat'ed, executed, probed; failed attempts count too) is resolved
against the directory descriptor strace decorated it with (-y), else against
that process's working directory (followed through chdir, fchdir and fork),
and judged by the longest matching rule:

  ROOT and below                         allowed
  ROOT's parent directory and below      refused (a folder beside the repository)
  each ALLOW prefix and below            allowed (system locations, caches)
  DIR/.* given as ALLOW                  DIR itself and its dot-entries allowed
  anything else                          refused

The ancestors of ROOT themselves (a path walk or a getcwd crosses them),
`.python-version` in an ancestor (pyenv's shim looks upwards for one) and
CPython's probes for lib/pythonXY.zip are allowed. Prints one line per refused path (the first syscall that named it)
and exits 1 if there is any, 2 if the trace cannot be read. The counts on the
last line ("N accesses, M in the repository, K refused") let the caller check
that the trace saw anything at all.
"""
import os
import re
import sys

LINE = re.compile(r"^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)$")
# strace -y decorates a descriptor with its path: 3</work/x>, AT_FDCWD</work>
FD_PATH = re.compile(r"^(?:-?\d+|AT_FDCWD)<(.*)>$")
# syscalls whose string arguments are not all paths they access
SKIP = {"getcwd"}
NOT_PATH = {  # index among the syscall's string arguments
    "readlink": {1}, "readlinkat": {1},   # the link's content
    "symlink": {0}, "symlinkat": {0},     # the link's target
    "getxattr": {1}, "lgetxattr": {1}, "setxattr": {1}, "lsetxattr": {1},
    "removexattr": {1}, "lremovexattr": {1},
}
PROBES = {".python-version"}
# CPython looks for its stdlib zip beside each prefix it guesses
PY_ZIP = re.compile(r"/lib/python3\d+\.zip$")
FORKS = {"clone", "clone3", "fork", "vfork"}


def unescape(s):
    """An strace string literal's body (C escapes) as a str."""
    return s.encode("latin-1", "backslashreplace").decode("unicode_escape").encode(
        "latin-1").decode("utf-8", "surrogateescape")


def split_args(text):
    """Top-level arguments of a syscall line (text after the opening
    parenthesis), up to the closing one; quoted strings stay whole."""
    args, depth, cur, i, quoted = [], 0, [], 0, False
    while i < len(text):
        c = text[i]
        if quoted:
            cur.append(c)
            if c == "\\" and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
            cur.append(c)
        elif c in "([{<":
            depth += 1
            cur.append(c)
        elif c in ")]}>":
            if depth == 0 and c == ")":
                args.append("".join(cur).strip())
                return args, text[i + 1:]
            depth -= 1
            cur.append(c)
        elif c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    args.append("".join(cur).strip())
    return args, ""


def string_arg(a):
    # "..." possibly followed by "..." when strace truncated it (paths are not)
    m = re.match(r'^"((?:[^"\\]|\\.)*)"', a)
    return unescape(m.group(1)) if m else None


class Judge:
    def __init__(self, root, allow):
        self.root = os.path.normpath(root)
        self.parent = os.path.dirname(self.root)
        self.allow, self.dot_dirs = [], []
        for a in allow:
            if a.endswith("/.*"):
                self.dot_dirs.append(os.path.normpath(a[:-3]))
            elif a:
                self.allow.append(os.path.normpath(a))

    @staticmethod
    def under(path, prefix):
        return path == prefix or path.startswith(prefix.rstrip("/") + "/")

    def ok(self, path):
        if self.under(path, self.root):
            return True
        if self.under(self.root, path):          # an ancestor of the repository
            return True
        if os.path.basename(path) in PROBES and self.under(self.root, os.path.dirname(path)):
            return True
        if PY_ZIP.search(path):
            return True
        best, verdict = -1, False
        if self.under(path, self.parent):
            best, verdict = len(self.parent), False
        for a in self.allow:
            if self.under(path, a) and len(a) > best:
                best, verdict = len(a), True
        for d in self.dot_dirs:   # DIR itself, DIR/.name and below
            rel = os.path.relpath(path, d) if self.under(path, d) else None
            if rel is not None and (rel == "." or rel.startswith(".")) and len(d) + 2 > best:
                best, verdict = len(d) + 2, True
        return verdict


def main(argv):
    if len(argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    trace, root, cwd0 = argv[1], argv[2], argv[3]
    judge = Judge(root, argv[4:])
    cwd = {}          # pid -> working directory
    pending = {}      # pid -> (syscall, text so far) for <unfinished ...>
    refused = {}      # path -> first line naming it
    total = inside = 0
    try:
        lines = open(trace, encoding="latin-1").read().splitlines()
    except OSError as e:
        print("cannot read %s: %s" % (trace, e))
        return 2
    # first pass: who forked whom (a child may log before its parent's
    # fork call returns, so its working directory is taken from the parent
    # when the child first shows up)
    parent_of = {}
    for raw in lines:
        m = re.match(r"^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\().*\)\s*=\s*(\d+)", raw)
        if m and (m.group(2) or m.group(3)) in FORKS and int(m.group(4)) > 0:
            parent_of[int(m.group(4))] = int(m.group(1))
    for raw in lines:
        m = LINE.match(raw)
        if not m:
            continue
        pid = int(m.group(1))
        if pid not in cwd:
            cwd[pid] = cwd.get(parent_of.get(pid), os.path.normpath(cwd0))
        here = cwd[pid]
        if m.group(2):                       # <... name resumed> rest
            name = m.group(2)
            head = pending.pop(pid, (name, ""))[1]
            text = head + m.group(4)
        else:
            name, text = m.group(3), m.group(4)
        if text.endswith("<unfinished ...>"):
            pending[pid] = (name, text[:-len("<unfinished ...>")])
            continue
        if name in SKIP:
            continue
        args, rest = split_args(text)
        ret = re.search(r"=\s*(-?\d+)", rest)
        ret = int(ret.group(1)) if ret else -1
        if name in FORKS:
            if ret > 0 and ret not in cwd:
                cwd[ret] = here
            continue
        if name == "fchdir":
            fm = FD_PATH.match(args[0]) if args else None
            if fm and ret == 0:
                cwd[pid] = os.path.normpath(unescape(fm.group(1)))
            continue
        nth = -1
        for i, a in enumerate(args):
            s = string_arg(a)
            if s is None:
                continue
            nth += 1
            if nth in NOT_PATH.get(name, ()) or s == "":
                continue
            base = here
            if i > 0:
                fm = FD_PATH.match(args[i - 1])
                if fm:
                    base = unescape(fm.group(1))
            path = os.path.normpath(os.path.join(base, s))
            total += 1
            if judge.under(path, judge.root):
                inside += 1
            elif not judge.ok(path) and path not in refused:
                refused[path] = raw
            if name == "chdir" and nth == 0 and ret == 0:
                cwd[pid] = path
    for path, raw in sorted(refused.items()):
        print("outside the repository: %s\n    %s" % (path, raw[:300]))
    print("%d accesses, %d in the repository, %d refused" % (total, inside, len(refused)))
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

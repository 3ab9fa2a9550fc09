"""Helpers shared by the end-to-end suites (tests/integration/worker*_e2e.py)
and the benchmark (scripts/bench.py): starting the stand-ins, HTTP, times.
Every server they start is recorded in PROCS so the caller can stop it."""
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

PROCS = []  # pids of the helper servers started with start()


def log(msg):
    sys.stdout.write("# " + msg.replace("\n", "\n# ") + "\n")


def start(cmd, env=None):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError("%s: %s" % (cmd[0], out.stderr))
    pid, port = out.stdout.split()
    PROCS.append(int(pid))
    return int(pid), int(port)


def http(method, url, body=None, headers=None, timeout=10):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def sg(n):
    return "sg-%017x" % n


def stop_pid(pid, grace=5.0):
    """SIGTERM, then SIGKILL after grace seconds. Only pids we started."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + grace
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop_procs():
    """SIGTERM every server in PROCS, SIGKILL what is still there after 5 s."""
    for pid in PROCS:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 5
    for pid in PROCS:
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
                time.sleep(0.1)
            except ProcessLookupError:
                break
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    PROCS.clear()

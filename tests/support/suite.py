"""A TAP suite over runs of the load harness (tests/support/load.py), shared
by tests/integration/load_e2e.py and stream_e2e.py: tests name the run they
look at, each run is made once, every worker is stopped at the end and the
temporary directory removed (kept with <KEEP_VAR>=1)."""
import os
import subprocess
import sys
import tempfile
import time

import e2e
import load


class Ctx:
    pass


class Suite:
    def __init__(self, prefix, keep_var):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.keep_var = keep_var
        self.runs = {}     # name -> load.Result (or the exception that stopped it)
        self.tests = []

    def test(self, name):
        def add(fn):
            self.tests.append((name, fn))
            return fn
        return add

    def result(self, ctx, name, make):
        """The run `name`, made once (several tests look at one run)."""
        if name not in self.runs:
            try:
                self.runs[name] = make(ctx)
            except Exception as ex:  # noqa: BLE001 - every test of the run reports it
                self.runs[name] = ex
        r = self.runs[name]
        if isinstance(r, Exception):
            raise AssertionError("run %s failed: %s: %s" % (name, type(r).__name__, r))
        return r

    @staticmethod
    def checked(r):
        """r, after the checks every run must pass (all messages deleted, the
        expected verdicts)."""
        if r.problems:
            raise AssertionError("%s: %s" % (r.tag, "; ".join(r.problems)))
        return r

    def add_stopped_cleanly(self):
        @self.test("every worker exits 0 on SIGTERM")
        def stopped_cleanly(ctx):
            bad = []
            for name, r in sorted(self.runs.items()):
                if isinstance(r, Exception):
                    continue
                load.finish(r)
                if any(rc != 0 for rc in r.exit_codes):
                    bad.append("%s: exit %s" % (name, r.exit_codes))
            assert self.runs, "no run"
            assert not bad, "; ".join(bad)

    def _main(self, root, binary):
        print("1..%d" % len(self.tests))
        ctx = Ctx()
        ctx.root, ctx.binary, ctx.tmp = root, binary, self.tmp
        try:
            subprocess.run([os.path.join(root, "scripts", "fauxqs-install")], check=True, capture_output=True,
                           timeout=300)
            ctx.sqs = load.Fauxqs(root, self.tmp)
        except Exception as ex:  # noqa: BLE001
            for i, (name, _) in enumerate(self.tests, 1):
                print("not ok %d - %s # environment: %s" % (i, name, ex))
            return 1
        failed = 0
        for i, (name, t) in enumerate(self.tests, 1):
            t0 = time.time()
            try:
                t(ctx)
                print("ok %d - %s" % (i, name))
            except Exception as ex:  # noqa: BLE001
                failed += 1
                print("not ok %d - %s" % (i, name))
                e2e.log("%s: %s" % (type(ex).__name__, ex))
            e2e.log("%.1f s" % (time.time() - t0))
            sys.stdout.flush()
        return 1 if failed else 0

    def main(self, root, binary):
        """Run every test, print TAP, clean up, exit."""
        rc = 1
        try:
            rc = self._main(root, binary)
        finally:
            for r in self.runs.values():
                for w in getattr(r, "workers", []):
                    if w.rc is None:
                        w.stop(5)
            e2e.stop_procs()
            if os.environ.get(self.keep_var) == "1":
                print("# kept " + self.tmp)
            else:
                subprocess.run(["rm", "-rf", self.tmp])
        sys.exit(rc)

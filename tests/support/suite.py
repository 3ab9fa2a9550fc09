"""The TAP runner of the end-to-end suites (tests/integration/*_e2e.py):
the plan and the numbering, a check that records a failure with its
diagnostic, skips, the `whochanged` processes a suite starts (its
environment from e2e.worker_env), and the clean-up on exit or on a signal
(SIGTERM, SIGINT, SIGHUP): every worker and helper server stopped, the
temporary directory removed (kept with <keep_var>=1).

A test is a function registered with @S.test. Without checks it is one TAP
line, named after the function (or the name given), ok when it returns;
it gets what setup() returned. With checks=[names] it is one TAP line per
name, in that order, and gets a Case on which it records each with
c.check(name, ok, detail); a check never recorded is "not ok" (the
exception that stopped the test, or "not reached"). Raising Skip reports
every line of the test as skipped. <only_var>=substring runs only the
tests whose function name holds it (the others: "# SKIP not selected").
Tests run one at a time, or `jobs` at a time (reported in order).

tests/run counts the "ok N" and "not ok N" lines against the plan; the exit
status is 0 only if every line is ok."""
import concurrent.futures
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import e2e


class Skip(Exception):
    """Raised by a test: its lines are reported ok, # SKIP and the reason."""


class Interrupted(SystemExit):
    pass


class Ctx:
    """What setup() gives the tests: attributes of the suite's choosing."""


class Test:
    def __init__(self, fn, name, checks):
        self.fn = fn
        self.name = name or fn.__name__.replace("_", " ")
        self.checks = checks

    def lines(self):
        return self.checks or [self.name]


class Case:
    """One run of a test with checks: what it recorded, notes for the TAP
    diagnostics, the logs shown when a check fails."""

    def __init__(self, suite, test):
        self.suite = suite
        self.test = test
        self.name = test.fn.__name__
        self.env = suite.env
        self.results = {}
        self.notes = []
        self.logs = []
        self.t0 = time.time()

    def check(self, name, ok, detail=""):
        """Record the result of one of the test's checks (a TAP line)."""
        if name not in self.test.checks:
            raise AssertionError("check %r is not one of %s's" % (name, self.name))
        self.results[name] = (bool(ok), detail)
        return bool(ok)

    def note(self, msg):
        self.notes.append(msg)

    def cleanup(self):
        """After the test, even when it failed."""


class Suite:
    def __init__(self, prefix, root, keep_var="WC_E2E_KEEP", only_var="WC_E2E_ONLY", jobs=1, case=Case,
                 log_tail=1500, worker_stop=signal.SIGKILL, worker_grace=10):
        self.root = root
        self.binary = os.environ.get("WHOCHANGED") or os.path.join(root, "build", "whochanged")
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.keep_var, self.only_var, self.jobs = keep_var, only_var, jobs
        self.case, self.log_tail = case, log_tail
        self.worker_stop, self.worker_grace = worker_stop, worker_grace
        self.tests = []
        self.workers = []   # every `whochanged` process started with worker()
        self.at_exit = []   # more clean-up, run last first
        self.env = None

    # --- declaring ---------------------------------------------------------------
    def test(self, name=None, checks=None):
        """Decorator: @S.test, @S.test("name") or @S.test(checks=[...])."""
        if callable(name):
            self.tests.append(Test(name, None, None))
            return name

        def add(fn):
            self.tests.append(Test(fn, name, list(checks) if checks else None))
            return fn
        return add

    # --- processes ---------------------------------------------------------------
    def worker(self, args, log_path, home=None, env=None, secret=e2e.SECRET, stdout=subprocess.DEVNULL,
               mode="a"):
        """Start `whochanged ARGS` (stderr to log_path, opened with mode), in
        e2e.worker_env(home, secret, env) (home: the temporary directory);
        stopped after the test (one test at a time) and at exit."""
        with open(log_path, mode) as errlog:
            p = subprocess.Popen([self.binary] + list(args), env=e2e.worker_env(home or self.tmp, secret, env),
                                 stdin=subprocess.DEVNULL, stdout=stdout, stderr=errlog, text=True)
        p.log_path = log_path
        self.workers.append(p)
        return p

    def stop_workers(self, sig=None, timeout=None):
        """Every worker still running: sig (the suite's worker_stop), then
        SIGKILL after timeout seconds (the suite's worker_grace)."""
        sig = sig or self.worker_stop
        timeout = self.worker_grace if timeout is None else timeout
        live = [p for p in self.workers if p.poll() is None]
        for p in live:
            p.send_signal(sig)
        for p in live:
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        self.workers = [p for p in self.workers if p.poll() is None]

    # --- running -----------------------------------------------------------------
    def _worker_logs_since(self, t0):
        out = []
        for f in sorted(os.listdir(self.tmp)):
            path = os.path.join(self.tmp, f)
            if f.startswith("worker-") and os.path.isfile(path) and os.path.getmtime(path) >= t0:
                out.append("%s:\n%s" % (f, e2e.read(path)[-self.log_tail:]))
        return out

    def _run(self, t):
        """-> ([(ok, name, directive, diagnostic)], [diagnostics])"""
        case = self.case(self, t) if t.checks else None
        t0 = time.time()
        err = skip = None
        try:
            t.fn(case if case else self.env)
        except Skip as ex:
            skip = str(ex)
        except Exception as ex:  # noqa: BLE001 - a test's failure, reported
            err = "%s: %s" % (type(ex).__name__, ex)
            if case:
                case.note(traceback.format_exc(limit=3))
        finally:
            if case:
                try:
                    case.cleanup()
                except Exception as ex:  # noqa: BLE001
                    case.note("cleanup: %r" % ex)
            if self.jobs == 1:
                self.stop_workers()
        lines, diag = [], []
        if not case:
            if skip:
                lines.append((True, t.name, "# SKIP " + skip, ""))
            elif err:
                lines.append((False, t.name, "", ""))
                diag = [err] + self._worker_logs_since(t0)
            else:
                lines.append((True, t.name, "", ""))
        else:
            for name in t.checks:
                if skip:
                    lines.append((True, name, "# SKIP " + skip, ""))
                elif name in case.results:
                    ok, detail = case.results[name]
                    lines.append((ok, name, "", detail))
                else:
                    lines.append((False, name, "", err or "not reached"))
            diag = list(case.notes)
            if not all(line[0] for line in lines):
                diag += ["%s (last lines):\n%s" % (os.path.basename(p), e2e.read(p)[-self.log_tail:])
                         for p in case.logs]
        diag.append("%s: %.1f s" % (t.fn.__name__, time.time() - t0))
        return lines, diag

    def _report(self, k, lines, diag):
        failed = 0
        for ok, name, directive, detail in lines:
            k += 1
            print("%s %d - %s%s" % ("ok" if ok else "not ok", k, name, " " + directive if directive else ""))
            if not ok:
                failed += 1
                if detail:
                    e2e.log(str(detail)[-3000:])
        for d in diag:
            e2e.log(d)
        sys.stdout.flush()
        return k, failed

    def _main(self, setup):
        print("1..%d" % sum(len(t.lines()) for t in self.tests))
        sys.stdout.flush()
        if not self.tests:
            e2e.log("no test: nothing was checked")
            return 1
        try:
            self.env = setup(self) if setup else None
        except Exception as ex:  # noqa: BLE001 - every test reports it
            k = 0
            for t in self.tests:
                for name in t.lines():
                    k += 1
                    print("not ok %d - %s # environment: %s: %s" % (k, name, type(ex).__name__, ex))
            return 1
        only = os.environ.get(self.only_var) if self.only_var else None
        selected = [t for t in self.tests if not only or only in t.fn.__name__]
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.jobs) if self.jobs > 1 else None
        futures = {t: pool.submit(self._run, t) for t in selected} if pool else {}
        k = failed = 0
        try:
            for t in self.tests:
                if t not in selected:
                    lines = [(True, n, "# SKIP not selected (%s)" % self.only_var, "") for n in t.lines()]
                    k, _ = self._report(k, lines, [])
                    continue
                lines, diag = futures[t].result() if pool else self._run(t)
                k, f = self._report(k, lines, diag)
                failed += f
        finally:
            if pool:
                pool.shutdown(wait=False, cancel_futures=True)
        return 1 if failed else 0

    def _interrupted(self, signum, frame):
        raise Interrupted(128 + signum)

    def main(self, setup=None):
        """Run every test, print TAP, clean up, exit: 0 if every line is ok.
        setup(suite): what the tests without checks get (and Case.env);
        when it fails, every line is "not ok" with its exception."""
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._interrupted)
        rc, interrupted = 1, False
        try:
            rc = self._main(setup)
        except Interrupted as ex:
            rc, interrupted = ex.code, True
            e2e.log("interrupted (signal %d): stopping everything" % (rc - 128))
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            self.cleanup()
        sys.stdout.flush()
        if interrupted:
            os._exit(rc)  # not waiting for the threads of tests still running
        sys.exit(rc)

    def cleanup(self):
        self.stop_workers(timeout=5)
        for fn in reversed(self.at_exit):
            try:
                fn()
            except Exception as ex:  # noqa: BLE001
                e2e.log("clean-up: %r" % ex)
        e2e.stop_procs()
        if os.environ.get(self.keep_var) == "1":
            e2e.log("kept " + self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# --- the load harness's runs (tests/support/load.py) --------------------------------

class LoadSuite(Suite):
    """Tests over runs of the load harness, shared by
    tests/integration/load_e2e.py and stream_e2e.py: tests name the run they
    look at, each run is made once; every run's workers stopped at exit."""

    def __init__(self, prefix, root, keep_var):
        super().__init__(prefix, root, keep_var)
        self.runs = {}     # name -> load.Result (or the exception that stopped it)
        self.at_exit.append(self._stop_runs)

    def _stop_runs(self):
        for r in self.runs.values():
            for w in getattr(r, "workers", []):
                if w.rc is None:
                    w.stop(5)

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
        import load

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

    def main(self, setup=None):
        import load

        def make_ctx(suite):
            ctx = Ctx()
            ctx.root, ctx.binary, ctx.tmp = self.root, self.binary, self.tmp
            ctx.sqs = load.Fauxqs(self.root, self.tmp)
            return ctx
        super().main(setup or make_ctx)

#!/usr/bin/python3
"""scripts/bench_load.py BUILD_DIR - the load scenarios of issue 7 ("whochanged
under load"), part of `make bench`.

Each scenario runs twice in the same bench: the **new** row (cloudtrail.scan
true, the scenario's digest) and the **baseline** row (scan false, digest
0: one lookup per change, one Slack post per human change), against the
stand-ins at CloudTrail's real limits (2 LookupEvents calls/s per
account-region, at most 50 events a page) and an SQS queue (fauxqs) whose
VisibilityTimeout is 30 s. The worker runs as a daemon (`whochanged run`, no
--once) and gets SIGTERM once every message is deleted.

  A  burst: 300 changes in one account-region captured over 2 min (20% human,
     60% trusted automation, 20% AWS service) + 600 unrelated write events
     and 300 read-only events in the window; the default digest. The verdict
     of every change is compared between the rows. A third row, scan on with
     digest 0 (one Slack post per human change), measures B.
  B  fairness, within A's digest-0 row: one human change in another region,
     sent in the middle of the burst: its receive -> Slack post.
  C  many account-regions: 250 accounts x 4 regions x 10 changes, AssumeRole
     per account (accounts.role_arn), 100 ms stand-in latency per call,
     queued before the worker starts; then a soak: RSS over many messages.
  D  three worker processes on one queue, one account-region, changes sent
     live: throttled calls after the first 10 s, human changes posted once.
  E  Slack: 60 human changes by 4 actor sessions within a minute: Slack
     messages, every change named, 429s (the Slack stand-in answers 429
     above 1 post/s per webhook); the new row uses the default digest.
  F  the CloudTrail event stream (issue 10): A's burst with every CloudTrail
     event also on an events queue (EventBridge form): LookupEvents calls
     (0 wanted), verdicts equal to the LookupEvents row, seconds from a human
     change and its event arriving to its verdict; and the stream's ingest
     on one thread (make evindex-bench: events/s, memory against its cap).

Every row records: LookupEvents calls (total, per change), ThrottlingException,
messages received more than once (fauxqs receive log), time from the last
change enqueued to the last message deleted, changes/s, the worker's peak RSS
(VmHWM), Slack messages and 429s. Writes BUILD_DIR/bench/results.json, prints
a table and (unless BENCH_QUICK) rewrites the `bench-load` part of
BENCHMARKS.md. Exit 1 when a run fails a check (exit status, not all done,
a wrong verdict); targets missed are reported, and fail only with
BENCH_STRICT=1.

Environment (defaults in brackets): BENCH_LOAD=A,C,D,E,F (which scenarios),
BENCH_A_N [300], BENCH_A_UNRELATED [600], BENCH_A_READONLY [300],
BENCH_A_FEED [burst; live: sent as captured, over 2 min], BENCH_C_ACCOUNTS
[250], BENCH_C_REGIONS [4], BENCH_C_PER [10], BENCH_C_LATENCY_MS [100],
BENCH_C_SOAK [100000 messages, the issue's figure; 0: no soak],
BENCH_D_N [360], BENCH_D_FEED_S [180], BENCH_D_WORKERS [3], BENCH_E_N [60],
BENCH_E_ACTORS [4], BENCH_E_DIGEST_S [the config's default], BENCH_ROW_TIMEOUT
[240 s], BENCH_SERIAL=1 (run the rows of A, D and F one after the other
instead of side by side), BENCH_QUICK=1 (small sizes), BENCH_KEEP=1 (keep the logs).
"""
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import e2e  # noqa: E402
import load  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
BIN = os.path.join(ROOT, BUILD, "whochanged")
QUICK = os.environ.get("BENCH_QUICK") == "1"


def env_int(name, default, quick=None):
    v = os.environ.get(name)
    if v not in (None, ""):
        return int(v)
    return quick if QUICK and quick is not None else default


SCENARIOS = [x.strip().upper() for x in os.environ.get("BENCH_LOAD", "A,C,D,E,F").split(",") if x.strip()]
A_N = env_int("BENCH_A_N", 300, 60)
A_UNRELATED = env_int("BENCH_A_UNRELATED", 600, 120)
A_READONLY = env_int("BENCH_A_READONLY", 300, 60)
A_FEED = os.environ.get("BENCH_A_FEED", "burst")
C_ACCOUNTS = env_int("BENCH_C_ACCOUNTS", 250, 25)
C_REGIONS = env_int("BENCH_C_REGIONS", 4)
C_PER = env_int("BENCH_C_PER", 10)
C_LATENCY_MS = env_int("BENCH_C_LATENCY_MS", 100)
C_SOAK = env_int("BENCH_C_SOAK", 100000, 2000)
D_N = env_int("BENCH_D_N", 360, 30)
D_FEED_S = env_int("BENCH_D_FEED_S", 180, 15)
D_WORKERS = env_int("BENCH_D_WORKERS", 3)
E_N = env_int("BENCH_E_N", 60, 20)
E_ACTORS = env_int("BENCH_E_ACTORS", 4)
E_DIGEST = os.environ.get("BENCH_E_DIGEST_S")
E_DIGEST = int(E_DIGEST) if E_DIGEST not in (None, "") else None
ROW_TIMEOUT = env_int("BENCH_ROW_TIMEOUT", 240)
SERIAL = os.environ.get("BENCH_SERIAL") == "1"
STRICT = os.environ.get("BENCH_STRICT") == "1"
REGIONS4 = ("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "eu-central-1", "ap-northeast-1")
# The issue's targets (for the new rows).
T_A_CALLS, T_A_DONE_S, T_B_S, T_C_RATE, T_C_RSS_MIB, T_C_FLAT_MIB = 0.1, 30.0, 5.0, 500.0, 24.0, 1.0
T_D_THROTTLED, T_E_MESSAGES = 0.01, 8
T_F_LATENCY_S, T_F_INGEST = 2.0, 20000
F_INGEST_N = env_int("BENCH_F_INGEST_N", 200000, 20000)
rows_extra = {}


def say(msg=""):
    print(msg, flush=True)


class Ctx:
    pass


def nan(x):
    return x is None or (isinstance(x, float) and math.isnan(x))


def fmt(x, spec="%.2f"):
    return "–" if nan(x) else spec % x


def row_metrics(r):
    """The figures of one row, for results.json."""
    m = {"changes": r.n, "lookup_calls": r.calls, "lookup_calls_per_change": round(r.calls_per_change, 4),
         "scan_calls": r.scan_calls, "throttled": r.throttled, "calls_after_10s": r.calls_after_10s,
         "throttled_after_10s": r.throttled_after_10s,
         "throttled_fraction_after_10s": (round(r.throttled_after_10s / r.calls_after_10s, 4)
                                          if r.calls_after_10s else None),
         "max_calls_in_1s_per_account_region": r.max_per_second, "account_regions_called": r.regions_called,
         "assume_role_calls": r.sts_calls, "receives": r.receives,
         "received_more_than_once": len(r.received_twice), "visibility_changes": r.extensions,
         "deleted": r.deleted, "left_in_queue": r.depth,
         "done_after_last_enqueued_s": None if nan(r.done_after_last_sent) else round(r.done_after_last_sent, 2),
         "decided_after_last_enqueued_s": None if nan(r.decided_at) else round(r.decided_at - r.t_last_sent, 2),
         "elapsed_s": None if nan(r.elapsed) else round(r.elapsed, 2),
         "changes_per_s": None if nan(r.changes_per_s) else round(r.changes_per_s, 1),
         "worker_peak_rss_mib": round(r.peak_rss_kb / 1024, 2), "worker_cpu_s": round(r.worker_cpu, 2),
         "standin_cpu_s": round(r.st_cpu, 2), "findings_repeated": r.findings_dupes,
         "slack_messages": r.slack_messages, "slack_429": r.slack_429,
         "human_changes": len(r.posts_per_human), "human_changes_not_posted": len(r.humans_unnamed),
         "human_changes_posted_more_than_once": len(r.humans_repeated), "exit_codes": r.exit_codes}
    return m


def row_json(scenario, kind, r, extra=None):
    o = r.opts
    out = {"scenario": scenario, "row": kind, "tag": r.tag,
           "config": {"cloudtrail.scan": o.scan, "correlation.digest_seconds": o.digest_s,
                      "workers": o.workers, "standin_ct_rate": o.ct_rate, "slack_rate": o.slack_rate if o.slack else None,
                      "standin_latency_s": o.latency_s, "visibility_timeout_s": o.visibility_s,
                      "feed": r.plan.feed if o.soak_backlog is None else "soak"},
           "metrics": row_metrics(r), "problems": list(r.problems)}
    if extra:
        out["metrics"].update(extra)
    return out


TARGETS = []


def target(scenario, name, value, ok_fn, want, unmet_if_missing=None):
    """A target of a new row. value None/NaN: not measured (met: None), or
    not reached at all when unmet_if_missing says why (met: False)."""
    if nan(value):
        ok, shown = (False, unmet_if_missing) if unmet_if_missing else (None, None)
    else:
        ok, shown = bool(ok_fn(value)), round(value, 3) if isinstance(value, float) else value
    TARGETS.append({"scenario": scenario, "target": name, "want": want, "value": shown, "met": ok})


def run_rows(ctx, scenario, plan, rows, parallel=False):
    """Rows [(kind, opts)] of one plan, each on its own copy of the plan
    (side by side when parallel)."""
    tags = ["%s-%s" % (scenario.lower(), kind.replace(" ", "-")) for kind, _ in rows]
    plans = [plan] + [plan.fresh() for _ in rows[1:]]
    out = [None] * len(rows)
    errors = []
    if parallel:
        def go(i, opts):
            try:
                out[i] = load.run(ctx, plans[i], opts, tags[i], wait_exit=False)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        ts = [threading.Thread(target=go, args=(i, o)) for i, (_, o) in enumerate(rows)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        if errors:
            raise errors[0]
    else:
        for i, (_, opts) in enumerate(rows):
            out[i] = load.run(ctx, plans[i], opts, tags[i], wait_exit=False)
    ctx.pending.extend(out)
    return out


def run_pair(ctx, scenario, plan, new_opts, base_opts, parallel=False):
    """The new and the baseline row of one plan."""
    return run_rows(ctx, scenario, plan, [("new", new_opts), ("base", base_opts)], parallel)


def line(scenario, kind, r):
    say("  %-2s %-8s scan=%-5s digest=%-4s calls %5d (%.3f/change, %d scan) throttled %d (after 10 s: %s of %s)  "
        "received >1: %d  done %s s after the last enqueued  %s changes/s  peak RSS %.1f MiB  Slack %d (429: %d)%s"
        % (scenario, kind, r.opts.scan, "dflt" if r.opts.digest_s is None else r.opts.digest_s, r.calls,
           r.calls_per_change, r.scan_calls, r.throttled, fmt(r.throttled_after_10s, "%d"),
           fmt(r.calls_after_10s, "%d"),
           len(r.received_twice), fmt(r.done_after_last_sent, "%.1f"), fmt(r.changes_per_s, "%.0f"),
           r.peak_rss_kb / 1024, r.slack_messages, r.slack_429,
           ("  PROBLEMS: " + "; ".join(r.problems)) if r.problems else ""))


def scenario_a(ctx, rows):
    other = "us-west-2"
    plan = load.burst_plan(n=A_N, unrelated=A_UNRELATED, read_only=A_READONLY, spread_s=120.0, region="eu-west-1",
                           other_region=other, feed=A_FEED)
    say("== A/B. burst: %d changes in 123456789012/eu-west-1 captured over 2 min (%s), %d unrelated writes, "
        "%d read-only events; B: 1 human change in %s in the middle of the burst; rows: new (default digest), "
        "new with digest 0 (B), baseline; %s" % (
            A_N, A_FEED, A_UNRELATED, A_READONLY, other, "rows one after the other" if SERIAL else
            "rows side by side (own stand-in and queue each)"))
    new, new0, base = run_rows(ctx, "A", plan, [
        ("new", load.Options(scan=True, digest_s=None, timeout_s=ROW_TIMEOUT)),
        ("new digest 0", load.Options(scan=True, digest_s=0, timeout_s=ROW_TIMEOUT)),
        ("base", load.Options(scan=False, digest_s=0, timeout_s=ROW_TIMEOUT))], parallel=not SERIAL)
    verdicts, events = load.compare_verdicts(new, base)
    a_ids = [c.rid for c in plan.changes if c.tag == "A"]
    missing = [rid for rid in a_ids if rid not in new.verdicts or rid not in base.verdicts]
    b = [c for c in plan.changes if c.tag == "B"][0]

    def b_latency(r):
        rb = [c for c in r.plan.changes if c.tag == "B"][0]
        return r.first_post.get(rb.rid, float("nan")) - r.first_receive.get(rb.rid, float("nan"))

    def burst_last_post(r):
        ts = [t for rid, t in r.first_post.items() if rid != b.rid and not nan(t)]
        return max(ts) if ts else float("nan")

    extra = {}
    for kind, r in (("new", new), ("new digest 0", new0), ("baseline", base)):
        line("A", kind, r)
        lat = b_latency(r)
        extra[kind] = {"b_receive_to_post_s": None if nan(lat) else round(lat, 2),
                       "b_posted_before_burst_last": (not nan(r.first_post.get(b.rid, float("nan")))
                                                      and r.first_post[b.rid] < burst_last_post(r))}
        say("     B: receive -> Slack post %s s" % fmt(lat))
    extra["new"].update({"verdicts_differing_from_baseline": len(verdicts),
                         "matched_events_differing_from_baseline": len(events),
                         "changes_without_a_finding_in_a_row": len(missing)})
    say("     verdicts: %d of %d changes differ between scan on and off (matched events differ for %d); "
        "%d change(s) without a finding in one of the rows" % (len(verdicts), len(a_ids), len(events), len(missing)))
    if verdicts:
        say("     e.g. %s" % verdicts[:3])
    rows.append(row_json("A", "new", new, extra["new"]))
    rows.append(row_json("A", "new digest 0", new0, extra["new digest 0"]))
    rows.append(row_json("A", "baseline", base, extra["baseline"]))
    target("A", "LookupEvents calls per change", new.calls_per_change, lambda v: v <= T_A_CALLS, "<= %g" % T_A_CALLS)
    target("A", "ThrottlingException", new.throttled, lambda v: v == 0, "0")
    target("A", "messages received more than once", len(new.received_twice), lambda v: v == 0, "0")
    not_done = "not done: %d of %d deleted in %.0f s" % (new.deleted, new.n, ROW_TIMEOUT)
    target("A", "s from the last change enqueued to all done (deleted)", new.done_after_last_sent,
           lambda v: v <= T_A_DONE_S, "<= %g" % T_A_DONE_S, not_done)
    target("A", "s from the last change enqueued to every verdict decided (JSON lines written)",
           new.decided_at - new.t_last_sent,
           lambda v: v <= T_A_DONE_S, "<= %g" % T_A_DONE_S,
           "%d of %d decided in %.0f s" % (len(new.verdicts), new.n, ROW_TIMEOUT))
    target("A", "verdicts differing from the one-by-one path", len(verdicts) + len(missing), lambda v: v == 0, "0")
    target("B", "s from the other region's receive to its Slack post (digest 0)", b_latency(new0),
           lambda v: v <= T_B_S, "<= %g" % T_B_S)
    return new, base


def scenario_f(ctx, rows):
    plan = load.burst_plan(n=A_N, unrelated=A_UNRELATED, read_only=A_READONLY, spread_s=120.0, region="eu-west-1",
                           feed="burst")
    say("== F. the CloudTrail event stream (issue 10): A's burst (%d changes, %d unrelated writes, %d read-only "
        "events) with every CloudTrail event also on an events queue (EventBridge form), sent with the changes; "
        "rows: stream, and LookupEvents only (scan on); default digest" % (A_N, A_UNRELATED, A_READONLY))
    st, lk = run_rows(ctx, "F", plan, [
        ("stream", load.Options(scan=True, digest_s=None, stream=True, timeout_s=ROW_TIMEOUT)),
        ("lookups", load.Options(scan=True, digest_s=None, timeout_s=ROW_TIMEOUT))], parallel=not SERIAL)
    verdicts, events = load.compare_verdicts(st, lk)
    missing = [c.rid for c in plan.changes if c.rid not in st.verdicts or c.rid not in lk.verdicts]
    lat = st.stream_latency
    worst = max(lat) if lat else float("nan")
    for kind, r in (("stream", st), ("lookups only", lk)):
        line("F", kind, r)
    say("     stream: %d human changes, seconds from both change and event sent to the verdict written "
        "(JSON lines, sampled every 0.25 s): median %s, worst %s; verdicts differing from the LookupEvents "
        "row: %d (matched events: %d), without a finding: %d" % (
            len(lat), fmt(lat[len(lat) // 2] if lat else float("nan")), fmt(worst), len(verdicts), len(events),
            len(missing)))
    rows.append(row_json("F", "stream", st, {"verdicts_differing_from_lookups": len(verdicts),
                                              "matched_events_differing_from_lookups": len(events),
                                              "human_decided_after_both_arrived_s": [round(x, 2) for x in lat]}))
    rows.append(row_json("F", "lookups only", lk))
    target("F", "LookupEvents calls with every event on the stream", st.calls, lambda v: v == 0, "0",
           "not done: %d of %d deleted" % (st.deleted, st.n))
    target("F", "verdicts differing from the LookupEvents path", len(verdicts) + len(events) + len(missing),
           lambda v: v == 0, "0")
    target("F", "worst s from a human change and its event arriving to its verdict (JSON lines)", worst,
           lambda v: v <= T_F_LATENCY_S, "<= %g" % T_F_LATENCY_S)
    ingest = None
    try:
        out = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, "BUILD=" + BUILD, "evindex-bench",
                              "EVINDEX_BENCH_ARGS=-n %d --json" % F_INGEST_N], capture_output=True, text=True,
                             timeout=600, check=True).stdout
        ingest = json.loads([x for x in out.splitlines() if x.startswith("{")][-1])
    except (subprocess.SubprocessError, OSError, ValueError, IndexError) as e:
        say("     ingest micro-benchmark failed: %s" % e)
    if ingest:
        say("     ingest (tests/bench/evindex_bench.c, one thread): %d messages of %d bytes on average: %d events/s "
            "(wall), index %.1f of %.0f MiB (%d events held, %d evicted for the cap)" % (
                ingest["messages"], ingest["mean_body_bytes"], ingest["events_per_s_wall"],
                ingest["bytes"] / 1048576, ingest["max_bytes"] / 1048576, ingest["held"], ingest["evicted"]))
        rows_extra["F_ingest"] = ingest
    target("F", "stream ingest events/s on one thread (parse, filter, index)",
           ingest["events_per_s_wall"] if ingest else float("nan"), lambda v: v >= T_F_INGEST, ">= %d" % T_F_INGEST,
           "not measured")
    target("F", "stream index memory within its cap (bytes used / cap)",
           ingest["bytes"] / ingest["max_bytes"] if ingest else float("nan"), lambda v: v <= 1.0, "<= 1",
           "not measured")
    return st, lk


def scenario_c(ctx, rows):
    regions = REGIONS4[:C_REGIONS]
    plan = load.accounts_plan(n_accounts=C_ACCOUNTS, regions=regions, per=C_PER)
    say("== C. many account-regions: %d accounts x %d regions x %d changes = %d, AssumeRole per account, "
        "stand-in latency %d ms, queued before the worker starts" % (C_ACCOUNTS, len(regions), C_PER, len(plan.changes),
                                                                     C_LATENCY_MS))
    common = dict(slack=False, accounts_role=True, latency_s=C_LATENCY_MS / 1000.0, timeout_s=ROW_TIMEOUT,
                  sample_s=0.5)
    new, base = run_pair(ctx, "C", plan, load.Options(scan=True, digest_s=0, **common),
                         load.Options(scan=False, digest_s=0, **common))
    for kind, r in (("new", new), ("baseline", base)):
        line("C", kind, r)
    rows.append(row_json("C", "new", new))
    rows.append(row_json("C", "baseline", base))
    target("C", "changes/s", new.changes_per_s, lambda v: v >= T_C_RATE, ">= %g" % T_C_RATE,
           "not done: %d of %d deleted" % (new.deleted, new.n))
    target("C", "worker peak RSS MiB", new.peak_rss_kb / 1024, lambda v: v <= T_C_RSS_MIB, "<= %g" % T_C_RSS_MIB)
    soak = None
    if C_SOAK > 0:
        n_ar = C_ACCOUNTS * len(regions)
        per = max(1, -(-C_SOAK // n_ar))
        splan = load.accounts_plan(n_accounts=C_ACCOUNTS, regions=regions, per=per)
        splan.changes = splan.changes[:C_SOAK]
        say("== C soak: %d messages over the same %d account-regions, fed as they are taken (at most 5000 "
            "queued), RSS sampled every second" % (len(splan.changes), n_ar))
        soak = load.run(ctx, splan, load.Options(scan=True, digest_s=0, sample_s=1.0, soak_backlog=5000,
                                                 timeout_s=max(ROW_TIMEOUT, C_SOAK / 50.0), **{
                                                     k: v for k, v in common.items()
                                                     if k not in ("timeout_s", "sample_s")}),
                        "c-soak", wait_exit=False)
        ctx.pending.append(soak)
        growth, per10k = load.rss_growth(soak)
        line("C", "soak", soak)
        pts = soak.rss_samples
        marks = [pts[min(len(pts) - 1, int(len(pts) * f))] for f in (0.1, 0.25, 0.5, 0.75, 1.0)] if pts else []
        say("     RSS (messages done: MiB): %s; growth after 20%% of the messages %s MiB (%s MiB per 10,000)" % (
            ", ".join("%d: %.1f" % (d, kb / 1024) for _, d, kb in marks), fmt(growth), fmt(per10k, "%.3f")))
        rows.append(row_json("C", "soak", soak, {
            "rss_growth_after_20pct_mib": None if nan(growth) else round(growth, 3),
            "rss_mib_per_10k_messages": None if nan(per10k) else round(per10k, 4),
            "rss_samples_done_mib": [(d, round(kb / 1024, 2)) for _, d, kb in pts[::max(1, len(pts) // 40)]]}))
        target("C", "RSS growth MiB over the soak (after 20%% of %d messages)" % len(splan.changes), growth,
               lambda v: v <= T_C_FLAT_MIB, "<= %g (flat)" % T_C_FLAT_MIB)
    return new, base, soak


def scenario_d(ctx, rows):
    plan = load.contention_plan(n=D_N, feed_s=D_FEED_S)
    say("== D. %d worker processes on one queue, one account-region at 2 calls/s, %d changes sent over %d s" % (
        D_WORKERS, D_N, D_FEED_S))
    limit = D_FEED_S + ROW_TIMEOUT  # from the first change sent
    new, base = run_pair(ctx, "D", plan, load.Options(scan=True, digest_s=None, workers=D_WORKERS, timeout_s=limit),
                         load.Options(scan=False, digest_s=0, workers=D_WORKERS, timeout_s=limit),
                         parallel=not SERIAL)
    for kind, r in (("new", new), ("baseline", base)):
        line("D", kind, r)
        say("     human changes: %d, not posted %d, posted more than once %d" % (
            len(r.posts_per_human), len(r.humans_unnamed), len(r.humans_repeated)))
    rows.append(row_json("D", "new", new))
    rows.append(row_json("D", "baseline", base))
    frac = new.throttled_after_10s / new.calls_after_10s if new.calls_after_10s else float("nan")
    target("D", "fraction of calls throttled after the first 10 s", frac, lambda v: v <= T_D_THROTTLED,
           "<= %g" % T_D_THROTTLED)
    target("D", "human changes not posted exactly once", len(new.humans_unnamed) + len(new.humans_repeated),
           lambda v: v == 0, "0")
    return new, base


def scenario_e(ctx, rows):
    plan = load.actors_plan(n=E_N, actors=E_ACTORS, spread_s=60.0)
    say("== E. Slack: %d human changes by %d actor sessions captured within a minute, Slack stand-in 1 post/s per "
        "webhook (429 above), digest %s" % (E_N, E_ACTORS, "the default" if E_DIGEST is None else E_DIGEST))
    new, base = run_pair(ctx, "E", plan, load.Options(scan=True, digest_s=E_DIGEST, timeout_s=ROW_TIMEOUT),
                         load.Options(scan=False, digest_s=0, timeout_s=ROW_TIMEOUT))
    for kind, r in (("new", new), ("baseline", base)):
        line("E", kind, r)
        say("     changes named in no message: %d" % len(r.humans_unnamed))
    rows.append(row_json("E", "new", new))
    rows.append(row_json("E", "baseline", base))
    target("E", "Slack messages", new.slack_messages, lambda v: v <= T_E_MESSAGES, "<= %d" % T_E_MESSAGES)
    target("E", "changes named in no Slack message", len(new.humans_unnamed), lambda v: v == 0, "0")
    target("E", "Slack 429 answers", new.slack_429, lambda v: v == 0, "0")
    return new, base


def machine():
    model = "?"
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(), "commit": commit,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def table(rows):
    head = ("| scenario | row | scan | digest s | changes | LookupEvents calls (per change) | throttled (after 10 s) | "
            "received > once | s from last enqueued to all deleted (all decided) | changes/s | peak RSS MiB | Slack msgs | "
            "Slack 429 |")
    out = [head, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        c, m = row["config"], row["metrics"]
        thr = "%d" % m["throttled"]
        if m["calls_after_10s"]:
            thr += " (%d of %d)" % (m["throttled_after_10s"], m["calls_after_10s"])
        digest = c["correlation.digest_seconds"]
        out.append("| %s | %s%s | %s | %s | %d | %d (%.3f) | %s | %d | %s | %s | %.1f | %d | %d |" % (
            row["scenario"], row["row"], " ×%d workers" % c["workers"] if c["workers"] > 1 else "",
            "on" if c["cloudtrail.scan"] else "off", "default" if digest is None else digest, m["changes"],
            m["lookup_calls"], m["lookup_calls_per_change"], thr, m["received_more_than_once"],
            ("%s (%s)" % (fmt(m["done_after_last_enqueued_s"], "%.1f"), fmt(m["decided_after_last_enqueued_s"], "%.1f"))
             if m["deleted"] == m["changes"] else "not done: %d deleted" % m["deleted"]),
            fmt(m["changes_per_s"], "%.0f"),
            m["worker_peak_rss_mib"], m["slack_messages"], m["slack_429"]))
    return "\n".join(out)


def target_table():
    out = ["| scenario | target (new rows) | want | measured | met |", "|---|---|---|---:|---|"]
    for t in TARGETS:
        out.append("| %s | %s | %s | %s | %s |" % (t["scenario"], t["target"], t["want"],
                                                  "–" if t["value"] is None else t["value"],
                                                  {True: "yes", False: "**no**", None: "–"}[t["met"]]))
    return "\n".join(out)


def write_md(text):
    path = os.path.join(ROOT, "BENCHMARKS.md")
    begin, end = "<!-- bench-load:begin (generated by scripts/bench_load.py) -->", "<!-- bench-load:end -->"
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if begin not in old or end not in old:
        old = old.rstrip("\n") + "\n\n" + begin + "\n" + end + "\n"
    head, rest = old.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(path + ".tmp", "w") as f:
        f.write(head + begin + "\n" + text.rstrip("\n") + "\n" + end + tail)
    os.replace(path + ".tmp", path)
    return path


def main():
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda sig, _f: (_ for _ in ()).throw(SystemExit(128 + sig)))
    if not os.access(BIN, os.X_OK):
        sys.exit("scripts/bench_load.py: %s not built (make all)" % BIN)
    mach = machine()
    ctx = Ctx()
    ctx.root, ctx.binary, ctx.pending = ROOT, BIN, []
    ctx.tmp = tempfile.mkdtemp(prefix="wc-bench-load.")
    say("== whochanged load bench (%s, %d cpu, %s; logs in %s while it runs)" % (
        mach["cpu"], mach["nproc"], mach["date"], ctx.tmp))
    load0 = open("/proc/loadavg").read().split()[:3]
    t_start = time.time()
    rows = []
    try:
        ctx.sqs = load.Fauxqs(ROOT, ctx.tmp)
        for name, fn in (("A", scenario_a), ("C", scenario_c), ("D", scenario_d), ("E", scenario_e),
                         ("F", scenario_f)):
            if name in SCENARIOS:
                fn(ctx, rows)
        for r in ctx.pending:   # the workers' exit status (they were stopping meanwhile)
            load.finish(r)
        for row in rows:
            r = next(x for x in ctx.pending if x.tag == row["tag"])
            row["metrics"]["exit_codes"] = r.exit_codes
            row["problems"] = list(r.problems)
    finally:
        for r in ctx.pending:
            for w in getattr(r, "workers", []):
                if w.rc is None:
                    w.stop(5)
        e2e.stop_procs()
        if os.environ.get("BENCH_KEEP") == "1":
            say("kept " + ctx.tmp)
        else:
            subprocess.run(["rm", "-rf", ctx.tmp])
    total = time.time() - t_start
    load1 = open("/proc/loadavg").read().split()[:3]
    problems = ["%s %s: %s" % (row["scenario"], row["row"], p) for row in rows for p in row["problems"]]
    missed = [t for t in TARGETS if t["met"] is False]
    result = {"generated": mach["date"], "commit": mach["commit"], "machine": mach, "duration_s": round(total, 1),
              "load_average_before": load0, "load_average_after": load1, "quick": QUICK,
              "params": {"A": {"changes": A_N, "unrelated_writes": A_UNRELATED, "read_only": A_READONLY,
                               "feed": A_FEED, "spread_s": 120, "other_region": "us-west-2"},
                         "C": {"accounts": C_ACCOUNTS, "regions": C_REGIONS, "per_account_region": C_PER,
                               "latency_ms": C_LATENCY_MS, "soak_messages": C_SOAK},
                         "D": {"changes": D_N, "feed_s": D_FEED_S, "workers": D_WORKERS},
                         "E": {"changes": E_N, "actor_sessions": E_ACTORS, "digest_s": E_DIGEST},
                         "F": {"changes": A_N, "ingest_messages": F_INGEST_N},
                         "visibility_timeout_s": 30, "standin_ct_rate": 2, "slack_rate": 1},
              "rows": rows, "targets": TARGETS, "problems": problems, "extra": rows_extra}
    out_dir = os.path.join(ROOT, BUILD, "bench")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, "results.json")
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    tab, ttab = table(rows), target_table()
    say("")
    say(tab)
    say("")
    say(ttab)
    say("")
    say("wrote %s (%.0f s)" % (out, total))
    if problems:
        say("FAILED CHECKS:\n  " + "\n  ".join(problems))
    if missed:
        say("targets missed: %d of %d%s" % (len(missed), len(TARGETS), "" if STRICT else " (BENCH_STRICT=1 fails on them)"))
    if not QUICK and set(SCENARIOS) >= {"A", "C", "D", "E"}:
        md = ["Generated by `make bench` (`scripts/bench_load.py %s`) on %s, commit `%s`, in %.0f s; load average "
              "before %s, after %s. Every figure is from outside the worker: the CloudTrail/STS/Slack stand-in "
              "(`/_stats`, `/_requests`, `/_posts`), fauxqs's receive log, the JSON lines findings and `/proc`. "
              "Machine-readable: `%s/bench/results.json`." % (BUILD, mach["date"], mach["commit"], total,
                                                              " ".join(load0), " ".join(load1), BUILD), "",
              tab, "", ttab, ""]
        if problems:
            md += ["Checks that failed in this run:", ""] + ["- " + p for p in problems] + [""]
        say("wrote %s" % write_md("\n".join(md)))
    return 1 if problems or (STRICT and missed) else 0


if __name__ == "__main__":
    sys.exit(main())

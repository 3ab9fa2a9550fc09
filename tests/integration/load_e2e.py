#!/usr/bin/python3
"""End-to-end correctness of `whochanged run` under load (issue 7), scaled
down from the bench scenarios (scripts/bench_load.py); no timing targets.
The real binary (as a daemon, stopped with SIGTERM) against the fauxqs SQS
emulator (receive log on) and the CloudTrail/STS/Slack stand-ins at
CloudTrail's real limit (2 LookupEvents calls/s per account-region) and a
queue VisibilityTimeout of 30 s, all on 127.0.0.1. TAP on stdout; every
process started is stopped; every run is bounded in count and time.

  A  60 changes in one account-region (+ 120 unrelated writes, failed calls
     and earlier writes on the changed groups, 60 read-only events naming
     them): the verdict and matched events of every change are the same with
     cloudtrail.scan on (at 2 calls/s) and off (the one-by-one path, run
     fast); with scan on at most 0.2 LookupEvents calls per change and no
     message received twice.
  B  one human change in another region, sent in the middle of A's burst
     (digest 0): posted to Slack before the burst's last human change.
  D  3 worker processes on one queue, 60 changes in one account-region, one
     lookup per change (scan off: 30 s of CloudTrail budget, as long as the
     visibility timeout): every human change posted exactly once.
  E  20 human changes by 2 actor sessions, digest 10 s, Slack stand-in 1
     post/s per webhook: at most 4 Slack messages, each change named in one,
     no 429.
"""
import os
import sys

ROOT = os.environ.get("WC_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import load  # noqa: E402
import suite  # noqa: E402

S = suite.LoadSuite("wc-load-e2e.", ROOT, "LOAD_E2E_KEEP")
test, result, checked = S.test, S.result, S.checked


PLAN_A = load.burst_plan(n=60, unrelated=120, read_only=60, spread_s=60.0, region="eu-west-1",
                         other_region="us-west-2", n_humans=3)


def run_a_reference(ctx):
    # the one-by-one path, fast (its verdicts do not depend on the rate)
    return load.run(ctx, PLAN_A.fresh(), load.Options(scan=False, digest_s=0, ct_rate=50, lookups_per_second=50,
                                                      timeout_s=60), "a-ref", wait_exit=False)


def run_a_scan(ctx):
    return load.run(ctx, PLAN_A.fresh(), load.Options(scan=True, digest_s=0, timeout_s=90), "a-scan",
                    wait_exit=False)


@test("A: every change's verdict and matched events equal with cloudtrail.scan on and off")
def a_verdicts_equal_with_scan_on_and_off(ctx):
    ref = checked(result(ctx, "a-ref", run_a_reference))
    scan = result(ctx, "a-scan", run_a_scan)
    verdicts, events = load.compare_verdicts(scan, ref)
    assert len(ref.verdicts) == len(PLAN_A.changes), "reference run: %d findings for %d changes" % (
        len(ref.verdicts), len(PLAN_A.changes))
    assert not verdicts, "%d of %d verdicts differ (resource, scan on, scan off): %s" % (
        len(verdicts), len(PLAN_A.changes), verdicts[:5])
    assert not events, "%d changes matched other events with scan on: %s" % (len(events), events[:3])
    checked(scan)


@test("A: at most 0.2 LookupEvents calls per change with scan on")
def a_at_most_0_2_lookups_per_change_with_scan(ctx):
    r = result(ctx, "a-scan", run_a_scan)
    assert r.deleted == r.n, "%d of %d messages done" % (r.deleted, r.n)
    assert r.calls_per_change <= 0.2, (
        "%.2f LookupEvents calls per change with cloudtrail.scan true (want <= 0.2): %d calls for %d changes, "
        "%d of them scans (LookupAttributes ReadOnly), %d throttled" % (
            r.calls_per_change, r.calls, r.n, r.scan_calls, r.throttled))


@test("A: no message received twice (VisibilityTimeout 30 s)")
def a_no_message_received_twice(ctx):
    r = result(ctx, "a-scan", run_a_scan)
    assert r.deleted == r.n, "%d of %d messages done" % (r.deleted, r.n)
    assert not r.received_twice, (
        "%d of %d messages received more than once (VisibilityTimeout 30 s; %d visibility changes, "
        "done %.1f s after the last was sent)" % (len(r.received_twice), r.n, r.extensions, r.done_after_last_sent))


@test("B: the other region's change posted before the burst's last")
def b_other_region_posted_before_the_burst_last(ctx):
    r = result(ctx, "a-scan", run_a_scan)
    b = [c for c in r.plan.changes if c.tag == "B"][0]
    t_b = r.first_post.get(b.rid)
    burst = [t for rid, t in r.first_post.items() if rid != b.rid and t == t]
    assert t_b == t_b, "the other region's change (%s) was never posted" % b.rid
    assert burst, "no human change of the burst was posted"
    assert t_b < max(burst), "posted %.1f s after the burst's last human change" % (t_b - max(burst))


PLAN_D = load.burst_plan(n=60, unrelated=0, read_only=0, spread_s=30.0, region="eu-west-1", n_humans=2)


def run_d(ctx):
    return load.run(ctx, PLAN_D.fresh(), load.Options(scan=False, digest_s=0, workers=3, timeout_s=120), "d",
                    wait_exit=False)


@test("D: 3 workers on one queue post every human change exactly once")
def d_three_workers_post_every_human_change_once(ctx):
    r = result(ctx, "d", run_d)
    assert r.deleted == r.n, "%d of %d messages done: %s" % (r.deleted, r.n, "; ".join(r.problems))
    assert not r.humans_unnamed, "human changes never posted: %s" % r.humans_unnamed
    assert not r.humans_repeated, (
        "%d of %d human changes posted more than once (%s); %d messages received more than once, "
        "%d visibility changes, %d of %d LookupEvents calls throttled" % (
            len(r.humans_repeated), len(r.posts_per_human), ", ".join(
                "%s x%d" % (rid, r.posts_per_human[rid]) for rid in r.humans_repeated[:4]),
            len(r.received_twice), r.extensions, r.throttled, r.calls))
    checked(r)


PLAN_E = load.actors_plan(n=20, actors=2, spread_s=20.0)


def run_e(ctx):
    return load.run(ctx, PLAN_E.fresh(), load.Options(scan=True, digest_s=10, timeout_s=90), "e", wait_exit=False)


@test("E: 20 changes by 2 actor sessions in at most 4 Slack messages")
def e_two_actors_at_most_4_slack_messages(ctx):
    r = result(ctx, "e", run_e)
    assert r.deleted == r.n, "%d of %d messages done" % (r.deleted, r.n)
    assert r.slack_messages <= 4, "%d Slack messages for %d changes by 2 actor sessions (digest 10 s)" % (
        r.slack_messages, r.n)


@test("E: every change named in a Slack message")
def e_every_change_named_in_a_message(ctx):
    r = result(ctx, "e", run_e)
    assert not r.humans_unnamed, "%d changes named in no Slack message: %s" % (
        len(r.humans_unnamed), r.humans_unnamed[:5])
    checked(r)


@test("E: no Slack 429 (1 post/s per webhook)")
def e_no_slack_429(ctx):
    r = result(ctx, "e", run_e)
    assert r.slack_429 == 0, "the Slack stand-in answered 429 %d times (1 post/s per webhook; %d posts accepted)" % (
        r.slack_429, r.slack_messages)


S.add_stopped_cleanly()

if __name__ == "__main__":
    S.main()

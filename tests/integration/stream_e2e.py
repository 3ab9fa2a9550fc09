#!/usr/bin/python3
"""End-to-end: the CloudTrail event stream as a second source (issue 10).
The real binary (`whochanged run`, stopped with SIGTERM) with an events
queue (fauxqs) that gets EventBridge's "AWS API Call via CloudTrail" events,
beside the Config queue, against the CloudTrail/STS/Slack stand-ins at
CloudTrail's real limit (2 LookupEvents calls/s per account-region); all on
127.0.0.1, every run bounded in count and time. TAP on stdout.

  later   40 changes in one account-region (+ 80 unrelated writes, failed
          calls, 40 read-only events): every event reaches the stream 3 s
          after the changes reach the Config queue. Every change is decided
          from the stream - no LookupEvents call at all - with the verdict
          and matched events of the LookupEvents-only path (run fast).
  missed  the same, but the events of 3 human changes never reach the
          stream (EventBridge is best effort): after the grace (3 s) those
          are looked up in CloudTrail and decided as LookupEvents says; the
          others still from the stream.
"""
import os
import sys

ROOT = os.environ.get("WC_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import load  # noqa: E402
import suite  # noqa: E402

S = suite.LoadSuite("wc-stream-e2e.", ROOT, "STREAM_E2E_KEEP")
test = S.test
PLAN = load.burst_plan(n=40, unrelated=80, read_only=40, spread_s=60.0, region="eu-west-1", n_humans=3)
DROPPED = [c.rid for c in PLAN.changes if c.kind == "human"][:3]


def result(ctx, name, make):
    return S.checked(S.result(ctx, name, make))


def run_reference(ctx):
    return load.run(ctx, PLAN.fresh(), load.Options(scan=False, digest_s=0, ct_rate=50, lookups_per_second=50,
                                                    slack=False, timeout_s=60), "ref", wait_exit=False)


def run_later(ctx):
    return load.run(ctx, PLAN.fresh(), load.Options(scan=True, digest_s=0, slack=False, stream=True,
                                                    stream_delay_s=3.0, stream_grace_s=60, timeout_s=60),
                    "later", wait_exit=False)


def run_missed(ctx):
    return load.run(ctx, PLAN.fresh(), load.Options(scan=False, digest_s=0, slack=False, stream=True,
                                                    stream_grace_s=3, stream_drop=DROPPED, timeout_s=60),
                    "missed", wait_exit=False)


def same_as_reference(ctx, r):
    ref = result(ctx, "ref", run_reference)
    assert len(ref.verdicts) == len(PLAN.changes), "reference: %d findings for %d changes" % (
        len(ref.verdicts), len(PLAN.changes))
    verdicts, events = load.compare_verdicts(r, ref)
    assert not verdicts, "%d verdicts differ from LookupEvents' (resource, stream, lookups): %s" % (
        len(verdicts), verdicts[:5])
    assert not events, "%d changes matched other events: %s" % (len(events), events[:3])


@test("later: every change decided from the stream, no LookupEvents call")
def later_no_lookups(ctx):
    r = result(ctx, "later", run_later)
    assert r.deleted == r.n, "%d of %d messages done" % (r.deleted, r.n)
    assert r.calls == 0, "%d LookupEvents calls (want 0: every event came on the stream)" % r.calls


@test("later: verdicts and matched events equal to the LookupEvents path")
def later_same_verdicts(ctx):
    same_as_reference(ctx, result(ctx, "later", run_later))


@test("later: each human change decided after its event arrived, not before")
def later_decided_after_event(ctx):
    r = result(ctx, "later", run_later)
    assert r.stream_latency, "no human change decided"
    # the events were sent 3 s after the changes: a verdict before them
    # would not have come from the stream
    early = [x for x in r.stream_latency if x < -0.3]
    assert not early, "%d human verdicts written before their event was sent: %s" % (len(early), early[:3])


@test("missed: the changes whose events never came are looked up after the grace")
def missed_fall_back(ctx):
    r = result(ctx, "missed", run_missed)
    assert r.deleted == r.n, "%d of %d messages done" % (r.deleted, r.n)
    assert r.calls >= len(DROPPED), "%d LookupEvents calls for %d changes missing from the stream" % (
        r.calls, len(DROPPED))
    # per-resource lookups (scan off): a change costs 1-3 calls; the others none
    assert r.calls <= 3 * len(DROPPED), "%d LookupEvents calls: more than the %d missed changes need" % (
        r.calls, len(DROPPED))
    for rid in DROPPED:
        assert r.verdicts.get(rid) == "human", "%s: %s" % (rid, r.verdicts.get(rid))


@test("missed: verdicts and matched events equal to the LookupEvents path")
def missed_same_verdicts(ctx):
    same_as_reference(ctx, result(ctx, "missed", run_missed))


S.add_stopped_cleanly()

if __name__ == "__main__":
    S.main()

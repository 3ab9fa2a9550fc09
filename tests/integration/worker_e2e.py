#!/usr/bin/python3
"""End-to-end tests of `whochanged run`: the real binary against the fauxqs SQS
emulator and the CloudTrail + Slack stand-ins (SigV4 verified), all on
127.0.0.1. TAP on stdout. Every process started is stopped; every wait is
bounded."""
import json, os, signal, subprocess, sys, time

ROOT = os.environ.get("WC_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import e2e  # noqa: E402
import suite  # noqa: E402
from e2e import ACCOUNT, free_port, http, record, sg, user  # noqa: E402

# maxReceiveCount 3 sends the malformed message to its DLQ quickly; the others
# use 10, what the example CloudFormation template sets (a change waiting for
# a late event needs up to wc_worker_max_receives() receives).
QUEUES = {q: ("30", "3" if q == "malformed" else "10")
          for q in ["basic", "late", "nothing", "flaky", "throttled", "crash", "malformed", "term", "hostile",
                    "metrics", "coalesce"]}
S = suite.Suite("wc-worker-e2e.", ROOT)
TMP = S.tmp
test = S.test


class Env(e2e.Services):
    # SQS: fauxqs does not check signatures; the worker's are checked by the
    # CloudTrail stand-in, and its SQS requests by botocore in the unit tests
    def __init__(self, suite_):
        super().__init__(ROOT, TMP, QUEUES, ["--cloudtrail", "--slack"])

    def config(self, q, extra="", in_flight=8):
        path = os.path.join(TMP, q + ".yaml")
        state = os.path.join(TMP, "state-" + q)
        os.makedirs(state, exist_ok=True)
        with open(path, "w") as f:
            f.write("""region: us-east-1
queue_url: "%s"
endpoints: {sqs: "%s", cloudtrail: "%s"}
trusted: ["arn:aws:iam::*:role/terraform-*"]
correlation: {skew_seconds: 180, retry_initial_seconds: 1, retry_for_seconds: 8}
max_in_flight: %d
state_dir: "%s"
notifiers:
  - {type: slack, webhook_url: "%s/services/T0E2E/B0E2E/e2esecret", verdicts: [human]}
  - {type: jsonl, path: "%s/findings.jsonl"}
%s
""" % (self.queue_url(q), self.fq, self.st, in_flight, state, self.st, state, extra))
        return path

    def run(self, q, once=True, extra_args=(), timeout=90, wait=True, extra="", in_flight=8):
        args = ["run", "--config", self.config(q, extra, in_flight)] + (["--once"] if once else []) + list(extra_args)
        p = S.worker(args, os.path.join(TMP, "worker-%s.log" % q), stdout=subprocess.PIPE)
        if not wait:
            return p
        return e2e.finish(p, timeout)


TF = {"type": "AssumedRole", "arn": "arn:aws:sts::%s:assumed-role/terraform-deployer/s1" % ACCOUNT, "accountId": ACCOUNT,
      "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::%s:role/terraform-deployer" % ACCOUNT,
                                           "userName": "terraform-deployer"}}}
ASG = {"type": "AWSService", "invokedBy": "autoscaling.amazonaws.com"}


def change(sg, capture, name=None, envelope=True, tags=None):
    return e2e.change(sg, capture, envelope=envelope, name=name, tags=tags)


@test
def human_posted_once_and_deleted(e):
    now = time.time()
    e.add_events([record("ev-basic-1", "AuthorizeSecurityGroupIngress", now - 20, user("alice"), {"groupId": sg(1)}),
                  record("ev-basic-2", "AuthorizeSecurityGroupIngress", now - 20, TF, {"groupId": sg(2)}),
                  record("ev-basic-3", "AuthorizeSecurityGroupIngress", now - 20, ASG, {"groupId": sg(3)})])
    for i in (1, 2, 3):
        e.send("basic", change(sg(i), now - 10))
    e.send("basic", change(sg(1), now - 10))  # a redelivery of the human change
    rc, _ = e.run("basic")
    assert rc == 0, rc
    assert len(e.posts_for(sg(1))) == 1, e.posts_for(sg(1))
    assert e.posts_for(sg(2)) == [] and e.posts_for(sg(3)) == [], "automation/service posted"
    assert e.depth("basic") == 0, "queue not drained"
    lines = open(os.path.join(TMP, "state-basic", "findings.jsonl")).read().splitlines()
    verdicts = sorted(json.loads(l)["verdict"] for l in lines)
    assert verdicts == ["automation", "aws_service", "human"], verdicts
    # SQS redelivers a copy later (at least once): the state file knows it was posted
    e.send("basic", change(sg(1), now - 10))
    rc, _ = e.run("basic")
    assert rc == 0
    assert len(e.posts_for(sg(1))) == 1, "redelivered copy posted again"
    assert e.depth("basic") == 0
    "human change posted exactly once (redelivery deduplicated), automation and service recorded not posted, queue drained"


@test
def late_event_posted_after_retry(e):
    now = time.time()
    e.add_events([record("ev-late-1", "AuthorizeSecurityGroupIngress", now - 5, user("bob"), {"groupId": sg(10)},
                         visible_after=3)])
    e.send("late", change(sg(10), now - 3))
    t0 = time.time()
    rc, _ = e.run("late")
    assert rc == 0
    assert len(e.posts_for(sg(10))) == 1, "late event not posted"
    assert "retry in" in e.worker_log("late"), "no retry logged"
    assert time.time() - t0 >= 2.5
    assert e.depth("late") == 0


@test
def no_event_becomes_unattributed(e):
    now = time.time()
    e.send("nothing", change(sg(20), now))
    rc, _ = e.run("nothing")
    assert rc == 0
    lines = open(os.path.join(TMP, "state-nothing", "findings.jsonl")).read().splitlines()
    assert [json.loads(l)["verdict"] for l in lines] == ["unattributed"], lines
    assert e.posts_for(sg(20)) == [], "unattributed posted without notify_unattributed"
    assert e.depth("nothing") == 0


@test
def slack_500_then_200(e):
    now = time.time()
    e.add_events([record("ev-flaky-1", "AuthorizeSecurityGroupIngress", now - 20, user("carol"), {"groupId": sg(30)})])
    e.faults({"slack": "500"})
    e.send("flaky", change(sg(30), now - 10))
    rc, _ = e.run("flaky")
    assert rc == 0
    assert len(e.posts_for(sg(30))) == 1
    assert e.depth("flaky") == 0


@test
def slack_429_retry_after_honoured(e):
    now = time.time()
    e.add_events([record("ev-429-1", "AuthorizeSecurityGroupIngress", now - 20, user("dave"), {"groupId": sg(40)})])
    e.faults({"slack": "429:2"})
    e.send("throttled", change(sg(40), now - 10))
    t0 = time.time()
    rc, _ = e.run("throttled")
    assert rc == 0
    assert len(e.posts_for(sg(40))) == 1
    assert time.time() - t0 >= 2.0, "Retry-After not honoured"


@test
def kill_9_then_restart_posts_each_once(e):
    # One message at a time, so the kill lands at a known point: three changes
    # posted, recorded and deleted, the fourth's post hanging in Slack (not
    # accepted), the rest not started. After a restart every change is posted
    # exactly once. (A crash in the few ms between Slack's 200 and the state
    # file's fsync could still repeat one post: delivery is at least once.)
    now = time.time()
    n = 8
    e.add_events([record("ev-crash-%d" % i, "AuthorizeSecurityGroupIngress", now - 30, user("erin"), {"groupId": sg(100 + i)})
                  for i in range(n)])
    for i in range(n):
        e.send("crash", change(sg(100 + i), now - 20))
    total = lambda: sum(len(e.posts_for(sg(100 + i))) for i in range(n))
    p = e.run("crash", once=False, wait=False, in_flight=1)
    deadline = time.time() + 30
    while time.time() < deadline and total() < 3:
        time.sleep(0.02)
    e.faults({"slack": "hang:20"})
    time.sleep(2)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    posted = total()
    assert 3 <= posted < n, "the kill came at the wrong time (%d posted)" % posted
    # restart: messages the killed worker held come back after their
    # visibility timeout (30 s); run --once until the queue is empty
    deadline = time.time() + 100
    while e.depth("crash") > 0 and time.time() < deadline:
        rc, _ = e.run("crash", timeout=100)
        assert rc == 0
        time.sleep(1)
    counts = [len(e.posts_for(sg(100 + i))) for i in range(n)]
    assert counts == [1] * n, counts
    assert e.depth("crash") == 0


@test
def malformed_left_for_redrive(e):
    now = time.time()
    e.add_events([record("ev-mal-1", "AuthorizeSecurityGroupIngress", now - 20, user("frank"), {"groupId": sg(50)})])
    e.send("malformed", '{"Type":"Notification","Message":"{\\"configurationItem\\":')
    e.send("malformed", change(sg(50), now - 10))
    rc, _ = e.run("malformed", extra_args=["--log-format", "json"])
    assert rc == 0
    assert len(e.posts_for(sg(50))) == 1
    log_ = e.worker_log("malformed")
    assert "invalid message" in log_ and '"msg_id"' in log_, log_[-2000:]
    # not deleted: still in the queue (invisible until its timeout), then the DLQ
    assert e.depth("malformed") == 1, e.depth("malformed")


@test
def sigterm_exits_cleanly(e):
    p = e.run("term", once=False, wait=False)
    time.sleep(2)  # idle: inside a 20 s long poll
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=40)
    assert rc == 0, rc
    # the long poll is cut short, not waited out
    assert time.time() - t0 < 5, "SIGTERM took %.1f s" % (time.time() - t0)
    assert "stopped after" in e.worker_log("term")


@test
def sighup_during_start_up_does_not_kill(e):
    # A big state file (300,000 live entries) makes start-up last a few
    # hundred ms, reading it; a SIGHUP 100 ms after spawn lands in it.
    state = os.path.join(TMP, "state-term")
    os.makedirs(state, exist_ok=True)
    expires = int((time.time() + 86400) * 1000)
    with open(os.path.join(state, "accepted.log"), "w") as f:
        f.writelines("%d slack#0 ev-big-%d/sg-%017x\n" % (expires, i, i) for i in range(300000))
    os.chmod(os.path.join(state, "accepted.log"), 0o600)
    for _ in range(2):
        p = e.run("term", once=False, wait=False)
        time.sleep(0.1)
        p.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        assert p.poll() is None, "the worker died of a SIGHUP during start-up (rc %s)" % p.returncode
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=40) == 0
    assert "300000 live entries" in e.worker_log("term")


@test
def one_event_several_changes_one_post(e):
    # one API call, three changes: one actor session, so one digest names all three
    now = time.time()
    ids = [sg(80 + i) for i in range(3)]
    r = record("ev-coal-1", "ModifySecurityGroupRules", now - 20, user("hank"), {"groupId": ids[0]})
    r["_resources"] = [{"ResourceType": "AWS::EC2::SecurityGroup", "ResourceName": i} for i in ids]
    r["resources"] = [{"type": "AWS::EC2::SecurityGroup", "ARN": "arn:aws:ec2:us-east-1:%s:security-group/%s" % (ACCOUNT, i)}
                      for i in ids]
    e.add_events([r])
    for i in ids:
        e.send("coalesce", change(i, now - 10))
    rc, _ = e.run("coalesce")
    assert rc == 0
    posts = [p for p in e.posts() if "ev-coal-1" in json.dumps(p["payload"])]
    assert len(posts) == 1, "%d posts for one event" % len(posts)
    text = json.dumps(posts[0]["payload"])
    assert all(i in text for i in ids), text[:2000]
    assert e.depth("coalesce") == 0
    assert "3 changes by one actor session in 1 message(s)" in e.worker_log("coalesce")


@test
def metrics_and_healthz(e):
    now = time.time()
    e.add_events([record("ev-met-1", "AuthorizeSecurityGroupIngress", now - 20, user("gina"), {"groupId": sg(70)})])
    e.send("metrics", change(sg(70), now - 10))
    port = free_port()
    p = e.run("metrics", once=False, wait=False, extra='metrics_listen: "127.0.0.1:%d"' % port)
    base = "http://127.0.0.1:%d" % port
    deadline = time.time() + 30
    body = ""
    while time.time() < deadline:
        try:
            status, raw = http("GET", base + "/metrics", timeout=2)
            body = raw.decode()
            if 'whochanged_notifications_total{notifier="slack#0"} 1' in body:
                break
        except OSError:
            pass
        time.sleep(0.2)
    status, health = http("GET", base + "/healthz", timeout=2)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=40) == 0
    assert 'whochanged_messages_total{verdict="human"} 1' in body, body[-1500:]
    assert 'whochanged_notifications_total{notifier="slack#0"} 1' in body, body[-1500:]
    assert "whochanged_cloudtrail_lookups_total 1" in body, body[-1500:]
    assert status == 200 and health.strip() == b"ok", (status, health)


@test
def hostile_resource_name_escaped(e):
    now = time.time()
    hostile = "<!channel> <https://evil.example|click> & <@U123>"
    e.add_events([record("ev-host-1", "AuthorizeSecurityGroupIngress", now - 20, user("mallory"), {"groupId": sg(60)})])
    e.send("hostile", change(sg(60), now - 10, name=hostile, tags={"Name": hostile}))
    rc, _ = e.run("hostile")
    assert rc == 0
    posts = e.posts_for(sg(60))
    assert len(posts) == 1
    text = json.dumps(posts[0]["payload"])
    for bad in ("<!channel>", "<https://evil.example", "<@U123>"):
        assert bad not in text, bad
    assert "&lt;!channel&gt;" in text


if __name__ == "__main__":
    S.main(Env)

#!/usr/bin/python3
"""End-to-end tests of the shared ledger (ledger: {type: dynamodb}): real
`whochanged run` processes with separate state directories sharing one
table, against fauxqs (SQS, behind tests/support/faultproxy.py), the
CloudTrail + Slack stand-ins and the stand-in's dynamodb role in front of
dynalite (every DynamoDB request's SigV4 checked with botocore), all on
127.0.0.1. TAP on stdout. Every process started is stopped; every wait is
bounded."""
import os, signal, subprocess, sys, time

ROOT = os.environ.get("WC_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import e2e  # noqa: E402
import suite  # noqa: E402
from e2e import SECRET, sg, user  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

import botocore.session  # noqa: E402

TABLE = "whochanged-ledger"
VISIBILITY_S = 4
QUEUES = {q: (VISIBILITY_S, 10) for q in ["shared", "denied", "slow"]}
# leftover workers get SIGTERM after each test: they release what they hold
S = suite.Suite("wc-ledger-e2e.", ROOT, worker_stop=signal.SIGTERM, worker_grace=30)
TMP = S.tmp
test = S.test


def until(what, fn, timeout):
    v = e2e.wait_for(fn, timeout)
    if not v:
        raise AssertionError("timed out after %d s waiting for %s" % (timeout, what))
    return v


class Env(e2e.Services):
    def __init__(self, suite_):
        subprocess.run([os.path.join(ROOT, "scripts", "dynalite-install")], check=True,
                       capture_output=True, timeout=600)
        _, dl_port = e2e.start([os.path.join(ROOT, "tests/support/dynalite/start"), "0"],
                               dict(os.environ, DYNALITE_LOG=os.path.join(TMP, "dynalite.log")))
        super().__init__(ROOT, TMP, QUEUES, ["--cloudtrail", "--sts", "--slack", "--slack-rate", "0", "--dynamodb",
                                             "--dynamodb-upstream", "http://127.0.0.1:%d" % dl_port],
                         receive_log=os.path.join(TMP, "receipts.log"))
        # the worker's SQS calls go through the proxy (tests hold deletes)
        self.proxy = FaultProxy(self.fq_port)
        self.px = "http://127.0.0.1:%d" % self.proxy.start()
        # the table, as examples/org-central.yaml makes it (signed by botocore)
        self.ddb = botocore.session.get_session().create_client(
            "dynamodb", region_name="us-east-1", endpoint_url=self.st,
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key=SECRET)
        self.ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
        until("the table", lambda: self.ddb.describe_table(TableName=TABLE)["Table"]["TableStatus"]
              == "ACTIVE", 10)

    def deny(self, actions):
        self.standin.post("/_dynamodb", {"deny": actions})

    def pending_faults(self):
        return self.standin.get("/_faults")

    def item(self, notifier, subject):
        return self.ddb.get_item(TableName=TABLE, ConsistentRead=True,
                                 Key={"pk": {"S": "%s|%s" % (notifier, subject)}}).get("Item")

    def config(self, name, q, table=TABLE, level="info"):
        path = os.path.join(TMP, name + ".yaml")
        state = os.path.join(TMP, "state-" + name)
        os.makedirs(state, exist_ok=True)
        with open(path, "w") as f:
            f.write("""region: us-east-1
queue_url: "%s"
endpoints: {sqs: "%s", cloudtrail: "%s", dynamodb: "%s", sts: "%s"}
correlation: {skew_seconds: 180, retry_initial_seconds: 1, retry_for_seconds: 8, digest_seconds: 0}
state_dir: "%s"
log_level: %s
ledger: {type: dynamodb, table: %s}
notifiers:
  - {type: slack, webhook_url: "%s/services/T0E2E/B0E2E/e2esecret", verdicts: [human]}
""" % (self.queue_url(q), self.px, self.st, self.st, self.st, state, level, table, self.st))
        os.chmod(path, 0o600)
        return path

    def check_online(self, name, q, **kw):
        r = subprocess.run([S.binary, "check-config", "--config", self.config(name, q, **kw), "--online"],
                           env=e2e.worker_env(TMP), capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout

    def run(self, name, q, once=False, wait=False, timeout=60, secret=SECRET, **kw):
        args = ["run", "--config", self.config(name, q, **kw)] + (["--once"] if once else [])
        p = S.worker(args, os.path.join(TMP, "worker-%s.log" % name), secret=secret)
        if not wait:
            return p
        return e2e.finish(p, timeout)[0]


def record(event_id, t, who, group):
    return e2e.record(event_id, "AuthorizeSecurityGroupIngress", t, user(who), {"groupId": group})


def service_record(event_id, t, group):
    """An AWS service's own call (Auto Scaling): a verdict no notifier here wants."""
    r = record(event_id, t, "asg", group)
    r["userIdentity"] = {"type": "AWSService", "invokedBy": "autoscaling.amazonaws.com"}
    r["sourceIPAddress"] = r["userAgent"] = "autoscaling.amazonaws.com"
    return r


def change(group, capture):
    return e2e.change(group, capture)


@test
def two_workers_kill9_between_post_and_delete(e):
    now = time.time()
    groups = [sg(0x100 + i) for i in range(6)]
    e.add_events([record("ev-ledger-%d" % i, now - 20, "user%d" % i, g) for i, g in enumerate(groups)])
    # worker A: its first delete is held (and never forwarded once A is gone)
    e.proxy.configure(scripts={"DeleteMessageBatch": ["delay"]}, delay_s=30)
    a = e.run("a", "shared")
    m1 = e.send("shared", change(groups[0], now - 10))
    until("A's post", lambda: len(e.posts_for(groups[0])) == 1, 30)
    until("A's delete to be held", lambda: e.proxy.counts().get("DeleteMessageBatch", {}).get("delay"), 30)
    # posted, recorded in the table, not deleted: now the crash
    it = e.item("slack#0", "ev-ledger-0/" + groups[0])
    assert it and it["notifier"]["S"] == "slack#0", it
    assert int(it["expires_at"]["N"]) - int(it["recorded_at"]["N"]) == 48 * 3600, it
    a.send_signal(signal.SIGKILL)
    a.wait(timeout=10)
    # worker B, another state directory: gets the message after its
    # visibility timeout, finds the record, deletes it without posting
    b = e.run("b", "shared", level="debug")
    until("B to delete the redelivered message", lambda: e.received(m1)[1] == 1, 40)
    assert e.received(m1)[0] >= 2, e.received(m1)
    assert len(e.posts_for(groups[0])) == 1, "posted again after the crash"
    assert "slack#0 already accepted ev-ledger-0/" + groups[0] in e.worker_log("b"), e.worker_log("b")[-2000:]
    # then both, side by side: every other change posted once, a duplicate too
    a2 = e.run("a2", "shared")
    ids = [e.send("shared", change(g, now - 10)) for g in groups[1:]]
    until("every change posted", lambda: all(e.posts_for(g) for g in groups), 60)
    until("the queue drained", lambda: e.depth("shared") == 0, 30)
    dup = e.send("shared", change(groups[3], now - 10))  # a later copy (SNS at-least-once)
    until("the copy deleted", lambda: e.received(dup)[1] == 1, 30)
    time.sleep(1)
    for g in groups:
        assert len(e.posts_for(g)) == 1, (g, len(e.posts_for(g)))
    for i in ids:
        assert e.received(i)[1] == 1, (i, e.received(i))
    for p in (b, a2):
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0
    st = e.stats()
    assert not st["auth_failures"].get("dynamodb"), st["auth_failures"]
    calls = st["roles"]["dynamodb"]
    assert calls.get("GetItem", 0) >= 7 and calls.get("PutItem", 0) >= 6, calls
    "6 human changes by 2 workers sharing one table, one SIGKILLed between post and delete: each posted exactly once"


@test
def table_missing_is_a_clear_error(e):
    rc = e.run("missing", "denied", once=True, wait=True, table="no-such-table")
    err = e.worker_log("missing")
    assert rc == 1, (rc, err[-1500:])
    assert "ledger: DynamoDB table no-such-table does not exist in us-east-1" in err, err[-1500:]


@test
def check_config_online_probes_the_table(e):
    rc, out = e.check_online("cc-ok", "denied")
    assert rc == 0, out
    assert "ledger       ok (DynamoDB table %s in us-east-1: GetItem, PutItem)" % TABLE in out, out
    rc, out = e.check_online("cc-missing", "denied", table="no-such-table")
    assert rc == 1, out
    assert "ledger       FAILED: ledger: DynamoDB table no-such-table does not exist in us-east-1" in out, out


@test
def access_denied_is_a_clear_error(e):
    try:
        e.deny(["PutItem"])
        rc = e.run("deny-put", "denied", once=True, wait=True)
        err = e.worker_log("deny-put")
        assert rc == 1, (rc, err[-1500:])
        assert "not authorized to dynamodb:PutItem" in err and TABLE in err, err[-1500:]
        e.deny(["GetItem", "PutItem"])
        rc = e.run("deny-get", "denied", once=True, wait=True)
        err = e.worker_log("deny-get")
        assert rc == 1, (rc, err[-1500:])
        assert "not authorized to dynamodb:GetItem" in err, err[-1500:]
    finally:
        e.deny([])


@test
def wrong_secret_refused_by_the_signature_check(e):
    before = e.stats()["auth_failures"].get("dynamodb", {}).get("signature", 0)
    rc = e.run("badsig", "denied", once=True, wait=True, secret="not-the-secret-key-at-all")
    err = e.worker_log("badsig")
    assert rc == 1, (rc, err[-1500:])
    assert "credentials refused by dynamodb (InvalidSignatureException" in err, err[-1500:]
    assert e.stats()["auth_failures"]["dynamodb"]["signature"] > before


@test
def put_denied_at_run_time_is_a_ledger_failure(e):
    # the table cannot be written: the post goes out, the record fails, the
    # message stays (receiving pauses); once writable, it is recorded and
    # deleted without a second post
    now = time.time()
    g = sg(0x200)
    e.add_events([record("ev-ledger-deny", now - 20, "ivan", g)])
    p = e.run("runtime", "denied")
    until("the worker to start", lambda: "ledger: DynamoDB table" in e.worker_log("runtime"), 20)
    try:
        e.deny(["PutItem"])
        mid = e.send("denied", change(g, now - 10))
        until("the post", lambda: e.posts_for(g), 30)
        until("the failed record", lambda: "cannot record delivery to slack#0" in e.worker_log("runtime"), 20)
        assert e.received(mid)[1] == 0, "deleted although not recorded"
    finally:
        e.deny([])
    until("the message recorded and deleted", lambda: e.received(mid)[1] == 1, 90)
    assert len(e.posts_for(g)) == 1, "posted again"
    assert e.item("slack#0", "ev-ledger-deny/" + g), "not recorded"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0
    # each refused PutItem logged once, by the AWS layer, naming the table
    log = e.worker_log("runtime")
    denied = [line for line in log.splitlines() if "AccessDenied" in line]
    assert denied and all("not authorized to dynamodb:PutItem on table %s (AccessDeniedException"
                          % TABLE in line for line in denied), "\n".join(denied[:6])


@test
def failing_ledger_holds_no_other_message_up(e):
    # DynamoDB hangs (every attempt of one GetItem times out: ~10 s with the
    # retries). The ledger is asked by an I/O thread, so a change that needs
    # no ledger, received meanwhile, is decided and deleted while the
    # GetItem still hangs; the first change is posted nothing on a guess,
    # kept, and posted once DynamoDB answers again
    now = time.time()
    gx, gy = sg(0x300), sg(0x301)
    e.add_events([record("ev-slow-x", now - 20, "judy", gx), service_record("ev-slow-y", now - 20, gy)])
    p = e.run("slow", "slow")
    until("the worker to start", lambda: "ledger: DynamoDB table" in e.worker_log("slow"), 20)
    try:
        e.faults({"dynamodb": "hang:6*3"})
        mx = e.send("slow", change(gx, now - 10))
        until("X's GetItem to hang", lambda: len(e.pending_faults().get("dynamodb", [])) < 3, 30)
        t0 = time.time()
        my = e.send("slow", change(gy, now - 10))
        until("Y deleted", lambda: e.received(my)[1] == 1, 30)
        took = time.time() - t0
        assert "GetItem on %s failed" % TABLE not in e.worker_log("slow"), \
            "Y waited for X's GetItem (%.1f s)" % took
        assert not e.posts_for(gx) and e.received(mx)[1] == 0, "X went on before Y was done"
        assert not e.posts_for(gy), "Y (an AWS service) posted"
        until("X's GetItem to fail", lambda: "GetItem on %s failed" % TABLE in e.worker_log("slow"), 30)
    finally:
        e.faults({"clear": True})
    assert not e.posts_for(gx), "posted on a guess"
    until("X posted and deleted", lambda: e.received(mx)[1] == 1, 90)
    assert len(e.posts_for(gx)) == 1, "posted again"
    assert e.item("slack#0", "ev-slow-x/" + gx), "not recorded"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=30) == 0
    e2e.log("Y deleted %.1f s after it was sent, while X's GetItem hung" % took)


if __name__ == "__main__":
    S.main(Env)

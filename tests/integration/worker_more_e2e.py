#!/usr/bin/python3
"""More end-to-end tests of `whochanged run`: the real binary against the
fauxqs SQS emulator and the CloudTrail + STS + S3 + Slack stand-ins (SigV4
verified), all on 127.0.0.1. TAP on stdout. Every process started is stopped
(even on failure); every wait is bounded.

Covered: --dry-run, SIGHUP (logrotate reopen, trusted-list reload),
notify_unattributed, oversized notifications fetched from S3, queue_name,
bad configuration, competing consumers, cross-account role assumption,
JSON logs without secrets, SIGTERM while lookups wait on the token bucket."""
import gzip, json, os, re, signal, subprocess, sys, time, uuid

ROOT = os.environ.get("WC_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import e2e  # noqa: E402
import suite  # noqa: E402
from e2e import ACCOUNT, SECRET, finish, http, iso, log, record, sg, user, wait_for  # noqa: E402

DATA = os.path.join(ROOT, "tests", "data", "worker")
OTHER_ACCOUNT = "210987654321"
WEBHOOK_SECRET = "e2eMoreSecret"
BUCKET = "config-bucket-123456789012"
# queue -> VisibilityTimeout
QUEUES = {"dry": "5", "hup": "30", "unattr": "30", "oversized": "30", "missing": "120", "named": "30",
          "multi": "30", "xacct": "30", "jsonlog": "30", "rate": "30", "bucket": "120",
          "subconf": "30"}
S = suite.Suite("wc-worker-more-e2e.", ROOT)
TMP = S.tmp
test = S.test


class Env(e2e.Services):
    def __init__(self, suite_):
        self.s3_dir = os.path.join(TMP, "s3")
        os.makedirs(os.path.join(self.s3_dir, BUCKET))
        super().__init__(ROOT, TMP, {q: (vt, "10") for q, vt in QUEUES.items()},
                         ["--cloudtrail", "--slack", "--sts", "--s3", "--ct-rate", "2", "--s3-dir", self.s3_dir])
        self.fast = None

    def fast_standin(self):
        """A second CloudTrail + Slack stand-in with a high LookupEvents rate and
        no Slack rate limit, for tests about something else than CloudTrail's
        2/s and Slack's 1 post/s (several workers, the worker's own bucket):
        their 429s would muddle the counts."""
        if not self.fast:
            self.fast = e2e.Standin(ROOT, os.path.join(TMP, "fast"), ["--cloudtrail", "--slack", "--ct-rate", "50",
                                                                      "--slack-rate", "0"],
                                    log=os.path.join(TMP, "standin-fast.log"))
        return self.fast

    # the main stand-in, or st (the fast one)
    def add_events(self, records, st=None):
        (st or self.standin).add_events(records)

    def posts(self, st=None):
        return (st or self.standin).posts()

    def posts_for(self, resource_id, st=None):
        return (st or self.standin).posts_for(resource_id)

    def state(self, name):
        state = os.path.join(TMP, "state-" + name)
        os.makedirs(state, exist_ok=True)
        return state

    def config(self, name, q=None, extra="", in_flight=8, trusted=None, queue_line=None, retry_for=8, st=None):
        """Write the config file for run `name` (on queue q, default name)."""
        q = q or name
        st = (st or self.standin).url
        path = os.path.join(TMP, name + ".yaml")
        state = self.state(name)
        trusted = trusted if trusted is not None else ["arn:aws:iam::*:role/terraform-*"]
        if queue_line is None:
            queue_line = 'queue_url: "%s"' % self.queue_url(q)
        with open(path, "w") as f:
            f.write("""region: us-east-1
%s
endpoints: {sqs: "%s", cloudtrail: "%s", sts: "%s", s3: "%s"}
trusted: %s
correlation: {skew_seconds: 180, retry_initial_seconds: 1, retry_for_seconds: %d}
max_in_flight: %d
state_dir: "%s"
notifiers:
  - {type: slack, webhook_url: "%s/services/T0MORE/B0MORE/%s", verdicts: [human]}
  - {type: jsonl, path: "%s/findings.jsonl"}
%s
""" % (queue_line, self.fq, st, self.st, self.st, json.dumps(trusted), retry_for, in_flight, state,
                st, WEBHOOK_SECRET, state, extra))
        return path

    def start_worker(self, name, config, once=True, extra_args=()):
        args = ["run", "--config", config] + (["--once"] if once else []) + list(extra_args)
        return S.worker(args, os.path.join(TMP, "worker-%s.log" % name), stdout=subprocess.PIPE)

    def run(self, name, q=None, once=True, extra_args=(), timeout=90, **kw):
        p = self.start_worker(name, self.config(name, q, **kw), once, extra_args)
        return finish(p, timeout)


def role_session(role, session, account=ACCOUNT):
    return {"type": "AssumedRole", "principalId": "AROA" + role.upper().replace("-", "") + ":" + session,
            "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (account, role, session), "accountId": account,
            "accessKeyId": "ASIA" + session.upper(),
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::%s:role/%s" % (account, role),
                                                 "userName": role, "accountId": account}}}


def item(sg, capture, account=ACCOUNT):
    return e2e.config_item(sg, capture, account, configuration={
        "groupId": sg, "groupName": "web", "ipPermissions": [{"fromPort": 22, "toPort": 22}]})


def full_notification(sg, capture, account=ACCOUNT):
    return e2e.notification(item(sg, capture, account), capture)


def change(sg, capture, account=ACCOUNT):
    return e2e.sns(full_notification(sg, capture, account), capture, account)


def oversized(sg, capture, location):
    ci = item(sg, capture)
    summary = {k: ci[k] for k in ("configurationItemCaptureTime", "awsAccountId", "configurationItemStatus",
                                  "resourceType", "resourceId", "resourceName", "ARN", "awsRegion",
                                  "configurationItemVersion")}
    summary["changeType"] = "UPDATE"
    return e2e.sns({"configurationItemSummary": summary,
                    "s3DeliverySummary": {"s3BucketLocation": location, "errorCode": None, "errorMessage": None},
                    "notificationCreationTime": iso(capture),
                    "messageType": "OversizedConfigurationItemChangeNotification", "recordVersion": "1.0"},
                   capture)


def jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f.read().splitlines() if l.strip()]


# --- 1 ---------------------------------------------------------------------
@test
def dry_run_prints_payload_sends_and_deletes_nothing(e):
    now = time.time()
    e.add_events([record("ev-dry-1", "AuthorizeSecurityGroupIngress", now - 20, user("dora"), {"groupId": sg(0x100)})])
    e.send("dry", change(sg(0x100), now - 10))
    rc, out = e.run("dry", extra_args=["--dry-run"], timeout=60)
    assert rc == 0, rc
    # each notifier's payload on stdout: the Slack JSON (with the change) and the JSON line
    blocks = re.split(r"^--- (\S+) would send \(message [^)]*\):\n", out, flags=re.M)
    shown = dict(zip(blocks[1::2], blocks[2::2]))
    assert set(shown) == {"slack#0", "jsonl#1"}, out[-2000:]
    slack = json.loads(shown["slack#0"])
    assert sg(0x100) in json.dumps(slack) and "dora" in json.dumps(slack), slack
    assert "blocks" in slack or "text" in slack, slack
    assert WEBHOOK_SECRET not in out
    assert json.loads(shown["jsonl#1"].strip())["verdict"] == "human", shown["jsonl#1"]
    assert e.posts_for(sg(0x100)) == [], "dry run posted to Slack"
    # (the jsonl notifier opens, so creates, its file at start-up; nothing may be written to it)
    assert jsonl(os.path.join(TMP, "state-dry", "findings.jsonl")) == [], "dry run wrote a JSON line"
    # not deleted, and not hidden either: visible again at once for the real
    # worker (released when looked at), well before the queue's 5 s timeout
    assert e.counts("dry") == (1, 0), e.counts("dry")
    got = e.receive("dry", 1)
    assert len(got) == 1 and sg(0x100) in got[0]["Body"], ("message deleted or hidden", got)
    assert e.depth("dry") == 1, e.counts("dry")


# --- 2 ---------------------------------------------------------------------
def outcome_lines(e, name, resource):
    return [l for l in e.worker_log(name).splitlines() if "verdict=" in l and resource in l]


@test
def sighup_reopens_jsonl_and_reloads_trusted(e):
    # BUG FINDING if this fails at "reload not applied": SIGHUP is only acted on
    # at the top of the main loop, after the 20 s ReceiveMessage long poll returns
    now = time.time()
    ops = role_session("ops-admin", "oscar")
    e.add_events([record("ev-hup-1", "AuthorizeSecurityGroupIngress", now - 20, ops, {"groupId": sg(0x200)}),
                  record("ev-hup-2", "AuthorizeSecurityGroupIngress", now - 20, ops, {"groupId": sg(0x201)})])
    cfg = e.config("hup")
    p = e.start_worker("hup", cfg, once=False)
    path = os.path.join(TMP, "state-hup", "findings.jsonl")
    e.send("hup", change(sg(0x200), now - 10))
    assert wait_for(lambda: outcome_lines(e, "hup", sg(0x200)), 20), "first change not processed"
    assert [r["verdict"] for r in jsonl(path)] == ["human"], jsonl(path)
    assert len(e.posts_for(sg(0x200))) == 1
    # logrotate: rename, then SIGHUP; and the trusted list now names ops-admin
    os.rename(path, path + ".1")
    e.config("hup", trusted=["arn:aws:iam::*:role/terraform-*", "arn:aws:iam::*:role/ops-admin"])
    t_hup = time.time()
    p.send_signal(signal.SIGHUP)
    reloaded = wait_for(lambda: "SIGHUP" in e.worker_log("hup"), 5)
    t_reload = time.time() - t_hup
    e.send("hup", change(sg(0x201), now - 10))
    assert wait_for(lambda: outcome_lines(e, "hup", sg(0x201)), 30), "second change not processed"
    alive = p.poll() is None
    p.send_signal(signal.SIGTERM)
    rc = finish(p, 40)[0]
    assert alive, "the worker exited on SIGHUP"
    assert rc == 0, rc
    assert e.worker_log("hup").count("whochanged run: queue") == 1, "the worker restarted"
    assert [r["verdict"] for r in jsonl(path + ".1")] == ["human"], ("line written to the rotated file",
                                                                       jsonl(path + ".1"))
    new = jsonl(path)
    assert len(new) == 1 and new[0]["change"]["resource_id"] == sg(0x201), new
    assert new[0]["verdict"] == "automation", ("trusted list not reloaded", new[0]["verdict"])
    assert e.posts_for(sg(0x201)) == [], "automation posted"
    assert reloaded, ("BUG: SIGHUP not acted on within %.1f s with the queue idle: s_loop() only checks "
                      "g_reload before each ReceiveMessage, and the 20 s long poll is not interrupted; "
                      "the next message received races the reload" % t_reload)


# --- 3 ---------------------------------------------------------------------
@test
def notify_unattributed_posts_unattributed_header(e):
    now = time.time()
    e.send("unattr", change(sg(0x300), now - 1))
    t0 = time.time()
    rc, _ = e.run("unattr", retry_for=3, extra="notify_unattributed: true", timeout=60)
    assert rc == 0, rc
    assert "retry in" in e.worker_log("unattr"), "no retry before giving up"
    assert time.time() - t0 >= 1.0
    posts = e.posts_for(sg(0x300))
    assert len(posts) == 1, posts
    text = json.dumps(posts[0]["payload"])
    assert "Unattributed change" in text, text[:1500]
    verdicts = [r["verdict"] for r in jsonl(os.path.join(TMP, "state-unattr", "findings.jsonl"))]
    assert verdicts == ["unattributed"], verdicts
    assert e.depth("unattr") == 0


# --- 4 ---------------------------------------------------------------------
def s3_key(sgid, capture):
    return ("AWSLogs/%s/Config/us-east-1/%s/OversizedChangeNotification/AWS::EC2::SecurityGroup/%s/"
            "%s_Config_us-east-1_ChangeNotification_AWS::EC2::SecurityGroup_%s_%s_0.json.gz"
            % (ACCOUNT, time.strftime("%Y/%-m/%-d", time.gmtime(capture)), sgid, ACCOUNT, sgid,
               time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(capture))))


@test
def oversized_fetched_from_s3_and_posted(e):
    now = time.time()
    ident = user("olga")
    e.add_events([record("ev-over-1", "AuthorizeSecurityGroupIngress", now - 20, ident, {"groupId": sg(0x400)})])
    key = s3_key(sg(0x400), now - 10)
    obj = os.path.join(e.s3_dir, BUCKET, key)
    os.makedirs(os.path.dirname(obj), exist_ok=True)
    with open(obj, "wb") as f:
        f.write(gzip.compress(json.dumps(full_notification(sg(0x400), now - 10)).encode()))
    e.send("oversized", oversized(sg(0x400), now - 10, BUCKET + "/" + key))
    rc, _ = e.run("oversized", timeout=60)
    assert rc == 0, rc
    posts = e.posts_for(sg(0x400))
    assert len(posts) == 1, posts
    assert "olga" in json.dumps(posts[0]["payload"])
    # the change's diff came from the S3 object, not the summary
    rec = jsonl(os.path.join(TMP, "state-oversized", "findings.jsonl"))
    assert [r["verdict"] for r in rec] == ["human"], rec
    assert rec[0]["change"]["changed_properties"], rec[0]["change"]
    s3 = [r for r in e.requests() if r.get("role") == "s3" and sg(0x400) in r.get("path", "")]
    assert s3 and all(r["status"] == 200 for r in s3), s3
    assert e.depth("oversized") == 0


@test
def oversized_missing_object_retried_not_deleted(e):
    now = time.time()
    e.add_events([record("ev-miss-1", "AuthorizeSecurityGroupIngress", now - 20, user("mike"), {"groupId": sg(0x401)})])
    key = s3_key(sg(0x401), now - 10)
    e.send("missing", oversized(sg(0x401), now - 10, BUCKET + "/" + key))
    rc, _ = e.run("missing", timeout=60)
    assert rc == 0, rc  # no crash
    assert e.posts_for(sg(0x401)) == []
    s3 = [r for r in e.requests() if r.get("role") == "s3" and sg(0x401) in r.get("path", "")]
    assert s3 and all(r["status"] == 404 for r in s3), s3
    assert "oversized item" in e.worker_log("missing"), e.worker_log("missing")[-1500:]
    # not deleted, not left visible at once: released for a later retry
    assert e.counts("missing") == (0, 1), e.counts("missing")
    # the object shows up; the message comes back (released for 30 s, sooner
    # than the queue's 120 s visibility timeout) and is then attributed
    obj = os.path.join(e.s3_dir, BUCKET, key)
    os.makedirs(os.path.dirname(obj), exist_ok=True)
    with open(obj, "wb") as f:
        f.write(gzip.compress(json.dumps(full_notification(sg(0x401), now - 10)).encode()))
    back = wait_for(lambda: e.receive("missing", 5), 50, 0)
    assert back and sg(0x401) in back[0]["Body"], "the message did not come back within 50 s"
    rc, _ = e.run("missing", timeout=60)
    assert rc == 0, rc
    assert len(e.posts_for(sg(0x401))) == 1, e.posts_for(sg(0x401))
    assert e.depth("missing") == 0


@test
def sns_subscription_confirmation_left_for_the_operator(e):
    """What a new (cross-account) subscription first delivers: warned about
    with its SubscribeURL and topic, left on the queue, the URL never
    fetched (issue 9, item 7)."""
    url = ("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:"
           "eu-west-1:%s:config-topic&Token=2336412f37EXAMPLE" % ACCOUNT)
    e.send("subconf", json.dumps({
        "Type": "SubscriptionConfirmation", "MessageId": str(uuid.uuid4()), "Token": "2336412f37EXAMPLE",
        "TopicArn": "arn:aws:sns:eu-west-1:%s:config-topic" % ACCOUNT,
        "Message": "You have chosen to subscribe to the topic.", "SubscribeURL": url,
        "Timestamp": iso(time.time()), "SignatureVersion": "1", "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.example/cert.pem"}))
    rc, _ = e.run("subconf", timeout=60)
    assert rc == 0, rc
    wlog = e.worker_log("subconf")
    assert re.search(r" warn .*SNS SubscriptionConfirmation for topic arn:aws:sns:eu-west-1:%s:config-topic"
                     % ACCOUNT, wlog), wlog[-1500:]
    assert "SubscribeURL: " + url in wlog, wlog[-1500:]
    # not deleted: still in the queue (in flight until its lease ends)
    assert e.depth("subconf") == 1, e.counts("subconf")
    assert not [r for r in e.requests() if "ConfirmSubscription" in r.get("path", "")]


# --- 5 ---------------------------------------------------------------------
@test
def queue_name_resolved_and_unknown_name_fails(e):
    now = time.time()
    e.add_events([record("ev-named-1", "AuthorizeSecurityGroupIngress", now - 20, user("nina"), {"groupId": sg(0x500)})])
    e.send("named", change(sg(0x500), now - 10))
    rc, _ = e.run("named", queue_line="queue_name: named", timeout=60)
    assert rc == 0, rc
    assert len(e.posts_for(sg(0x500))) == 1
    assert e.depth("named") == 0
    p = e.start_worker("named-bad", e.config("named-bad", queue_line="queue_name: no-such-queue-xyz"))
    rc, _ = finish(p, 30)
    log_ = e.worker_log("named-bad")
    assert rc != 0, rc
    assert "no-such-queue-xyz" in log_, log_


# --- 6 ---------------------------------------------------------------------
@test
def bad_config_exit_2_with_location(e):
    bad = os.path.join(DATA, "bad-config.yaml")
    p = e.start_worker("badcfg", bad)
    rc, _ = finish(p, 20)
    err = e.worker_log("badcfg")
    assert rc == 2, (rc, err)
    locs = re.findall(r"^(\S*bad-config\.yaml):(\d+):(\d+): (.+)$", err, flags=re.M)
    lines = sorted(int(l[1]) for l in locs)
    # max_in_flight out of range (line 3), unknown key (line 4), wrong type (line 5)
    assert lines == [3, 4, 5], err
    noq = os.path.join(DATA, "no-queue.yaml")
    p = e.start_worker("noqueue", noq)
    rc, _ = finish(p, 20)
    err = e.worker_log("noqueue")
    assert rc == 2, (rc, err)
    assert "queue_url" in err and "queue_name" in err, err


# --- 7 ---------------------------------------------------------------------
@test
def competing_consumers_post_each_change_once(e):
    # CloudTrail's rate is not the subject here: a stand-in allowing 50/s
    fast = e.fast_standin()
    now = time.time()
    n = 30
    e.add_events([record("ev-multi-%d" % i, "AuthorizeSecurityGroupIngress", now - 30, user("pat%d" % i),
                         {"groupId": sg(0x700 + i)}) for i in range(n)], fast)
    for i in range(n):
        e.send("multi", change(sg(0x700 + i), now - 20))
    a = e.start_worker("multi-a", e.config("multi-a", "multi", in_flight=4, st=fast), once=False)
    b = e.start_worker("multi-b", e.config("multi-b", "multi", in_flight=4, st=fast), once=False)
    total = lambda: sum(len(e.posts_for(sg(0x700 + i), fast)) for i in range(n))
    wait_for(lambda: total() >= n and e.depth("multi") == 0, 90, 0.5)
    time.sleep(1)
    for p in (a, b):
        p.send_signal(signal.SIGTERM)
    rcs = [finish(p, 40)[0] for p in (a, b)]
    counts = [len(e.posts_for(sg(0x700 + i), fast)) for i in range(n)]
    dup = [sg(0x700 + i) for i, c in enumerate(counts) if c > 1]
    assert not dup, "posted more than once: %s" % dup
    assert counts == [1] * n, counts
    assert rcs == [0, 0], rcs
    assert e.depth("multi") == 0
    done = [len(jsonl(os.path.join(TMP, "state-multi-" + w, "findings.jsonl"))) for w in "ab"]
    assert sum(done) == n and min(done) > 0, ("both workers should have taken a share", done)


# --- 8 ---------------------------------------------------------------------
@test
def cross_account_role_assumed(e):
    now = time.time()
    r = record("ev-xacct-1", "AuthorizeSecurityGroupIngress", now - 20, user("quinn", OTHER_ACCOUNT),
               {"groupId": sg(0x800)}, account=OTHER_ACCOUNT)
    r["_account"] = OTHER_ACCOUNT
    e.add_events([r])
    e.send("xacct", change(sg(0x800), now - 10, account=OTHER_ACCOUNT))
    rc, _ = e.run("xacct", extra='accounts: {role_arn: "arn:aws:iam::{account_id}:role/whochanged-reader", '
                                 'session_name: whochanged-e2e}', timeout=60)
    assert rc == 0, rc
    posts = e.posts_for(sg(0x800))
    assert len(posts) == 1, (posts, e.worker_log("xacct")[-1500:])
    assert "quinn" in json.dumps(posts[0]["payload"])
    reqs = e.requests()
    sts = [x for x in reqs if x.get("role") == "sts" and x.get("status") == 200]
    assert sts, "no AssumeRole call"
    ct = [x for x in reqs if x.get("role") == "cloudtrail" and sg(0x800) in json.dumps(x.get("body") or x)]
    assert ct and all(x.get("account") == OTHER_ACCOUNT for x in ct), ct
    assert all(str(x.get("akid", "")).startswith("ASIA") for x in ct), ct
    assert e.depth("xacct") == 0


# --- 9 ---------------------------------------------------------------------
@test
def json_log_parses_and_hides_secrets(e):
    now = time.time()
    e.add_events([record("ev-jl-1", "AuthorizeSecurityGroupIngress", now - 20, user("rita"), {"groupId": sg(0x900)})])
    e.send("jsonlog", change(sg(0x900), now - 10))
    e.faults({"slack": "500"})  # an error path that names the notifier
    rc, _ = e.run("jsonlog", extra_args=["--log-format", "json", "--log-level", "trace"], timeout=60)
    assert rc == 0, rc
    assert len(e.posts_for(sg(0x900))) == 1
    text = e.worker_log("jsonlog")
    lines = text.splitlines()
    assert len(lines) >= 3, text
    objs = []
    for l in lines:
        try:
            o = json.loads(l)
        except ValueError:
            raise AssertionError("not JSON: %r" % l[:300])
        assert isinstance(o, dict) and all(k in o for k in ("ts", "level", "msg")), l[:300]
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", o["ts"]), o["ts"]
        objs.append(o)
    outcome = [o for o in objs if "verdict=human" in o["msg"] and sg(0x900) in o["msg"]]
    assert outcome and all(o.get("msg_id") for o in outcome), outcome
    for secret in (WEBHOOK_SECRET, "T0MORE/B0MORE", SECRET, SECRET[:16]):
        assert secret not in text, "secret %r in the log" % secret


# --- 11 --------------------------------------------------------------------
@test
def default_rate_never_throttled(e):
    # README: "a token bucket per account-region ... so it never causes
    # throttling". 40 changes for one account-region, the default 2 lookups/s,
    # CloudTrail (the stand-in) at its real 2/s: not one ThrottlingException.
    # BUG FINDING when it fails: calls spaced 0.5 s apart by the bucket reach
    # the server with jitter, so 3 land within some 1 s window.
    now = time.time()
    n = 40
    e.add_events([record("ev-rate-%d" % i, "AuthorizeSecurityGroupIngress", now - 30, user("tess"),
                         {"groupId": sg(0xb00 + i)}) for i in range(n)])
    for i in range(n):
        e.send("rate", change(sg(0xb00 + i), now - 20))
    key = "%s/us-east-1" % ACCOUNT
    stats = lambda: json.loads(http("GET", e.st + "/_stats")[1])["by_account_region"].get(key, {})
    before = stats()
    rc, _ = e.run("rate", in_flight=n, timeout=90)
    after = stats()
    throttled = after.get("throttled", 0) - before.get("throttled", 0)
    calls = after.get("calls", 0) - before.get("calls", 0)
    log("%d LookupEvents calls, %d throttled, max %s per second" % (calls, throttled, after.get("max_per_second")))
    ct = [r for r in e.requests() if r.get("role") == "cloudtrail" and
          any(sg(0xb00 + i) in json.dumps(r.get("request")) for i in range(n))]
    trace = []
    for k, r in enumerate(ct[:40]):
        gap = r["time"] - ct[k - 1]["time"] if k else 0.0
        trace.append("%+.3f %s %s" % (gap, r["status"], (r.get("request") or {}).get("LookupAttributes")))
    log("first calls (gap to previous, status, attribute):\n" + "\n".join(trace))
    assert rc == 0, rc
    # one scan of the window answers many of the 40 (the scheduler): far
    # fewer calls than changes, and none throttled
    assert 1 <= calls < n, calls
    assert throttled == 0, "BUG: %d of %d LookupEvents calls throttled at the default rate" % (throttled, calls)
    assert sum(len(e.posts_for(sg(0xb00 + i))) for i in range(n)) == n


# --- 10 --------------------------------------------------------------------
@test
def sigterm_while_waiting_on_token_bucket(e):
    # 50 changes for one account-region at 1 lookup/s: 50 s of token-bucket
    # waits. On the fast stand-in, so that neither CloudTrail's throttling
    # nor Slack's 429s (the worker puts those off by Retry-After) muddle the
    # counts.
    # SIGTERM must end the worker within 35 s; whatever it had received and
    # not finished must be released (visible at once, not after 120 s).
    # BUG FINDING when it fails at "SIGTERM took": token-bucket waits (and the
    # lookups behind them) are not cut short by SIGTERM.
    fast = e.fast_standin()
    now = time.time()
    n = 50
    e.add_events([record("ev-tb-%d" % i, "AuthorizeSecurityGroupIngress", now - 30, user("sam"),
                         {"groupId": sg(0xa00 + i)}) for i in range(n)], fast)
    for i in range(n):
        e.send("bucket", change(sg(0xa00 + i), now - 20))
    p = e.start_worker("bucket", e.config("bucket", in_flight=n, extra="cloudtrail: {lookups_per_second: 1}",
                                             st=fast),
                       once=False)
    # wait until it holds (nearly) everything and has started looking up
    wait_for(lambda: e.counts("bucket")[0] == 0 and
             sum(len(e.posts_for(sg(0xa00 + i), fast)) for i in range(n)) >= 2, 30, 0.2)
    held = e.counts("bucket")
    t0 = time.time()
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.time() - t0
    after = e.counts("bucket")
    posted = [len(e.posts_for(sg(0xa00 + i), fast)) for i in range(n)]
    log("held %s before SIGTERM; exit %s after %.1f s; after exit %s; %d posted"
        % (held, rc, took, after, sum(posted)))
    assert held[1] > 0, ("the worker held nothing", held)
    assert rc == 0, rc
    assert took <= 35, "BUG: SIGTERM took %.1f s (lookups waiting on the token bucket were not abandoned)" % took
    assert after[1] == 0, ("received but unfinished messages not released", after)
    assert max(posted) <= 1, "posted twice"
    assert after[0] + sum(posted) == n, (after, sum(posted))


if __name__ == "__main__":
    S.main(Env)

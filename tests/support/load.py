"""The load scenarios of issue 7 ("whochanged under load"), shared by the
bench (scripts/bench_load.py, `make bench`) and the end-to-end test
(tests/integration/load_e2e.py): workloads, one run of `whochanged run`
(one or several worker processes on one queue) against the fauxqs SQS
emulator and the stand-ins, and what was measured. Every server is on
127.0.0.1 and is stopped by its pid; every wait is bounded.

A run ("row") gives, from outside the worker only (so the same harness
measures today's worker and the new one):
  - LookupEvents calls and ThrottlingExceptions (the stand-in's /_stats and
    request log: time, status, error type of each call);
  - how often each message was received, when it was deleted (fauxqs with
    FAUXQS_RECEIVE_LOG, tests/support/fauxqs/receipts.mjs);
  - the verdict of every change (the JSON lines notifier, all verdicts);
  - Slack posts, which changes each names, and 429s (the Slack stand-in,
    --slack-rate);
  - the worker's peak RSS (VmHWM) and RSS over time, CPU time (/proc).
"""
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
import uuid

from e2e import ACCOUNT, PROCS, SECRET, free_port, http, iso, sqs_call, start, start_fauxqs, stop_pid, worker_env

ALL_VERDICTS = "[human, automation, aws_service, unattributed, ignored]"
WEBHOOK_PATH = "/services/T0LOAD/B0LOAD/loadsecret"
READER_ROLE = "arn:aws:iam::{account_id}:role/whochanged-reader"


# --- identities and records ---------------------------------------------------

def user(name, account=ACCOUNT, key=None):
    """An IAM user; key: its access key id (one actor session per key)."""
    return {"type": "IAMUser", "principalId": "AIDA" + name.upper(),
            "arn": "arn:aws:iam::%s:user/%s" % (account, name), "accountId": account,
            "accessKeyId": key or ("AKIA" + name.upper() + "0001")[:20], "userName": name}


def terraform(account=ACCOUNT):
    return {"type": "AssumedRole", "principalId": "AROATERRAFORM:s1",
            "arn": "arn:aws:sts::%s:assumed-role/terraform-deployer/s1" % account,
            "accountId": account, "accessKeyId": "ASIATERRAFORM0001",
            "sessionContext": {"sessionIssuer": {
                "type": "Role", "arn": "arn:aws:iam::%s:role/terraform-deployer" % account,
                "accountId": account, "userName": "terraform-deployer"}}}


AUTOSCALING = {"type": "AWSService", "invokedBy": "autoscaling.amazonaws.com"}
TRUSTED = '["arn:aws:iam::*:role/terraform-*"]'
UA = {"human": "aws-cli/2.15.30 Python/3.11.6", "automation": "APN/1.0 HashiCorp/1.0 Terraform/1.7.5",
      "aws_service": "autoscaling.amazonaws.com"}


def sg_id(n):
    return "sg-%017x" % n


def record(resource, region, account, t, identity, ua, name="AuthorizeSecurityGroupIngress",
           read_only=False, error=None, resources=None, event_id=None):
    """A CloudTrail record naming security group `resource` (groupId)."""
    r = {"eventVersion": "1.10", "userIdentity": identity, "eventTime": iso(t),
         "eventSource": "ec2.amazonaws.com", "eventName": name, "awsRegion": region,
         "sourceIPAddress": "203.0.113.10", "userAgent": ua,
         "requestParameters": {"groupId": resource},
         "responseElements": None if read_only else {"requestId": str(uuid.uuid4()), "_return": True},
         "eventID": event_id or str(uuid.uuid4()), "readOnly": read_only, "eventType": "AwsApiCall",
         "managementEvent": True, "recipientAccountId": account}
    if error:
        r["errorCode"] = error
        r["errorMessage"] = "You are not authorized to perform this operation."
        r["responseElements"] = None
    if resources is not None:
        r["_resources"] = resources
    return r


def stream_body(rec):
    """Record rec as the events queue gets it: EventBridge's "AWS API Call
    via CloudTrail" (the harness's private keys, "_...", left out)."""
    detail = {k: v for k, v in rec.items() if not k.startswith("_")}
    return json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
                       "source": "aws." + detail["eventSource"].split(".")[0], "account": detail["recipientAccountId"],
                       "time": detail["eventTime"], "region": detail["awsRegion"], "resources": [],
                       "detail": detail})


def change_body(resource, region, account, capture):
    """The SNS envelope of an AWS Config change to security group `resource`."""
    item = {"configurationItemDiff": {"changeType": "UPDATE", "changedProperties": {
        "Configuration.IpPermissions.0": {"previousValue": None, "changeType": "CREATE",
                                          "updatedValue": {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                                                           "ipRanges": [{"cidrIp": "0.0.0.0/0"}]}}}},
            "configurationItem": {"relatedEvents": [], "configurationItemCaptureTime": iso(capture),
                                  "awsAccountId": account, "configurationItemStatus": "OK",
                                  "resourceType": "AWS::EC2::SecurityGroup", "resourceId": resource,
                                  "resourceName": None,
                                  "ARN": "arn:aws:ec2:%s:%s:security-group/%s" % (region, account, resource),
                                  "awsRegion": region, "tags": {"team": "payments"},
                                  "configuration": {"groupId": resource, "groupName": "load",
                                                    "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22,
                                                                       "toPort": 22}]}},
            "notificationCreationTime": iso(capture), "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.3"}
    return json.dumps({"Type": "Notification", "MessageId": str(uuid.uuid4()),
                       "TopicArn": "arn:aws:sns:%s:%s:config" % (region, account), "Message": json.dumps(item),
                       "Timestamp": iso(capture), "SignatureVersion": "1", "Signature": "EXAMPLE"})


# --- workloads -----------------------------------------------------------------

class Change:
    """One Config change. capture_rel: seconds relative to the plan's t0 (the
    time the feed starts); send_rel: when it is sent, relative to t0 (burst
    and pre feeds send everything at once)."""

    def __init__(self, rid, account, region, capture_rel, kind, identity, tag="", send_rel=0.0):
        self.rid, self.account, self.region = rid, account, region
        self.capture_rel, self.kind, self.identity = capture_rel, kind, identity
        self.tag, self.send_rel = tag, send_rel
        self.msg_id = None
        self.sent_at = None


class Plan:
    """A workload: changes, and CloudTrail records with times relative to t0
    (each change's own event, plus decoys). feed: 'pre' (queued before the
    worker starts), 'burst' (sent as fast as possible once it is up) or
    'live' (each change sent at its send_rel)."""
    _next = 0x10000

    def __init__(self, name, feed="burst"):
        self.name, self.feed = name, feed
        self.changes = []
        self.records = []   # (t_rel, record builder args...) materialised by records_at()

    @classmethod
    def new_ids(cls, n):
        first = cls._next
        cls._next += n
        return [sg_id(first + i) for i in range(n)]

    def add_change(self, rid, account, region, capture_rel, kind, identity, tag="", send_rel=0.0,
                   event_lag_s=4.0):
        """A change and its event (event_lag_s before the capture); None identity: no event."""
        c = Change(rid, account, region, capture_rel, kind, identity, tag, send_rel)
        self.changes.append(c)
        if identity is not None:
            self.add_record(capture_rel - event_lag_s, resource=rid, region=region, account=account,
                            identity=identity, ua=UA[kind])
        return c

    def add_record(self, t_rel, **kw):
        kw.setdefault("event_id", str(uuid.uuid4()))   # the same in every run of the plan
        self.records.append((t_rel, kw))

    def fresh(self):
        """The same workload, not sent yet (for another run: same resources,
        times relative to its own t0, same event ids)."""
        p = Plan(self.name, self.feed)
        p.records = self.records
        p.changes = [Change(c.rid, c.account, c.region, c.capture_rel, c.kind, c.identity, c.tag, c.send_rel)
                     for c in self.changes]
        return p

    def records_at(self, t0, now):
        """Concrete records; an event later than `now` shows up only then."""
        out = []
        for t_rel, kw in self.records:
            t = t0 + t_rel
            r = record(t=t, **kw)
            if t > now:
                r["_visible_after_s"] = round(t - now, 3)
            out.append(r)
        return out

    def by_rid(self):
        return {c.rid: c for c in self.changes}


KINDS = ("human", "automation", "automation", "automation", "aws_service")  # 20/60/20


def identity_for(kind, account, humans):
    if kind == "human":
        return humans
    return terraform(account) if kind == "automation" else AUTOSCALING


def burst_plan(n=300, unrelated=600, read_only=300, spread_s=120.0, region="eu-west-1", account=ACCOUNT,
               n_humans=3, other_region=None, feed="burst", seed=7):
    """Scenario A (and B when other_region is set): n changes to distinct
    security groups in one account-region, captured over spread_s (before
    t0; or, with feed 'live', sent as they are captured), mix 20% human
    (n_humans IAM users), 60% trusted automation, 20% AWS service; plus
    `unrelated` write events (other resources, some failed calls and earlier
    writes by others to the changed groups) and `read_only` events naming the
    changed groups, all in the same window. other_region: one more human
    change in that region (B), sent in the middle of the burst."""
    rnd = random.Random(seed)
    p = Plan("burst", feed)
    ids = Plan.new_ids(n)
    humans = [user(name, account) for name in ("alice", "bob", "carol", "dave", "erin")[:n_humans]]
    live = feed == "live"
    for i, rid in enumerate(ids):
        kind = KINDS[i % 5]
        ident = humans[i % len(humans)] if kind == "human" else identity_for(kind, account, None)
        cap = (i * spread_s / n) if live else (-spread_s + i * spread_s / n)
        p.add_change(rid, account, region, cap, kind, ident, tag="A", send_rel=cap + 2.0 if live else 0.0)
    lo = min(c.capture_rel for c in p.changes) - 60
    hi = max(c.capture_rel for c in p.changes)
    others = Plan.new_ids(unrelated)
    for k in range(unrelated):
        t = rnd.uniform(lo, hi)
        kind = KINDS[k % 5]
        ident = user("frank", account) if kind == "human" else identity_for(kind, account, None)
        if k % 20 == 0:      # a failed call on a changed group: a write CloudTrail records, never the actor
            c = p.changes[rnd.randrange(n)]
            p.add_record(c.capture_rel - 2, resource=c.rid, region=region, account=account,
                         identity=user("mallory", account), ua=UA["human"], error="UnauthorizedOperation")
        elif k % 20 == 1:    # an earlier change to a changed group by another actor of its kind, within the skew
            c = p.changes[rnd.randrange(n)]
            other = user("frank", account) if c.kind == "human" else identity_for(c.kind, account, None)
            p.add_record(c.capture_rel - 90, resource=c.rid, region=region, account=account,
                         identity=other, ua=UA[c.kind], name="RevokeSecurityGroupIngress")
        else:
            p.add_record(t, resource=others[k], region=region, account=account, identity=ident, ua=UA[kind])
    for k in range(read_only):  # read-only calls naming the changed groups, next to their change
        c = p.changes[k % n]
        p.add_record(c.capture_rel - rnd.uniform(0, 10), resource=c.rid, region=region, account=account,
                     identity=humans[0], ua=UA["human"], name="DescribeSecurityGroups", read_only=True,
                     resources=[{"ResourceType": "AWS::EC2::SecurityGroup", "ResourceName": c.rid}])
    if other_region:
        rid = Plan.new_ids(1)[0]
        mid = p.changes[n // 2]
        b = Change(rid, account, other_region, mid.capture_rel, "human", user("grace", account), "B",
                   mid.send_rel)
        p.changes.insert(n // 2, b)     # sent in the middle of the burst
        p.add_record(b.capture_rel - 4.0, resource=rid, region=other_region, account=account,
                     identity=b.identity, ua=UA["human"])
    return p


def accounts_plan(n_accounts=250, regions=("us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"), per=10,
                  first_account=200000000000):
    """Scenario C: `per` changes in each of n_accounts x regions
    account-regions (queued round-robin over them), every event found, mix
    20/60/20 (humans go to the JSON lines only)."""
    p = Plan("accounts", "pre")
    total = n_accounts * len(regions) * per
    ids = Plan.new_ids(total)
    k = 0
    for j in range(per):
        for a in range(n_accounts):
            account = "%012d" % (first_account + a)
            for region in regions:
                kind = KINDS[k % 5]
                ident = user("alice", account) if kind == "human" else identity_for(kind, account, None)
                p.add_change(ids[k], account, region, -30 + j, kind, ident, tag="C")
                k += 1
    return p


def contention_plan(n=80, feed_s=40.0, region="eu-west-1", account=ACCOUNT):
    """Scenario D: n changes in one account-region, sent live over feed_s."""
    p = Plan("contention", "live")
    humans = [user("alice", account), user("bob", account)]
    for i, rid in enumerate(Plan.new_ids(n)):
        kind = KINDS[i % 5]
        ident = humans[i % 2] if kind == "human" else identity_for(kind, account, None)
        cap = i * feed_s / n
        p.add_change(rid, account, region, cap, kind, ident, tag="D", send_rel=cap + 1.0)
    return p


def actors_plan(n=60, actors=4, spread_s=60.0, region="eu-west-1", account=ACCOUNT):
    """Scenario E: n human changes by `actors` actor sessions (different
    principals and access keys: alice with two keys counts twice), captured
    within spread_s, sent as a burst."""
    sessions = [user("alice", account, "AKIAALICE00000000001"), user("bob", account, "AKIABOB0000000000001"),
                user("alice", account, "AKIAALICE00000000002"), user("carol", account, "AKIACAROL0000000001"),
                user("dave", account, "AKIADAVE000000000001"), user("erin", account, "AKIAERIN000000000001")]
    if actors > len(sessions):
        raise ValueError("at most %d actor sessions" % len(sessions))
    p = Plan("actors", "burst")
    for i, rid in enumerate(Plan.new_ids(n)):
        p.add_change(rid, account, region, -spread_s + i * spread_s / n, "human", sessions[i % actors], tag="E")
    return p


# --- the services ----------------------------------------------------------------

class Fauxqs:
    """One fauxqs for a session, recording receives and deletes."""

    def __init__(self, root, tmp):
        self.root, self.tmp = root, tmp
        self.receipts_path = os.path.join(tmp, "receipts.log")
        self.pid, self.url = start_fauxqs(root, tmp, {}, {"FAUXQS_RECEIVE_LOG": self.receipts_path,
                                                          "FAUXQS_LOGGER": "false"})
        self._offset = 0
        self._lock = threading.Lock()
        self.received = {}   # queue -> {msg_id: [t, ...]}
        self.deleted = {}    # queue -> {msg_id: first delete t}
        self.extended = {}   # queue -> {msg_id: visibility changes}

    def call(self, op, payload, timeout=30):
        return sqs_call(self.url, op, payload, timeout)

    def create(self, name, visibility_s=30, max_receives=10):
        dlq = self.call("CreateQueue", {"QueueName": name + "-dlq"})["QueueUrl"]
        arn = self.call("GetQueueAttributes", {"QueueUrl": dlq, "AttributeNames": ["QueueArn"]})[
            "Attributes"]["QueueArn"]
        self.call("CreateQueue", {"QueueName": name, "Attributes": {
            "VisibilityTimeout": str(visibility_s),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": str(max_receives)})}})
        return "%s/000000000000/%s" % (self.url, name)

    def send(self, queue_url, bodies):
        """SendMessageBatch (10 at a time); the message ids, in order."""
        ids = []
        for i in range(0, len(bodies), 10):
            entries = [{"Id": str(k), "MessageBody": b} for k, b in enumerate(bodies[i:i + 10])]
            out = self.call("SendMessageBatch", {"QueueUrl": queue_url, "Entries": entries})
            if out.get("Failed"):
                raise RuntimeError("SendMessageBatch: %s" % out["Failed"][:2])
            by = {int(s["Id"]): s["MessageId"] for s in out["Successful"]}
            ids.extend(by[k] for k in range(len(entries)))
        return ids

    def counts(self, queue_url):
        a = self.call("GetQueueAttributes", {"QueueUrl": queue_url, "AttributeNames": ["All"]})["Attributes"]
        return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])

    def poll_receipts(self):
        """Read what receipts.mjs appended since the last call."""
        with self._lock:
            try:
                with open(self.receipts_path, "rb") as f:
                    f.seek(self._offset)
                    data = f.read()
            except OSError:
                return
            end = data.rfind(b"\n")
            if end < 0:
                return
            self._offset += end + 1
            for line in data[:end].decode().split("\n"):
                parts = line.split()
                if len(parts) < 4:
                    continue
                t, op, queue, mid = float(parts[0]), parts[1], parts[2], parts[3]
                if op == "R":
                    self.received.setdefault(queue, {}).setdefault(mid, []).append(t)
                elif op == "D":
                    self.deleted.setdefault(queue, {}).setdefault(mid, t)
                elif op == "V":
                    q = self.extended.setdefault(queue, {})
                    q[mid] = q.get(mid, 0) + 1

    def stop(self):
        if self.pid in PROCS:
            PROCS.remove(self.pid)
        stop_pid(self.pid)


class Standin:
    """A fresh CloudTrail + STS + Slack stand-in for one run."""

    def __init__(self, root, tmp, tag, ct_rate=2.0, slack_rate=1.0, latency_s=0.0):
        self.state = os.path.join(tmp, "standin-" + tag)
        os.makedirs(self.state, exist_ok=True)
        empty = os.path.join(self.state, "no-events.json")
        with open(empty, "w") as f:
            f.write("[]")
        cmd = [os.path.join(root, "tests/support/standins/start"), "--cloudtrail", "--sts", "--slack", "--quiet",
               "--ct-rate", "%g" % ct_rate, "--events", empty, "--state-dir", self.state]
        cmd += ["--slack-rate", "%g" % slack_rate]   # 0: no limit
        if latency_s:
            cmd += ["--latency", "%g" % latency_s]
        self.pid, port = start(cmd, dict(os.environ, STANDIN_LOG=os.path.join(tmp, "standin-%s.log" % tag)))
        self.url = "http://127.0.0.1:%s" % port

    def add_events(self, records):
        for i in range(0, len(records), 500):
            status, body = http("POST", self.url + "/_events", json.dumps(records[i:i + 500]).encode(), timeout=60)
            if status != 200:
                raise RuntimeError("/_events: %s %s" % (status, body[:300]))

    def get(self, path):
        status, body = http("GET", self.url + path, timeout=60)
        if status != 200:
            raise RuntimeError("%s: %s" % (path, status))
        return json.loads(body)

    def stats(self):
        return self.get("/_stats")

    def cpu_s(self):
        return proc_cpu_s(self.pid)

    def stop(self):
        if self.pid in PROCS:
            PROCS.remove(self.pid)
        stop_pid(self.pid)


def proc_cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def proc_mem_kb(pid):
    """(VmRSS, VmHWM) in kB, or (None, None)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except OSError:
        return None, None
    rss = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
    hwm = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return (int(rss.group(1)) if rss else None), (int(hwm.group(1)) if hwm else None)


class Worker:
    """One `whochanged run` process (no --once: stopped with SIGTERM)."""

    def __init__(self, binary, cfg, log_path, home):
        env = worker_env(home, SECRET)
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.p = subprocess.Popen([binary, "run", "--config", cfg], env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=self._log)
        PROCS.append(self.p.pid)
        self.hwm_kb = 0
        self.cpu = float("nan")
        self.rc = None
        self.killed = False

    def sample(self):
        rss, hwm = proc_mem_kb(self.p.pid)
        if hwm:
            self.hwm_kb = max(self.hwm_kb, hwm)
        return rss

    def alive(self):
        return self.p.poll() is None

    def terminate(self):
        """Last samples, then SIGTERM (wait() collects the exit status)."""
        self.sample()
        self.cpu = proc_cpu_s(self.p.pid)
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)

    def wait(self, timeout=40):
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(10)
            self.killed = True
        if self.p.pid in PROCS:
            PROCS.remove(self.p.pid)
        self._log.close()
        self.rc = self.p.returncode
        return self.rc

    def stop(self, timeout=40):
        self.terminate()
        return self.wait(timeout)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


def worker_config(path, queue_url, sqs_url, standin_url, state_dir, findings, scan, digest_s, metrics_port,
                  slack=True, accounts_role=False, max_in_flight=None, lookups_per_second=None,
                  events_queue_url=None, stream_grace_s=None):
    lines = ["region: us-east-1",
             'queue_url: "%s"' % queue_url,
             'endpoints: {sqs: "%s", cloudtrail: "%s", sts: "%s"}' % (sqs_url, standin_url, standin_url),
             "trusted: " + TRUSTED,
             "correlation: {digest_seconds: %d}" % digest_s if digest_s is not None else
             "# correlation.digest_seconds: the default",
             "cloudtrail: {scan: %s%s}" % ("true" if scan else "false",
                                           ", lookups_per_second: %d" % lookups_per_second
                                           if lookups_per_second else ""),
             'state_dir: "%s"' % state_dir,
             'metrics_listen: "127.0.0.1:%d"' % metrics_port]
    if max_in_flight:
        lines.append("max_in_flight: %d" % max_in_flight)
    if events_queue_url:
        lines.append('events: {queue_url: "%s"%s}' % (events_queue_url, ", grace_seconds: %d" % stream_grace_s
                                                      if stream_grace_s is not None else ""))
    if accounts_role:
        lines.append('accounts: {role_arn: "%s"}' % READER_ROLE)
    lines.append("notifiers:")
    lines.append('  - {type: jsonl, path: "%s", verdicts: %s}' % (findings, ALL_VERDICTS))
    if slack:
        lines.append('  - {type: slack, webhook_url: "%s%s", verdicts: [human]}' % (standin_url, WEBHOOK_PATH))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


# --- one run -------------------------------------------------------------------------

class Options:
    """How one row runs. scan/digest_s: the worker's cloudtrail.scan and
    correlation.digest_seconds; workers: processes on the queue; ct_rate:
    the stand-in's LookupEvents limit per account-region; lookups_per_second:
    the worker's (None: its default, 2)."""

    def __init__(self, scan=True, digest_s=0, workers=1, ct_rate=2.0, slack_rate=1.0, latency_s=0.0,
                 visibility_s=30, slack=True, accounts_role=False, max_in_flight=None, lookups_per_second=None,
                 timeout_s=300.0, settle_s=0.5, sample_s=0.25, soak_backlog=None, stream=False,
                 stream_grace_s=None, stream_delay_s=0.0, stream_drop=()):
        self.scan, self.digest_s, self.workers = scan, digest_s, workers
        self.ct_rate, self.slack_rate, self.latency_s = ct_rate, slack_rate, latency_s
        self.visibility_s, self.slack, self.accounts_role = visibility_s, slack, accounts_role
        self.max_in_flight, self.lookups_per_second = max_in_flight, lookups_per_second
        self.timeout_s, self.settle_s, self.sample_s = timeout_s, settle_s, sample_s
        self.soak_backlog = soak_backlog
        # the CloudTrail event stream: an events queue per worker, every
        # record of the plan sent to each (an SNS fan-out) with the changes
        # (stream_delay_s after them; the events of the changes to resources
        # in stream_drop never: EventBridge is best effort)
        self.stream, self.stream_grace_s = stream, stream_grace_s
        self.stream_delay_s, self.stream_drop = stream_delay_s, set(stream_drop)


class Result:
    pass


def run(ctx, plan, opts, tag, wait_exit=True):
    """Run plan once; return a Result (see measure()). ctx: root, tmp,
    binary, sqs (a Fauxqs). The workers get SIGTERM once every message is
    deleted; wait_exit False: finish(r) waits for them later (a worker may
    take its long poll's 20 s to stop, and the next run need not wait)."""
    tmp = os.path.join(ctx.tmp, tag)
    os.makedirs(tmp, exist_ok=True)
    st = Standin(ctx.root, tmp, tag, opts.ct_rate, opts.slack_rate if opts.slack else 0, opts.latency_s)
    sqs = ctx.sqs
    workers = []
    samples = []        # (t, calls, throttled, rss_kb_sum, done)
    stop = threading.Event()
    r = Result()
    r.tag, r.plan, r.opts, r.problems = tag, plan, opts, []
    qname = "load-" + tag
    try:
        qurl = sqs.create(qname, opts.visibility_s)
        soak = opts.soak_backlog is not None
        event_queues = [sqs.create("%s-events-%d" % (qname, w), opts.visibility_s) for w in range(opts.workers)] \
            if opts.stream else []
        if event_queues and (soak or plan.feed == "live"):
            raise ValueError("the event stream is sent with burst and pre feeds only")
        r.events_sent_at = float("nan")

        def stream(bodies):
            for eq in event_queues:
                sqs.send(eq, bodies)
            r.events_sent_at = time.time()

        def add_events(recs):
            st.add_events(recs)
            if event_queues:
                bodies = [stream_body(x) for x in recs
                          if (x.get("requestParameters") or {}).get("groupId") not in opts.stream_drop]
                if opts.stream_delay_s > 0:
                    threading.Timer(opts.stream_delay_s, stream, args=(bodies,)).start()
                else:
                    stream(bodies)
        if plan.feed == "pre" and not soak:   # queued before the workers start
            t0 = time.time()
            add_events(plan.records_at(t0, t0))
            send_all(sqs, qurl, plan.changes, t0)
        findings = []
        for w in range(opts.workers):
            state = os.path.join(tmp, "state-%d" % w)
            os.makedirs(state, exist_ok=True)
            cfg = os.path.join(tmp, "worker-%d.yaml" % w)
            fpath = os.path.join(state, "findings.jsonl")
            findings.append(Findings(fpath))
            port = free_port()
            worker_config(cfg, qurl, sqs.url, st.url, state, fpath, opts.scan, opts.digest_s, port,
                          slack=opts.slack, accounts_role=opts.accounts_role, max_in_flight=opts.max_in_flight,
                          lookups_per_second=opts.lookups_per_second,
                          events_queue_url=event_queues[w] if event_queues else None,
                          stream_grace_s=opts.stream_grace_s)
            workers.append(Worker(ctx.binary, cfg, os.path.join(tmp, "worker-%d.log" % w), tmp))
            workers[-1].metrics_port = port
        t_start = time.time()
        c_st0 = st.cpu_s()
        for w in workers:
            wait_ready(w)
        r.ready_s = time.time() - t_start
        feeder = None
        if soak:
            t0 = t_start
            feeder = threading.Thread(target=soak_feed, args=(sqs, st, qurl, plan, t0, opts.soak_backlog, stop),
                                      daemon=True)
        elif plan.feed != "pre":
            t0 = time.time()
            add_events(plan.records_at(t0, t0))
            if plan.feed == "burst":
                send_all(sqs, qurl, plan.changes, t0)
            else:
                feeder = threading.Thread(target=live_feed, args=(sqs, qurl, plan.changes, t0, stop), daemon=True)
        if feeder:
            feeder.start()
        ids = None
        n = len(plan.changes)
        deadline = time.time() + opts.timeout_s
        last_sample = 0.0
        done = 0
        while time.time() < deadline:
            sqs.poll_receipts()
            deleted = sqs.deleted.get(qname, {})
            if ids is None and all(c.msg_id for c in plan.changes):
                ids = [c.msg_id for c in plan.changes]
            done = sum(1 for i in ids if i in deleted) if ids is not None else len(deleted)
            now = time.time()
            if now - last_sample >= opts.sample_s:
                last_sample = now
                s = st.stats()
                rss = sum(w.sample() or 0 for w in workers)
                for f in findings:
                    f.poll(now)
                samples.append((now - t_start, s["calls"], s["throttled"], rss, done))
            if ids is not None and done == n:
                break
            if not all(w.alive() for w in workers):
                r.problems.append("a worker exited early (exit %s)" % [w.p.poll() for w in workers])
                break
            time.sleep(0.1)
        else:
            r.problems.append("not done within %.0f s: %d of %d messages deleted" % (opts.timeout_s, done, n))
        time.sleep(opts.settle_s)
        stop.set()
        if feeder:
            feeder.join(30)
        r.t_end = time.time()
        r.st_cpu = st.cpu_s() - c_st0
        for w in workers:
            w.terminate()
        r.workers = workers
        sqs.poll_receipts()
        for f in findings:
            f.poll(time.time())
        r.t0, r.t_start, r.samples, r.n = t0, t_start, samples, n
        # "pre": everything was queued before the workers started
        r.t_last_sent = t_start if plan.feed == "pre" and not soak else \
            max([c.sent_at for c in plan.changes if c.sent_at] or [t_start])
        measure(r, sqs, st, qname, qurl, workers, findings)
        if wait_exit:
            finish(r)
    except BaseException:
        for w in workers:
            if w.rc is None:
                w.stop(5)
        raise
    finally:
        stop.set()
        st.stop()
    return r


def finish(r):
    """Wait for r's workers to exit; their exit status is a check."""
    r.exit_codes = [w.rc if w.rc is not None else w.wait() for w in r.workers]
    if any(rc != 0 for rc in r.exit_codes):
        r.problems.append("worker exit status %s%s" % (r.exit_codes, " (killed after 40 s)"
                                                       if any(w.killed for w in r.workers) else ""))
    return r


def wait_ready(w, limit_s=10.0):
    """Until the worker's /healthz answers (or limit_s: then go on anyway)."""
    deadline = time.time() + limit_s
    while time.time() < deadline and w.alive():
        try:
            if http("GET", "http://127.0.0.1:%d/healthz" % w.metrics_port, timeout=1)[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def send_all(sqs, qurl, changes, t0):
    bodies = [change_body(c.rid, c.region, c.account, t0 + c.capture_rel) for c in changes]
    ids = sqs.send(qurl, bodies)
    t = time.time()
    for c, i in zip(changes, ids):
        c.msg_id, c.sent_at = i, t


def live_feed(sqs, qurl, changes, t0, stop):
    order = sorted(changes, key=lambda c: c.send_rel)
    k = 0
    while k < len(order) and not stop.is_set():
        due = t0 + order[k].send_rel
        if time.time() < due:
            stop.wait(min(due - time.time(), 0.5))
            continue
        batch = []
        while k < len(order) and len(batch) < 10 and t0 + order[k].send_rel <= time.time():
            batch.append(order[k])
            k += 1
        send_all(sqs, qurl, batch, t0)


def soak_feed(sqs, st, qurl, plan, t0, backlog, stop, chunk=500):
    """Keep at most `backlog` messages queued; each chunk's events are added
    just before it is sent, captured 10 s before sending."""
    k = 0
    changes = plan.changes
    while k < len(changes) and not stop.is_set():
        visible, invisible = sqs.counts(qurl)
        if visible + invisible > backlog:
            stop.wait(0.2)
            continue
        part = changes[k:k + chunk]
        now = time.time()
        for c in part:
            c.capture_rel = now - 10 - t0
        recs = []
        for c in part:
            if c.identity is not None:
                recs.append(record(c.rid, c.region, c.account, now - 14, c.identity, UA[c.kind]))
        st.add_events(recs)
        send_all(sqs, qurl, part, t0)
        k += len(part)


class Findings:
    """A worker's JSON lines file, read as it grows."""

    def __init__(self, path):
        self.path, self.offset = path, 0
        self.items = []          # (time seen, finding)

    def poll(self, now):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n")
        if end < 0:
            return
        self.offset += end + 1
        for line in data[:end].decode(errors="replace").split("\n"):
            if line.strip():
                try:
                    self.items.append((now, json.loads(line)))
                except ValueError:
                    pass


def measure(r, sqs, st, qname, qurl, workers, findings):
    plan = r.plan
    n = r.n
    stats = st.stats()
    r.calls = stats["calls"]
    r.throttled = stats["throttled"]
    r.calls_per_change = r.calls / n if n else 0.0
    r.max_per_second = max([v.get("max_per_second", 0) for v in stats.get("by_account_region", {}).values()] or [0])
    r.regions_called = len(stats.get("by_account_region", {}))
    slack = stats.get("roles", {}).get("slack", {})
    r.slack_429 = slack.get("rate_limited", 0) + slack.get("fault_429", 0) + slack.get("fault_throttle", 0)
    r.sts_calls = stats.get("roles", {}).get("sts", {}).get("AssumeRole", 0)
    reqs = st.get("/_requests")
    ct = [q for q in reqs if q.get("role") == "cloudtrail"]
    # the stand-in keeps the last 10,000 requests: the figures after the
    # first 10 s only when it still has every call of the run
    r.ct_log_complete = len(ct) >= r.calls
    first = min([q["time"] for q in ct] or [0])
    late = [q for q in ct if q["time"] >= first + 10]
    r.calls_after_10s = len(late) if r.ct_log_complete else None
    r.throttled_after_10s = sum(1 for q in late if q.get("error") == "ThrottlingException") \
        if r.ct_log_complete else None
    r.scan_calls = sum(1 for q in ct if any(a.get("AttributeKey") == "ReadOnly" for a in
                                             (q.get("request") or {}).get("LookupAttributes") or []))
    # messages
    received = sqs.received.get(qname, {})
    deleted = sqs.deleted.get(qname, {})
    ids = {c.msg_id for c in plan.changes if c.msg_id}
    r.received_twice = sorted(m for m in ids if len(received.get(m, [])) > 1)
    r.receives = sum(len(received.get(m, [])) for m in ids)
    r.extensions = sum(sqs.extended.get(qname, {}).get(m, 0) for m in ids)
    r.deleted = sum(1 for m in ids if m in deleted)
    r.done_at = max([deleted[m] for m in ids if m in deleted] or [float("nan")])
    r.all_deleted = r.deleted == n
    r.done_after_last_sent = r.done_at - r.t_last_sent if r.all_deleted else float("nan")
    r.elapsed = (r.done_at - r.t_start) if r.all_deleted else float("nan")
    r.changes_per_s = n / r.elapsed if r.all_deleted and r.elapsed > 0 else float("nan")
    try:
        visible, invisible = sqs.counts(qurl)
    except (OSError, RuntimeError):
        visible = invisible = -1
    r.depth = visible + invisible
    # findings
    verdicts, events, first_seen = {}, {}, {}
    r.findings_dupes = 0
    for f in findings:
        for t, item in f.items:
            rid = (item.get("change") or {}).get("resource_id")
            if rid is None:
                continue
            if rid in verdicts:
                r.findings_dupes += 1
            verdicts[rid] = item.get("verdict")
            events[rid] = sorted(e.get("event_id") for e in item.get("events") or [])
            first_seen[rid] = min(first_seen.get(rid, t), t)
    r.verdicts, r.events = verdicts, events
    by = plan.by_rid()
    # when the last verdict was written (sampled), once every change has one
    r.decided_at = max(first_seen[c.rid] for c in plan.changes) if all(
        c.rid in first_seen for c in plan.changes) and plan.changes else float("nan")
    r.wrong = sorted((rid, verdicts.get(rid), c.kind) for rid, c in by.items() if verdicts.get(rid) != c.kind)
    # with the stream: each human change's verdict (JSON lines, sampled every
    # sample_s) after both it and its event were sent
    r.stream_latency = sorted(first_seen[c.rid] - max(c.sent_at, r.events_sent_at) for c in plan.changes
                              if c.kind == "human" and c.rid in first_seen and c.sent_at) \
        if r.opts.stream else []
    # Slack
    posts = st.get("/_posts")
    texts = [(p["time"], json.dumps(p["payload"])) for p in posts]
    r.slack_messages = len(posts)
    humans = [c for c in plan.changes if c.kind == "human"]
    r.posts_per_human = {c.rid: sum(1 for _, t in texts if c.rid in t) for c in humans}
    r.first_post = {c.rid: min([pt for pt, t in texts if c.rid in t] or [float("nan")]) for c in humans}
    r.humans_unnamed = sorted(rid for rid, k in r.posts_per_human.items() if k == 0)
    r.humans_repeated = sorted(rid for rid, k in r.posts_per_human.items() if k > 1)
    r.first_receive = {c.rid: min(received.get(c.msg_id) or [float("nan")]) for c in plan.changes if c.msg_id}
    # the worker
    r.peak_rss_kb = max(w.hwm_kb for w in workers)
    r.worker_cpu = sum(w.cpu for w in workers)
    r.exit_codes = None
    r.rss_samples = [(s[0], s[4], s[3]) for s in r.samples if s[3]]
    if r.wrong:
        r.problems.append("%d change(s) without the expected verdict, e.g. %s" % (len(r.wrong), r.wrong[:3]))
    if r.all_deleted and r.depth not in (0, -1):
        r.problems.append("%d message(s) left in the queue" % r.depth)


def compare_verdicts(a, b):
    """Changes whose verdict (or matched events) differ between two runs of
    the same plan: [(rid, verdict a, verdict b)] and [(rid, events a, events b)]."""
    rids = sorted(set(a.verdicts) | set(b.verdicts))
    verdicts = [(rid, a.verdicts.get(rid), b.verdicts.get(rid)) for rid in rids
                if a.verdicts.get(rid) != b.verdicts.get(rid)]
    events = [(rid, a.events.get(rid), b.events.get(rid)) for rid in rids
              if a.events.get(rid) != b.events.get(rid)]
    return verdicts, events


def rss_growth(r, from_fraction=0.2):
    """RSS (MiB) at the end minus at from_fraction of the messages done, and
    MiB per 10,000 messages over that stretch."""
    pts = [(done, kb) for _, done, kb in r.rss_samples if done]
    if len(pts) < 2:
        return float("nan"), float("nan")
    start = next(((d, kb) for d, kb in pts if d >= from_fraction * r.n), pts[0])
    end = pts[-1]
    growth = (end[1] - start[1]) / 1024
    per10k = growth / (end[0] - start[0]) * 10000 if end[0] > start[0] else float("nan")
    return growth, per10k

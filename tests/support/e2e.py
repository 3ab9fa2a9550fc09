"""Helpers shared by the end-to-end suites (tests/integration/*_e2e.py, run
by tests/support/suite.py) and the benchmarks (scripts/bench.py,
scripts/bench_load.py): starting the stand-ins and fauxqs, their clients,
the worker's environment, CloudTrail records and Config changes, HTTP,
times. Every server they start is recorded in PROCS so the caller can stop
it (stop_procs)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

PROCS = []  # pids of the helper servers started with start()

ACCOUNT = "123456789012"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def log(msg):
    sys.stdout.write("# " + msg.replace("\n", "\n# ") + "\n")


def start(cmd, env=None):
    """Run a start script that prints "PID PORT"; -> (pid, port), the pid
    recorded in PROCS."""
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


def free_port():
    """A loopback port nothing listens on (now)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout, step=0.2):
    """pred() until truthy or timeout seconds; -> its last value."""
    deadline = time.time() + timeout
    v = pred()
    while not v and time.time() < deadline:
        time.sleep(step)
        v = pred()
    return v


def read(path):
    """A log file's text ("" if it is not there)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


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


# --- the worker ------------------------------------------------------------------

def worker_env(home, secret=SECRET, extra=None):
    """The environment of a `whochanged run` under test: static keys, no
    IMDS, HOME of its own, the sanitizers' options passed on; extra: more
    variables (None as a value: leave that one out)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": secret}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def finish(p, timeout):
    """Wait for a worker that ends by itself (--once); -> (exit status,
    stdout). Killed, and an AssertionError, after timeout seconds."""
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError("worker did not finish within %d s" % timeout)
    return p.returncode, out


def stop_worker(p, timeout=40):
    """SIGTERM; -> exit status (None: had to be killed after timeout s)."""
    if p.poll() is not None:
        return p.returncode
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)
        return None


# --- SQS: fauxqs -----------------------------------------------------------------

def sqs_call(url, op, payload, timeout=10):
    """One SQS JSON-protocol call to fauxqs at url (it checks no signature)."""
    status, body = http("POST", url + "/", json.dumps(payload).encode(), {
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS." + op,
        "x-amzn-query-mode": "true",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sqs/aws4_request, "
                         "SignedHeaders=host, Signature=0"}, timeout=timeout)
    if status != 200:
        raise RuntimeError("SQS %s: %s %s" % (op, status, body[:300]))
    return json.loads(body or b"{}")


def start_fauxqs(root, tmp, queues, env=None, init_name="init.json"):
    """fauxqs (installed first) on 127.0.0.1, with queues: {name:
    (VisibilityTimeout, maxReceiveCount)}, each with a dead-letter queue
    name-dlq unless maxReceiveCount is None; its log in tmp/fauxqs.log;
    env: more variables for it. -> (pid, url)."""
    subprocess.run([os.path.join(root, "scripts", "fauxqs-install")], check=True, capture_output=True, timeout=300)
    spec = []
    for q, (vt, mrc) in queues.items():
        if mrc is None:
            spec.append({"name": q, "attributes": {"VisibilityTimeout": str(vt)}})
            continue
        spec.append({"name": q + "-dlq"})
        spec.append({"name": q, "attributes": {
            "VisibilityTimeout": str(vt),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:%s-dlq" % q,
                                         "maxReceiveCount": str(mrc)})}})
    init = os.path.join(tmp, init_name)
    with open(init, "w") as f:
        json.dump({"region": "us-east-1", "queues": spec}, f)
    pid, port = start([os.path.join(root, "tests/support/fauxqs/start"), "0", init],
                      dict(os.environ, FAUXQS_LOG=os.path.join(tmp, "fauxqs.log"), **(env or {})))
    return pid, "http://127.0.0.1:%d" % port


class Fauxqs:
    """fauxqs with named queues (start_fauxqs), and an SQS client for them;
    receive_log: where fauxqs logs receives and deletes (received())."""

    def __init__(self, root, tmp, queues, receive_log=None, init_name="init.json"):
        self.receive_log = receive_log
        env = {"FAUXQS_RECEIVE_LOG": receive_log} if receive_log else None
        self.pid, self.url = start_fauxqs(root, tmp, queues, env, init_name)
        self.port = int(self.url.rsplit(":", 1)[1])

    def sqs(self, op, payload):
        return sqs_call(self.url, op, payload)

    def queue_url(self, q, base=None):
        return "%s/000000000000/%s" % (base or self.url, q)

    def send(self, q, body):
        """-> the MessageId."""
        return self.sqs("SendMessage", {"QueueUrl": self.queue_url(q), "MessageBody": body})["MessageId"]

    def receive(self, q, wait_s):
        """Receive (and leave visible) what is visible within wait_s seconds."""
        return self.sqs("ReceiveMessage", {"QueueUrl": self.queue_url(q), "MaxNumberOfMessages": 10,
                                           "WaitTimeSeconds": wait_s, "VisibilityTimeout": 0}).get("Messages", [])

    def counts(self, q):
        """(visible, not visible)"""
        a = self.sqs("GetQueueAttributes", {"QueueUrl": self.queue_url(q), "AttributeNames": ["All"]})["Attributes"]
        return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])

    def depth(self, q):
        return sum(self.counts(q))

    def received(self, message_id):
        """(times received, times deleted) of one message, from the receive log."""
        r = d = 0
        with open(self.receive_log) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 4 and parts[3] == message_id:
                    r += parts[1] == "R"
                    d += parts[1] == "D"
        return r, d


# --- the stand-ins ---------------------------------------------------------------

class Standin:
    """tests/support/standins/start with flags, on 127.0.0.1: its state and
    events.json (no event yet) in state_dir, its log in log (default
    state_dir/standin.log). A client of its /_ endpoints."""

    def __init__(self, root, state_dir, flags, log=None):
        os.makedirs(state_dir, exist_ok=True)
        events = os.path.join(state_dir, "events.json")
        with open(events, "w") as f:
            json.dump([], f)
        env = dict(os.environ, STANDIN_LOG=log or os.path.join(state_dir, "standin.log"))
        self.pid, self.port = start([os.path.join(root, "tests/support/standins/start")] + list(flags) +
                                    ["--events", events, "--state-dir", state_dir], env)
        self.url = "http://127.0.0.1:%d" % self.port

    def get(self, path):
        status, body = http("GET", self.url + path)
        assert status == 200, (path, status, body[:200])
        return json.loads(body)

    def post(self, path, obj):
        status, body = http("POST", self.url + path, json.dumps(obj).encode())
        assert status == 200, (path, status, body[:200])

    def add_events(self, records):
        self.post("/_events", records)

    def faults(self, spec):
        self.post("/_faults", spec)

    def posts(self):
        return self.get("/_posts")

    def posts_for(self, resource_id):
        """Slack posts naming resource_id."""
        return [p for p in self.posts() if resource_id in json.dumps(p["payload"])]

    def stats(self):
        return self.get("/_stats")

    def requests(self):
        return self.get("/_requests")

    def stop(self):
        if self.pid in PROCS:
            PROCS.remove(self.pid)
        stop_pid(self.pid)


# --- CloudTrail records and Config changes ----------------------------------------

def user(name, account=ACCOUNT):
    return {"type": "IAMUser", "principalId": "AIDA" + name.upper(),
            "arn": "arn:aws:iam::%s:user/%s" % (account, name), "accountId": account,
            "accessKeyId": "AKIA" + name.upper(), "userName": name}


def record(event_id, name, t, identity, params, source="ec2.amazonaws.com", ua="aws-cli/2.15.30",
           account=ACCOUNT, visible_after=None):
    """A CloudTrail record in us-east-1; of another account than ACCOUNT: in
    that account's trail (_account); visible_after: the stand-in lists it
    only that many seconds after it got it."""
    r = {"eventVersion": "1.10", "userIdentity": identity, "eventTime": iso(t), "eventSource": source,
         "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.10", "userAgent": ua,
         "requestParameters": params, "responseElements": None, "eventID": event_id, "readOnly": False,
         "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account}
    if account != ACCOUNT:
        r["_account"] = account
    if visible_after is not None:
        r["_visible_after_s"] = visible_after
    return r


def config_item(resource_id, capture, account=ACCOUNT, name=None, tags=None, configuration=None):
    """The configuration item of security group resource_id in us-east-1;
    with configuration: version 1.3 and that configuration."""
    item = {"relatedEvents": [], "configurationItemCaptureTime": iso(capture),
            "awsAccountId": account, "configurationItemStatus": "OK",
            "resourceType": "AWS::EC2::SecurityGroup", "resourceId": resource_id, "resourceName": name,
            "ARN": "arn:aws:ec2:us-east-1:%s:security-group/%s" % (account, resource_id),
            "awsRegion": "us-east-1", "tags": tags or {}}
    if configuration is not None:
        item["configurationItemVersion"] = "1.3"
        item["configuration"] = configuration
    return item


def notification(item, capture):
    """A ConfigurationItemChangeNotification: item, port 22 opened."""
    return {"configurationItemDiff": {"changeType": "UPDATE", "changedProperties": {
        "Configuration.IpPermissions.0": {"previousValue": None, "changeType": "CREATE",
                                          "updatedValue": {"fromPort": 22, "toPort": 22}}}},
            "configurationItem": item, "notificationCreationTime": iso(capture),
            "messageType": "ConfigurationItemChangeNotification", "recordVersion": "1.3"}


def sns(msg, capture, account=ACCOUNT):
    """msg (a dict) in the SNS envelope Config's topic gives it, as text."""
    return json.dumps({"Type": "Notification", "MessageId": str(uuid.uuid4()),
                       "TopicArn": "arn:aws:sns:us-east-1:%s:config" % account, "Message": json.dumps(msg),
                       "Timestamp": iso(capture), "SignatureVersion": "1", "Signature": "EXAMPLE"})


def change(resource_id, capture, account=ACCOUNT, envelope=True, **item):
    """The queue message of a change to security group resource_id (in SNS
    unless envelope is false); item: config_item()'s options."""
    msg = notification(config_item(resource_id, capture, account, **item), capture)
    return sns(msg, capture, account) if envelope else json.dumps(msg)


class Services:
    """fauxqs (queues as start_fauxqs takes them) and one stand-in (flags),
    both in tmp, for the suites with one of each; the calls their tests make
    of both."""

    def __init__(self, root, tmp, queues, standin_flags, receive_log=None, init_name="init.json"):
        self.tmp = tmp
        self.fauxqs = Fauxqs(root, tmp, queues, receive_log, init_name)
        self.standin = Standin(root, tmp, standin_flags)
        self.fq, self.fq_port = self.fauxqs.url, self.fauxqs.port
        self.st, self.st_port = self.standin.url, self.standin.port

    # SQS
    def sqs(self, op, payload):
        return self.fauxqs.sqs(op, payload)

    def queue_url(self, q):
        return self.fauxqs.queue_url(q)

    def send(self, q, body):
        return self.fauxqs.send(q, body)

    def receive(self, q, wait_s):
        return self.fauxqs.receive(q, wait_s)

    def counts(self, q):
        return self.fauxqs.counts(q)

    def depth(self, q):
        return self.fauxqs.depth(q)

    def received(self, message_id):
        return self.fauxqs.received(message_id)

    # the stand-in
    def add_events(self, records):
        self.standin.add_events(records)

    def faults(self, spec):
        self.standin.faults(spec)

    def posts(self):
        return self.standin.posts()

    def posts_for(self, resource_id):
        return self.standin.posts_for(resource_id)

    def stats(self):
        return self.standin.stats()

    def requests(self):
        return self.standin.requests()

    def worker_log(self, name):
        """What worker `name` logged: tmp/worker-NAME.log ("" if none)."""
        return read(os.path.join(self.tmp, "worker-%s.log" % name))

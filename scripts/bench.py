#!/usr/bin/python3
"""scripts/bench.py BUILD_DIR - throughput and memory figures of `whochanged run`.

Everything runs on 127.0.0.1: the fauxqs SQS emulator, the CloudTrail + Slack
stand-ins (SigV4 verified) and the real worker (`whochanged run --once`).
Prints a table and rewrites the generated part of BENCHMARKS.md (between the
`bench:begin` / `bench:end` markers; the text around them is kept).

Scenarios (bounded: about 3-5 minutes on 2 cores):
  1. end-to-end messages/s: N changes over K account-regions, a 20/60/20 mix
     (human -> Slack / automation / aws_service), stand-in --ct-rate 1000 and
     the worker's lookups_per_second 100, at max_in_flight 1, 8, 64, 3 times
     (median); then N=2000 at max_in_flight 64.
  2. CloudTrail's real limit: --ct-rate 2 and lookups_per_second 2, one
     account-region, 60 changes: throughput, throttles seen by the stand-in,
     in-flight and not-visible samples (receives go on while lookups wait).
  3. LookupEvents calls per change (stand-in /_stats): the mix, and changes
     whose event is not found (no retry: captured long ago).
  4. the worker's peak RSS (GNU time) at queue depth 500 vs 2000, same max_in_flight.
  5. callgrind instruction counts of `whochanged explain` with a 1-event and a
     50-event LookupEvents page (when valgrind is installed).

Environment: BENCH_REPS (default 3), BENCH_N (default 500), BENCH_N_BIG
(default 2000), BENCH_WRAP (a command the worker runs under, for diagnosis,
e.g. "strace -f -c -w -o /tmp/st-{name}"; skews the figures), BENCH_QUICK=1 (tiny sizes, for trying the script out; does not
write BENCHMARKS.md).
"""
import json, os, platform, re, signal, statistics, subprocess, sys, tempfile, threading, time
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from e2e import free_port, http, iso, sg, stop_pid  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
BIN = os.path.join(ROOT, BUILD, "whochanged")
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ACCOUNT = "123456789012"
# 16 regions x lookups_per_second 100 (the config's maximum): the worker's
# own ceiling is 1600 lookups/s, above what it reaches here.
REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
           "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
           "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "ap-south-1"]
QUICK = os.environ.get("BENCH_QUICK") == "1"
REPS = int(os.environ.get("BENCH_REPS", "1" if QUICK else "3"))
N = int(os.environ.get("BENCH_N", "40" if QUICK else "500"))
N_BIG = int(os.environ.get("BENCH_N_BIG", "80" if QUICK else "2000"))
N_SLOW = 10 if QUICK else 60
N_MISS = 20 if QUICK else 100
MIFS = [1, 8, 64]
FAST_LPS = 100          # the config's maximum for cloudtrail.lookups_per_second
RUN_TIMEOUT = 180
TMP = tempfile.mkdtemp(prefix="wc-bench.")
PROCS = []              # pids we started, stopped at exit
CMDS = []               # what was run, for BENCHMARKS.md


def say(msg):
    print(msg, flush=True)


# --- processes -------------------------------------------------------------

def stop_all():
    while PROCS:
        stop_pid(PROCS.pop())


def _on_signal(sig, frame):
    raise SystemExit(128 + sig)


def start_bg(cmd, logname):
    """Run a `start` script (prints PID PORT); remember the pid."""
    env = dict(os.environ, FAUXQS_LOG=os.path.join(TMP, logname), STANDIN_LOG=os.path.join(TMP, logname))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), out.stderr.strip()))
    pid, port = out.stdout.split()
    PROCS.append(int(pid))
    return int(pid), int(port)


def cpu_s(pid):
    """utime+stime of pid and its children that were waited for (seconds)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tck = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tck
    except (OSError, IndexError, ValueError):
        return float("nan")


# --- fauxqs ----------------------------------------------------------------

class Sqs:
    def __init__(self):
        self.pid, port = start_bg([os.path.join(ROOT, "tests/support/fauxqs/start"), "0",
                                   json.dumps({"region": "us-east-1", "queues": []})], "fauxqs.log")
        self.url = "http://127.0.0.1:%d" % port

    def call(self, op, payload):
        status, body = http("POST", self.url + "/", json.dumps(payload).encode(), {
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS." + op,
            "x-amzn-query-mode": "true",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sqs/aws4_request, "
                             "SignedHeaders=host, Signature=0"})
        if status != 200:
            raise RuntimeError("SQS %s: %s %s" % (op, status, body[:300]))
        return json.loads(body or b"{}")

    def create(self, name):
        return self.call("CreateQueue", {"QueueName": name,
                                         "Attributes": {"VisibilityTimeout": "120"}})["QueueUrl"]

    def send_all(self, queue_url, bodies):
        for i in range(0, len(bodies), 10):
            entries = [{"Id": str(k), "MessageBody": b} for k, b in enumerate(bodies[i:i + 10])]
            out = self.call("SendMessageBatch", {"QueueUrl": queue_url, "Entries": entries})
            if out.get("Failed"):
                raise RuntimeError("SendMessageBatch: %s" % out["Failed"][:2])

    def counts(self, queue_url):
        a = self.call("GetQueueAttributes", {"QueueUrl": queue_url, "AttributeNames": ["All"]})["Attributes"]
        return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


# --- stand-ins -------------------------------------------------------------

class Standin:
    def __init__(self, ct_rate, tag):
        empty = os.path.join(TMP, "no-events.json")
        with open(empty, "w") as f:
            f.write("[]")
        self.state = os.path.join(TMP, "standin-" + tag)
        os.makedirs(self.state, exist_ok=True)
        self.ct_rate = ct_rate
        script = os.path.join(ROOT, "tests/support/standins/standin.py")
        portfile = os.path.join(self.state, "port")
        flags = ["--quiet", "--port-file", portfile, "--cloudtrail", "--slack", "--ct-rate", str(ct_rate),
                 "--events", empty, "--state-dir", self.state]
        cmd = ["/usr/bin/python3", script] + flags
        log = open(os.path.join(TMP, "standin-%s.log" % tag), "w")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        self.pid = p.pid
        self.proc = p
        PROCS.append(p.pid)
        deadline = time.time() + 15
        while True:
            if p.poll() is not None:
                raise RuntimeError("stand-in exited early (%s)" % log.name)
            if os.path.exists(portfile):
                self.url = "http://127.0.0.1:%d" % int(open(portfile).read())
                try:
                    if http("GET", self.url + "/_health", timeout=1)[0] == 200:
                        break
                except OSError:
                    pass
            if time.time() > deadline:
                raise RuntimeError("stand-in did not answer within 15 s (%s)" % log.name)
            time.sleep(0.1)

    def add_events(self, records):
        for i in range(0, len(records), 500):
            status, body = http("POST", self.url + "/_events", json.dumps(records[i:i + 500]).encode(), timeout=60)
            if status != 200:
                raise RuntimeError("/_events: %s %s" % (status, body[:300]))

    def stats(self):
        return json.loads(http("GET", self.url + "/_stats")[1])

    def n_posts(self):
        return len(json.loads(http("GET", self.url + "/_posts", timeout=30)[1]))

    def stop(self):
        if self.pid in PROCS:
            PROCS.remove(self.pid)
        stop_pid(self.pid)
        self.proc.wait(5)


# --- workload --------------------------------------------------------------

def user(name):
    return {"type": "IAMUser", "principalId": "AIDA" + name.upper(), "arn": "arn:aws:iam::%s:user/%s" % (ACCOUNT, name),
            "accountId": ACCOUNT, "accessKeyId": "AKIA" + name.upper(), "userName": name}


TF = {"type": "AssumedRole", "arn": "arn:aws:sts::%s:assumed-role/terraform-deployer/s1" % ACCOUNT,
      "accountId": ACCOUNT, "sessionContext": {"sessionIssuer": {
          "type": "Role", "arn": "arn:aws:iam::%s:role/terraform-deployer" % ACCOUNT, "userName": "terraform-deployer"}}}
ASG = {"type": "AWSService", "invokedBy": "autoscaling.amazonaws.com"}


def record(sgid, region, t, identity, ua):
    return {"eventVersion": "1.10", "userIdentity": identity, "eventTime": iso(t),
            "eventSource": "ec2.amazonaws.com", "eventName": "AuthorizeSecurityGroupIngress",
            "awsRegion": region, "sourceIPAddress": "203.0.113.10", "userAgent": ua,
            "requestParameters": {"groupId": sgid, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22,
                                                                                "toPort": 22}]}},
            "responseElements": {"requestId": str(uuid.uuid4()), "_return": True},
            "eventID": str(uuid.uuid4()), "readOnly": False, "eventType": "AwsApiCall",
            "managementEvent": True, "recipientAccountId": ACCOUNT}


def change(sgid, region, capture, name=None):
    item = {"configurationItemDiff": {"changeType": "UPDATE", "changedProperties": {
        "Configuration.IpPermissions.0": {"previousValue": None, "changeType": "CREATE",
                                          "updatedValue": {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                                                           "ipRanges": [{"cidrIp": "0.0.0.0/0"}]}}}},
            "configurationItem": {"relatedEvents": [], "configurationItemCaptureTime": iso(capture),
                                  "awsAccountId": ACCOUNT, "configurationItemStatus": "OK",
                                  "resourceType": "AWS::EC2::SecurityGroup", "resourceId": sgid,
                                  "resourceName": name,
                                  "ARN": "arn:aws:ec2:%s:%s:security-group/%s" % (region, ACCOUNT, sgid),
                                  "awsRegion": region, "tags": {"team": "payments"},
                                  "configuration": {"groupId": sgid, "groupName": name or "bench",
                                                    "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 22,
                                                                       "toPort": 22}]}},
            "notificationCreationTime": iso(capture), "messageType": "ConfigurationItemChangeNotification",
            "recordVersion": "1.3"}
    return json.dumps({"Type": "Notification", "MessageId": str(uuid.uuid4()),
                       "TopicArn": "arn:aws:sns:us-east-1:%s:config" % ACCOUNT, "Message": json.dumps(item),
                       "Timestamp": iso(capture), "SignatureVersion": "1", "Signature": "EXAMPLE"})


class Workload:
    """n changes over the given regions; mix: 1 in 5 human, 3 in 5
    automation, 1 in 5 aws_service. found=False: no event at all, capture
    long ago (no retry), a resource name (so the plan has 3 lookups)."""
    next_id = 1

    def __init__(self, n, regions, found=True):
        now = time.time()
        self.bodies, self.records = [], []
        self.expect = {"human": 0, "automation": 0, "aws_service": 0, "unattributed": 0}
        for i in range(n):
            sgid = sg(Workload.next_id)
            Workload.next_id += 1
            region = regions[i % len(regions)]
            if not found:
                self.bodies.append(change(sgid, region, now - 3600, name="bench-miss-%d" % i))
                self.expect["unattributed"] += 1
                continue
            kind = ("human", "automation", "automation", "automation", "aws_service")[i % 5]
            ident, ua = {"human": (user("alice"), "aws-cli/2.15.30 Python/3.11.6"),
                         "automation": (TF, "APN/1.0 HashiCorp/1.0 Terraform/1.7.5"),
                         "aws_service": (ASG, "autoscaling.amazonaws.com")}[kind]
            self.records.append(record(sgid, region, now - 20, ident, ua))
            self.bodies.append(change(sgid, region, now - 10))
            self.expect[kind] += 1


# --- one worker run ----------------------------------------------------------

class Run:
    pass


def run_worker(sqs, st, name, wl, mif, lps, sample_queue=False):
    qurl = sqs.create(name)
    if wl.records:
        st.add_events(wl.records)
    sqs.send_all(qurl, wl.bodies)
    state = os.path.join(TMP, "state-" + name)
    os.makedirs(state, exist_ok=True)
    mport = free_port()
    cfg = os.path.join(TMP, name + ".yaml")
    with open(cfg, "w") as f:
        f.write("""region: us-east-1
queue_url: "%s"
endpoints: {sqs: "%s", cloudtrail: "%s"}
trusted: ["arn:aws:iam::*:role/terraform-*"]
correlation: {skew_seconds: 180, retry_initial_seconds: 1, retry_for_seconds: 8, coalesce_seconds: 0}
cloudtrail: {lookups_per_second: %d}
max_in_flight: %d
state_dir: "%s"
metrics_listen: "127.0.0.1:%d"
notifiers:
  - {type: jsonl, path: "%s/findings.jsonl"}
""" % (qurl, sqs.url, st.url, lps, mif, state, mport, state))
    stats0 = st.stats()
    posts0 = st.n_posts()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": TMP, "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET}
    args = [BIN, "run", "--once", "--config", cfg]
    wrap = os.environ.get("BENCH_WRAP", "").replace("{name}", name).split()
    if not CMDS or CMDS[-1] != " ".join(args[:3]) + " --config CONFIG":
        CMDS.append(" ".join(args[:3]) + " --config CONFIG")
    errlog = open(os.path.join(TMP, "worker-%s.log" % name), "w")
    # Peak RSS and CPU time from GNU time: wait4()'s ru_maxrss for a child
    # forked from this Python process would include Python's own RSS, which
    # the child had before exec (Linux keeps the larger high-water mark).
    timef = os.path.join(TMP, "time-%s.txt" % name)
    use_time = os.access("/usr/bin/time", os.X_OK)
    pre = ["/usr/bin/time", "-f", "%M %U %S", "-o", timef] if use_time else []
    c_sqs0, c_st0 = cpu_s(sqs.pid), cpu_s(st.pid)
    t0 = time.monotonic()
    tw0 = time.time()
    p = subprocess.Popen(pre + wrap + args, env=env, stdout=subprocess.DEVNULL, stderr=errlog)
    PROCS.append(p.pid)
    samples = []            # (t, in_flight, not_visible)
    hwm = [0, None]         # highest VmHWM kB seen, worker pid
    stop = threading.Event()

    def worker_pid():
        if not use_time and not wrap:
            return p.pid
        try:
            with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
                kids = f.read().split()
            return int(kids[0]) if kids else None
        except (OSError, ValueError):
            return None

    def sampler():
        while not stop.is_set():
            t = time.monotonic() - t0
            if hwm[1] is None:
                hwm[1] = worker_pid()
                if hwm[1] and hwm[1] != p.pid:
                    PROCS.append(hwm[1])
            if hwm[1]:
                try:
                    with open("/proc/%d/status" % hwm[1]) as f:
                        m = re.search(r"^VmHWM:\s+(\d+) kB", f.read(), re.M)
                    if m:
                        hwm[0] = max(hwm[0], int(m.group(1)))
                except OSError:
                    pass
            inf = nv = None
            try:
                body = http("GET", "http://127.0.0.1:%d/metrics" % mport, timeout=1)[1].decode()
                m = re.search(r"^whochanged_in_flight (\d+)", body, re.M)
                inf = int(m.group(1)) if m else None
            except OSError:
                pass
            if sample_queue:
                try:
                    nv = sqs.counts(qurl)[1]
                except (OSError, RuntimeError):
                    pass
            if inf is not None:
                samples.append((t, inf, nv))
            stop.wait(0.5 if sample_queue else 0.25)

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    deadline = time.monotonic() + RUN_TIMEOUT
    wpid = status = ru = None
    while time.monotonic() < deadline:
        wpid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if wpid:
            break
        time.sleep(0.02)
    wall = time.monotonic() - t0
    stop.set()
    th.join(5)
    PROCS.remove(p.pid)
    if not wpid:
        if hwm[1]:
            stop_pid(hwm[1])
        stop_pid(p.pid)
        p.wait()
        raise RuntimeError("%s: the worker did not finish within %d s" % (name, RUN_TIMEOUT))
    if hwm[1] in PROCS:
        PROCS.remove(hwm[1])
    p.returncode = os.waitstatus_to_exitcode(status)
    errlog.close()
    r = Run()
    r.name, r.n, r.mif, r.lps, r.rc, r.wall = name, len(wl.bodies), mif, lps, p.returncode, wall
    r.hwm_kb = hwm[0]
    if use_time:
        with open(timef) as f:
            kb, ut, stt = f.read().split("\n")[-2].split()
        r.maxrss_kb, r.worker_cpu = int(kb), float(ut) + float(stt)
    else:
        r.maxrss_kb, r.worker_cpu = hwm[0], ru.ru_utime + ru.ru_stime
    r.sqs_cpu = cpu_s(sqs.pid) - c_sqs0
    r.st_cpu = cpu_s(st.pid) - c_st0
    findings = os.path.join(state, "findings.jsonl")
    verdicts = {}
    if os.path.exists(findings):
        # drain: from start to the last finding written (the wall time also
        # holds start-up and --once's final empty 2 s receive)
        r.drain = os.stat(findings).st_mtime - tw0
        for line in open(findings):
            v = json.loads(line)["verdict"]
            verdicts[v] = verdicts.get(v, 0) + 1
    else:
        r.drain = float("nan")
    r.verdicts = verdicts
    stats1 = st.stats()
    r.ct_calls = stats1["calls"] - stats0["calls"]
    r.ct_throttled = stats1["throttled"] - stats0["throttled"]
    r.max_per_second = max([v.get("max_per_second", 0) for v in stats1.get("by_account_region", {}).values()] or [0])
    r.posts = st.n_posts() - posts0
    r.depth = sum(sqs.counts(qurl))
    r.samples = samples
    r.max_in_flight_seen = max([s[1] for s in samples] or [0])
    r.done = sum(verdicts.values())
    r.problems = []
    if r.rc != 0:
        r.problems.append("exit status %s" % r.rc)
    if r.depth != 0:
        r.problems.append("%d message(s) still in the queue after --once exited" % r.depth)
    want = {k: v for k, v in wl.expect.items() if v}
    if verdicts != want:
        r.problems.append("findings %s, expected %s" % (verdicts, want))
    # (no Slack here: the worker paces Slack at 1 post/s, which would be all this
    # measured; the load scenarios measure Slack)
    if r.posts != 0:
        r.problems.append("%d Slack post(s), expected none" % r.posts)
    if r.ct_throttled:
        r.problems.append("%d LookupEvents call(s) throttled by the stand-in" % r.ct_throttled)
    r.ok = not r.problems
    if not r.ok:
        say("  !! %s: %s (log %s)" % (name, "; ".join(r.problems), errlog.name))
    return r


def fmt_run(r):
    return ("%-16s N=%-5d mif=%-3d wall %6.2f s  drain %6.2f s  %7.1f msg/s  worker cpu %5.2f s  "
            "stand-in cpu %5.2f s  fauxqs cpu %5.2f s  maxrss %5.1f MiB (VmHWM seen %5.1f)  ct calls %d (throttled %d)%s" % (
                r.name, r.n, r.mif, r.wall, r.drain, r.done / r.drain, r.worker_cpu, r.st_cpu, r.sqs_cpu,
                r.maxrss_kb / 1024, r.hwm_kb / 1024, r.ct_calls, r.ct_throttled, "" if r.ok else "  [CHECK FAILED]"))


# --- micro-benchmark ---------------------------------------------------------

def callgrind(n_events):
    """Instructions of `whochanged explain` for one notification and a
    LookupEvents-like page of n_events events (one matching)."""
    if not os.path.exists("/usr/bin/valgrind"):
        return None
    d = os.path.join(TMP, "cg%d" % n_events)
    os.makedirs(d, exist_ok=True)
    now = time.time()
    recs = [record(sg(900000), "eu-west-1", now - 20, user("alice"), "aws-cli/2.15.30")]
    for i in range(n_events - 1):
        recs.append(record(sg(910000 + i), "eu-west-1", now - 20 - i, TF, "Terraform/1.7.5"))
    page = {"Events": [{"EventId": r["eventID"], "EventName": r["eventName"], "ReadOnly": "false",
                        "EventTime": int(now - 20), "EventSource": r["eventSource"], "Username": "x",
                        "Resources": [{"ResourceType": "AWS::EC2::SecurityGroup",
                                       "ResourceName": r["requestParameters"]["groupId"]}],
                        "CloudTrailEvent": json.dumps(r)} for r in recs]}
    with open(os.path.join(d, "page.json"), "w") as f:
        json.dump(page, f)
    with open(os.path.join(d, "note.json"), "w") as f:
        f.write(change(sg(900000), "eu-west-1", now - 10))
    with open(os.path.join(d, "config.yaml"), "w") as f:
        f.write('trusted: ["arn:aws:iam::*:role/terraform-*"]\n')
    out = os.path.join(d, "callgrind.out")
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, BIN, "explain",
           "--config", os.path.join(d, "config.yaml"), "--notification", os.path.join(d, "note.json"),
           "--events", os.path.join(d, "page.json")]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        say("  callgrind failed: " + res.stderr[-500:])
        return None
    verdict = json.loads(res.stdout)["verdict"]
    m = re.search(r"Collected : (\d+)", res.stderr)
    if not m:
        with open(out) as f:
            m = re.search(r"^summary: (\d+)", f.read(), re.M)
    return int(m.group(1)), verdict


# --- report ------------------------------------------------------------------

def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1048576)
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "mem": mem, "kernel": platform.release(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                     text=True).stdout.strip() or "?"}


def write_md(text):
    path = os.path.join(ROOT, "BENCHMARKS.md")
    begin, end = "<!-- bench:begin (generated by scripts/bench) -->", "<!-- bench:end -->"
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n" + begin + "\n" + end + "\n"
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
        signal.signal(s, _on_signal)
    if not os.access(BIN, os.X_OK):
        sys.exit("scripts/bench: %s not built (make all)" % BIN)
    mach = machine()
    say("== whochanged bench (%s, %d cpu, %s; logs in %s while it runs)" % (
        mach["cpu"], mach["nproc"], mach["date"], TMP))
    load0 = open("/proc/loadavg").read().split()[:3]
    sqs = Sqs()
    t_start = time.time()
    sizes = [N, N_BIG]

    # 1 + 4. throughput and peak RSS vs max_in_flight and queue depth
    say("== 1. end-to-end throughput: N=%s over %d regions, mix 20%% human / 60%% automation / 20%% aws_service, "
        "--ct-rate 1000, lookups_per_second %d, %d repetitions" % (
            " and ".join(map(str, sizes)), len(REGIONS), FAST_LPS, REPS))
    runs = {(n, m): [] for n in sizes for m in MIFS}
    for rep in range(REPS):
        for n in sizes:
            for mif in MIFS:
                st = Standin(1000, "fast-%d-%d-%d" % (rep, n, mif))   # fresh: its event scan is linear
                try:
                    r = run_worker(sqs, st, "tp-r%d-n%d-m%d" % (rep, n, mif), Workload(n, REGIONS), mif, FAST_LPS)
                finally:
                    st.stop()
                say("  " + fmt_run(r))
                runs[(n, mif)].append(r)

    # 3. lookups per change when nothing is found
    say("== 3. LookupEvents per change when no event is found (N=%d, max_in_flight 64)" % N_MISS)
    st = Standin(1000, "miss")
    try:
        miss = run_worker(sqs, st, "miss-m64", Workload(N_MISS, REGIONS, found=False), 64, FAST_LPS)
    finally:
        st.stop()
    say("  " + fmt_run(miss))

    # 2. CloudTrail's real limit
    say("== 2. CloudTrail's real limit: --ct-rate 2, lookups_per_second 2, one account-region, N=%d, "
        "max_in_flight 64" % N_SLOW)
    st = Standin(2, "slow")
    try:
        slow = run_worker(sqs, st, "slow-m64", Workload(N_SLOW, ["eu-west-1"]), 64, 2, sample_queue=True)
        reqs = json.loads(http("GET", st.url + "/_requests", timeout=30)[1])
    finally:
        st.stop()
    say("  " + fmt_run(slow))
    ct = [q for q in reqs if q.get("role") == "cloudtrail"]
    gaps = [b["time"] - a["time"] for a, b in zip(ct, ct[1:])]
    slow_log = open(os.path.join(TMP, "worker-slow-m64.log")).read()
    slow_failed_lookups = slow_log.count("CloudTrail lookup for")

    # 5. callgrind
    cg = {}
    for n in (1, 50):
        res = callgrind(n)
        if res:
            cg[n] = res
            say("  callgrind explain, %2d-event page: %d instructions (verdict %s)" % (n, res[0], res[1]))

    stop_all()
    total = time.time() - t_start
    load1 = open("/proc/loadavg").read().split()[:3]

    med = statistics.median
    rate = lambda r: r.done / r.drain
    lines = ["| N | max_in_flight | changes/s (median of %d) | the runs | drain s | wall s | worker CPU s | "
             "stand-in CPU s | fauxqs CPU s | worker peak RSS MiB (runs) | highest in-flight seen |" % REPS,
             "|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|"]
    for n in sizes:
        base = None
        for mif in MIFS:
            rs = runs[(n, mif)]
            tput = med([rate(r) for r in rs])
            base = base or tput
            lines.append("| %d | %d | **%.0f** (×%.2f) | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %d |" % (
                n, mif, tput, tput / base, ", ".join("%.0f" % rate(r) for r in rs), med([r.drain for r in rs]),
                med([r.wall for r in rs]), med([r.worker_cpu for r in rs]), med([r.st_cpu for r in rs]),
                med([r.sqs_cpu for r in rs]), " / ".join("%.1f" % (r.maxrss_kb / 1024) for r in rs),
                max(r.max_in_flight_seen for r in rs)))
    table1 = "\n".join(lines)
    all_runs = [r for rs in runs.values() for r in rs]
    n_mix = sum(r.n for r in all_runs)
    calls_mix = sum(r.ct_calls for r in all_runs)
    problems = ["%s: %s" % (r.name, p) for r in all_runs + [miss, slow] for p in r.problems]
    nv = [s[2] for s in slow.samples if s[2] is not None]
    early = [s for s in slow.samples if s[0] <= 6.0]
    rss = {(n, m): med([r.maxrss_kb / 1024 for r in runs[(n, m)]]) for n in sizes for m in MIFS}

    md = []
    md.append("Generated by `make bench` (`scripts/bench build`) on %s, commit `%s`, in %.0f s." % (
        mach["date"], mach["commit"], total))
    md.append("")
    md.append("**Machine:** %s CPU(s) (`nproc`), %s, %s RAM, Linux %s. The worker (`-O2 -g`), the fauxqs SQS "
              "emulator (Node) and the CloudTrail + Slack stand-in (Python, every request's SigV4 verified with "
              "botocore) all run on this machine on 127.0.0.1 and share its cores. Load average (1/5/15 min) "
              "before the bench %s, after it %s: anything above what the bench itself adds (about 1-2) is "
              "other work on the machine, and makes the figures noisier." % (
                  mach["nproc"], mach["cpu"], mach["mem"], mach["kernel"], " ".join(load0), " ".join(load1)))
    md.append("")
    if problems:
        md.append("**Checks that failed in this run** (the other runs passed: exit 0, queue empty, one finding per "
                  "change with the expected verdict, one Slack post per human change, no throttling):")
        md.append("")
        for p in problems:
            md.append("- %s" % p)
    else:
        md.append("Every run passed its checks: exit 0, queue empty, one finding per change with the expected "
                  "verdict, one Slack post per human change, no ThrottlingException.")
    md.append("")
    md.append("### 1. End-to-end throughput, and 4. peak RSS, vs max_in_flight and queue depth")
    md.append("")
    md.append("N changes queued in fauxqs before the worker starts (SNS envelopes, AWS::EC2::SecurityGroup, spread "
              "round-robin over %d regions of one account); mix 20%% human (Slack post + JSON line), 60%% "
              "Terraform role (trusted automation), 20%% Auto Scaling (aws_service); every event is found by the "
              "first lookup. Stand-in `--ct-rate 1000`; worker `cloudtrail.lookups_per_second: %d` (the most the "
              "config accepts), so the worker's own ceiling is %d lookups/s. A fresh stand-in for each run (its "
              "event search is a linear scan). Runs interleaved (rep 1: every N and max_in_flight, then rep 2, "
              "…). **changes/s** = findings ÷ drain time (worker start → last finding written to the JSON lines "
              "file); the wall time adds `--once`'s final empty 2 s receive and the exit. CPU seconds are per "
              "process over the run; peak RSS is the worker's maximum resident set size from GNU time "
              "(`/usr/bin/time -f '%%M %%U %%S'`; the highest VmHWM sampled from /proc agrees within a few "
              "hundred kB)." % (
                  len(REGIONS), FAST_LPS, FAST_LPS * len(REGIONS)))
    md.append("")
    md.append(table1)
    md.append("")
    md.append("Peak RSS, median: %s." % "; ".join(
        "max_in_flight %d: depth %d → %.1f MiB, depth %d → %.1f MiB" % (m, N, rss[(N, m)], N_BIG, rss[(N_BIG, m)])
        for m in MIFS))
    md.append("")
    md.append("### 2. CloudTrail's real limit (2 LookupEvents calls/s per account-region)")
    md.append("")
    md.append("%d changes in one account-region (eu-west-1), same mix, stand-in `--ct-rate 2` (a 3rd call within "
              "any sliding 1 s window gets `ThrottlingException`), worker `lookups_per_second: 2`, "
              "max_in_flight 64." % slow.n)
    md.append("")
    md.append("| figure | value |")
    md.append("|---|---:|")
    md.append("| changes finished (findings) | %d of %d |" % (slow.done, slow.n))
    md.append("| drain time (start → last finding) | %.1f s |" % slow.drain)
    md.append("| throughput | %.2f changes/s |" % (slow.done / slow.drain))
    md.append("| LookupEvents calls seen by the stand-in (incl. throttled) | %d (%.2f per change) |" % (
        slow.ct_calls, slow.ct_calls / slow.n))
    md.append("| of which ThrottlingException | **%d** |" % slow.ct_throttled)
    md.append("| lookups that failed in the worker after its retries (\"looking again in 30 s\") | %d |" %
              slow_failed_lookups)
    md.append("| most accepted calls in any 1 s window (stand-in) | %d |" % slow.max_per_second)
    if gaps:
        md.append("| gap between consecutive calls at the stand-in: min / median | %.3f s / %.3f s |" % (
            min(gaps), med(gaps)))
    md.append("| `whochanged_in_flight` sampled (t s: value) | %s |" % ", ".join(
        "%.1f: %d" % (s[0], s[1]) for s in early))
    md.append("| highest `whochanged_in_flight` | %d |" % slow.max_in_flight_seen)
    md.append("| queue ApproximateNumberOfMessagesNotVisible, same samples | %s |" % ", ".join("%d" % x for x in nv[:len(early)]))
    md.append("| queue depth after `--once` exited | %d |" % slow.depth)
    md.append("")
    md.append("First LookupEvents calls as the stand-in saw them (seconds after the first; status; resource):")
    md.append("")
    md.append("```")
    for q in ct[:24]:
        md.append("%7.3f  %s  %s" % (q["time"] - ct[0]["time"], q["status"],
                                     q["request"]["LookupAttributes"][0]["AttributeValue"]))
    md.append("```")
    md.append("")
    md.append("### 3. LookupEvents calls per change (stand-in `/_stats` calls ÷ changes)")
    md.append("")
    md.append("| changes | calls ÷ changes |")
    md.append("|---|---:|")
    md.append("| the mix, event found by the first lookup (all section 1 runs, %d changes) | %.3f |" % (
        n_mix, calls_mix / n_mix))
    md.append("| no event at all; resource id, name and ARN all different; captured 1 h ago so no retry (%d "
              "changes) | %.3f |" % (miss.n, miss.ct_calls / miss.n))
    md.append("| the mix under the 2/s limit (section 2; throttled calls included) | %.3f |" % (
        slow.ct_calls / slow.n))
    md.append("")
    if cg:
        md.append("### 5. Core path, instruction counts (callgrind)")
        md.append("")
        md.append("`valgrind --tool=callgrind whochanged explain --config C --notification NOTE --events PAGE`: a "
                  "whole process (start-up, config, SNS envelope parse, LookupEvents page parse, correlation, "
                  "classification, JSON output), so the 1-event figure is mostly fixed cost; the difference is "
                  "49 more events (each `CloudTrailEvent` string parsed, matched, classified). Instruction counts "
                  "are repeatable on a noisy machine.")
        md.append("")
        md.append("| LookupEvents page | instructions | verdict |")
        md.append("|---|---:|---|")
        for n in sorted(cg):
            md.append("| %d event(s) | %s | %s |" % (n, "{:,}".format(cg[n][0]), cg[n][1]))
        if 1 in cg and 50 in cg:
            md.append("| per extra event | %s | |" % "{:,}".format((cg[50][0] - cg[1][0]) // 49))
        md.append("")
    md.append("### How it was run")
    md.append("")
    md.append("`make bench` → `scripts/bench build` → `python3 scripts/bench.py build`, which starts "
              "`tests/support/fauxqs/start 0 INIT` and, for each run, the stand-in "
              "(`python3 tests/support/standins/standin.py --cloudtrail --slack --ct-rate R --events EMPTY "
              "--state-dir D --port-file F --quiet`); creates a queue "
              "(CreateQueue, VisibilityTimeout 120), sends the changes (SendMessageBatch), adds their events "
              "(`POST /_events`), and runs `env -i PATH HOME AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY "
              "AWS_EC2_METADATA_DISABLED=true build/whochanged run --once --config CONFIG` with:")
    md.append("")
    md.append("```yaml\nregion: us-east-1\nqueue_url: \"http://127.0.0.1:PORT/000000000000/QUEUE\"\n"
              "endpoints: {sqs: \"http://127.0.0.1:PORT\", cloudtrail: \"http://127.0.0.1:PORT\"}\n"
              "trusted: [\"arn:aws:iam::*:role/terraform-*\"]\n"
              "correlation: {skew_seconds: 180, retry_initial_seconds: 1, retry_for_seconds: 8, coalesce_seconds: 0}\n"
              "cloudtrail: {lookups_per_second: 100}   # 2 in section 2\n"
              "max_in_flight: 64                       # 1, 8, 64\n"
              "state_dir: \"DIR\"\nmetrics_listen: \"127.0.0.1:PORT\"  # sampled every 0.25 s (0.5 s in section 2)\n"
              "notifiers:                               # JSON lines only: the worker paces Slack\n"
              "  - {type: jsonl, path: \"DIR/findings.jsonl\"}  # at 1 post/s (see the load scenarios)\n```")
    text = "\n".join(md)

    say("")
    say(table1)
    say("")
    say("peak RSS (median MiB): " + "; ".join("mif %d: N=%d %.1f, N=%d %.1f" % (
        m, N, rss[(N, m)], N_BIG, rss[(N_BIG, m)]) for m in MIFS))
    say("CloudTrail limit: %d/%d changes in %.1f s = %.2f/s; %d calls, %d throttled, %d failed lookups, "
        "max %d/s; in-flight: %s" % (slow.done, slow.n, slow.drain, slow.done / slow.drain, slow.ct_calls,
                                    slow.ct_throttled, slow_failed_lookups, slow.max_per_second,
                                    [(round(s[0], 1), s[1]) for s in early]))
    say("LookupEvents per change: mix %.3f, not found %.3f" % (calls_mix / n_mix, miss.ct_calls / miss.n))
    if problems:
        say("FAILED CHECKS:\n  " + "\n  ".join(problems))
    if QUICK:
        say("(BENCH_QUICK: BENCHMARKS.md not written)")
    else:
        say("wrote %s" % write_md(text))
    return 1 if problems else 0


if __name__ == "__main__":
    rc = 1
    try:
        rc = main()
    finally:
        stop_all()
        if os.environ.get("BENCH_KEEP") == "1":
            print("kept " + TMP)
        else:
            subprocess.run(["rm", "-rf", TMP])
    sys.exit(rc)

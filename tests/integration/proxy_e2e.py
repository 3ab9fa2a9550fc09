#!/usr/bin/python3
"""End-to-end: `whochanged run` behind an HTTP proxy. The real binary against
the fauxqs SQS emulator and the CloudTrail + Slack + webhook stand-ins, with a
loopback forward proxy (tests/support/proxy.py) that counts what it carries;
all on 127.0.0.1. TAP on stdout. Every process started is stopped (even on
failure); every wait is bounded.

Covered: HTTP_PROXY carries the worker's AWS calls (SQS, CloudTrail) and the
Slack and webhook posts; NO_PROXY=127.0.0.1 bypasses it; the config's proxy:
wins over the environment, with credentials that never reach the log; an
https:// CloudTrail endpoint through a CONNECT tunnel, trusted through
AWS_CA_BUNDLE (and refused without it); bad SDK settings (AWS_RETRY_MODE,
AWS_MAX_ATTEMPTS, FIPS, CA bundle, proxy, the profile's keys) stop `run` naming them."""
import json, os, shutil, signal, subprocess, sys, tempfile, time, uuid

ROOT = os.environ.get("WC_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from e2e import log, start, stop_procs, stop_pid, http, iso, sg, PROCS  # noqa: E402

BIN = os.environ.get("WHOCHANGED") or os.path.join(ROOT, "build", "whochanged")
PY = "/usr/bin/python3"
ACCOUNT = "123456789012"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
PROXY_PASSWORD = "pr0xyPassw0rdE2E"
QUEUES = ["via", "bypass", "cfg", "tls", "notls", "bad"]
TMP = tempfile.mkdtemp(prefix="wc-proxy-e2e.")
WORKERS = []


def stop_workers():
    for p in WORKERS:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    WORKERS.clear()


def stop_all():
    stop_workers()
    stop_procs()


def start_proxy(*args):
    """proxy.py on 127.0.0.1; returns (pid, port)."""
    port_file = os.path.join(TMP, "proxy-%s.port" % uuid.uuid4().hex[:8])
    p = subprocess.Popen([PY, os.path.join(ROOT, "tests/support/proxy.py"), "--port-file", port_file]
                         + list(args), stdout=subprocess.DEVNULL, stderr=open(os.path.join(TMP, "proxy.log"), "a"))
    PROCS.append(p.pid)
    deadline = time.time() + 20
    while time.time() < deadline and not os.path.exists(port_file):
        if p.poll() is not None:
            raise RuntimeError("proxy.py exited with %s" % p.returncode)
        time.sleep(0.05)
    with open(port_file) as f:
        return p.pid, int(f.read())


def dead_port():
    """A loopback port nothing listens on (a proxy that refuses)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Env:
    def __init__(self):
        subprocess.run([os.path.join(ROOT, "scripts", "fauxqs-install")], check=True,
                       capture_output=True, timeout=300)
        queues = [{"name": q, "attributes": {"VisibilityTimeout": "30"}} for q in QUEUES]
        init = os.path.join(TMP, "init.json")
        with open(init, "w") as f:
            json.dump({"region": "us-east-1", "queues": queues}, f)
        env = dict(os.environ, FAUXQS_LOG=os.path.join(TMP, "fauxqs.log"))
        _, self.fq_port = start([os.path.join(ROOT, "tests/support/fauxqs/start"), "0", init], env)
        with open(os.path.join(TMP, "events.json"), "w") as f:
            json.dump([], f)
        env = dict(os.environ, STANDIN_LOG=os.path.join(TMP, "standin.log"))
        _, self.st_port = start([os.path.join(ROOT, "tests/support/standins/start"),
                                 "--cloudtrail", "--slack", "--webhook", "--sts", "--ct-rate", "20",
                                 "--slack-rate", "0", "--events", os.path.join(TMP, "events.json"),
                                 "--state-dir", TMP], env)
        self.st = "http://127.0.0.1:%d" % self.st_port
        self.fq = "http://127.0.0.1:%d" % self.fq_port
        _, self.proxy_port = start_proxy()
        self.proxy = "http://127.0.0.1:%d" % self.proxy_port
        _, self.auth_proxy_port = start_proxy("--auth", "alice:" + PROXY_PASSWORD)
        self.tls = None

    def tls_front(self):
        """An https:// front for the stand-in, its certificate from a CA of
        our own (the "corporate CA" AWS_CA_BUNDLE names)."""
        if not self.tls:
            ca_key, ca, key, csr, crt = (os.path.join(TMP, n) for n in
                                         ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem"))
            ext = os.path.join(TMP, "ext.cnf")
            with open(ext, "w") as f:
                f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
            for cmd in (["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                         "-subj", "/CN=whochanged test CA", "-keyout", ca_key, "-out", ca],
                        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                         "-keyout", key, "-out", csr],
                        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                         "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt]):
                subprocess.run(cmd, check=True, capture_output=True, timeout=60)
            _, port = start_proxy("--tls-front", str(self.st_port), "--cert", crt, "--key", key)
            self.tls = ("https://localhost:%d" % port, ca, port)
        return self.tls

    def sqs(self, op, payload):
        status, body = http("POST", self.fq + "/", json.dumps(payload).encode(), {
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS." + op,
            "x-amzn-query-mode": "true",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0"})
        if status != 200:
            raise RuntimeError("%s: %s %s" % (op, status, body))
        return json.loads(body or b"{}")

    def queue_url(self, q):
        return "%s/000000000000/%s" % (self.fq, q)

    def send_change(self, q, group, actor):
        now = time.time()
        rec = {"eventVersion": "1.10", "eventTime": iso(now - 20), "eventSource": "ec2.amazonaws.com",
               "eventName": "AuthorizeSecurityGroupIngress", "awsRegion": "us-east-1",
               "sourceIPAddress": "203.0.113.10", "userAgent": "aws-cli/2.15.30",
               "requestParameters": {"groupId": group}, "responseElements": None,
               "eventID": str(uuid.uuid4()), "readOnly": False, "eventType": "AwsApiCall",
               "managementEvent": True, "recipientAccountId": ACCOUNT,
               "userIdentity": {"type": "IAMUser", "principalId": "AIDA" + actor.upper(),
                                "arn": "arn:aws:iam::%s:user/%s" % (ACCOUNT, actor), "accountId": ACCOUNT,
                                "accessKeyId": "AKIA" + actor.upper(), "userName": actor}}
        assert http("POST", self.st + "/_events", json.dumps([rec]).encode())[0] == 200
        item = {"relatedEvents": [], "configurationItemCaptureTime": iso(now - 10), "awsAccountId": ACCOUNT,
                "configurationItemStatus": "OK", "resourceType": "AWS::EC2::SecurityGroup",
                "resourceId": group, "resourceName": None,
                "ARN": "arn:aws:ec2:us-east-1:%s:security-group/%s" % (ACCOUNT, group),
                "awsRegion": "us-east-1", "tags": {}, "configurationItemVersion": "1.3",
                "configuration": {"groupId": group}}
        msg = {"configurationItemDiff": {"changeType": "UPDATE", "changedProperties": {
            "Configuration.IpPermissions.0": {"previousValue": None, "changeType": "CREATE",
                                              "updatedValue": {"fromPort": 22, "toPort": 22}}}},
               "configurationItem": item, "notificationCreationTime": iso(now - 10),
               "messageType": "ConfigurationItemChangeNotification", "recordVersion": "1.3"}
        self.sqs("SendMessage", {"QueueUrl": self.queue_url(q), "MessageBody": json.dumps(msg)})

    def proxy_stats(self, port=None):
        return json.loads(http("GET", "http://127.0.0.1:%d/_stats" % (port or self.proxy_port))[1])

    def reset_proxy(self, port=None):
        http("DELETE", "http://127.0.0.1:%d/_stats" % (port or self.proxy_port))

    def posts_for(self, group):
        return [p for p in json.loads(http("GET", self.st + "/_posts")[1]) if group in json.dumps(p["payload"])]

    def webhooks_for(self, group):
        return [w for w in json.loads(http("GET", self.st + "/_webhooks")[1]) if group in json.dumps(w)]

    def config(self, name, ct=None, extra=""):
        path = os.path.join(TMP, name + ".yaml")
        state = os.path.join(TMP, "state-" + name)
        os.makedirs(state, exist_ok=True)
        with open(path, "w") as f:
            f.write("""region: us-east-1
queue_url: "%s"
endpoints: {sqs: "%s", cloudtrail: "%s", sts: "%s"}
correlation: {skew_seconds: 180, retry_initial_seconds: 1, retry_for_seconds: %d}
state_dir: "%s"
log_level: debug
notifiers:
  - {type: slack, webhook_url: "%s/services/T0PROXY/B0PROXY/e2eproxyhooksecret", verdicts: [human]}
  - {type: webhook, url: "%s/webhook", verdicts: [human]}
%s
""" % (self.queue_url(name), self.fq, ct or self.st, self.st, 3 if ct else 8, state, self.st, self.st, extra))
        return path

    def run(self, name, env_extra, ct=None, extra="", timeout=90):
        env = {"PATH": os.environ["PATH"], "HOME": TMP, "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        env.update(env_extra)
        errlog = open(os.path.join(TMP, "worker-%s.log" % name), "a")
        p = subprocess.Popen([BIN, "run", "--config", self.config(name, ct, extra), "--once"], env=env,
                             stdout=subprocess.PIPE, stderr=errlog, text=True)
        errlog.close()
        WORKERS.append(p)
        try:
            p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise AssertionError("worker did not finish within %d s" % timeout)
        return p.returncode

    def worker_log(self, name):
        with open(os.path.join(TMP, "worker-%s.log" % name)) as f:
            return f.read()


def wait_for(pred, timeout, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def http_proxy_carries_aws_calls_and_notifications(e):
    group = sg(0x9001)
    e.send_change("via", group, "pat")
    e.reset_proxy()
    assert e.run("via", {"HTTP_PROXY": e.proxy}) == 0
    assert wait_for(lambda: e.posts_for(group), 10), "no Slack post"
    assert e.webhooks_for(group), "no webhook post"
    st = e.proxy_stats()
    hosts = st["hosts"]
    fq, sti = "127.0.0.1:%d" % e.fq_port, "127.0.0.1:%d" % e.st_port
    # SQS (receive, delete, ...) and CloudTrail + Slack + webhook (one stand-in port)
    assert hosts.get(fq, 0) >= 2, st
    assert hosts.get(sti, 0) >= 3, st
    assert st["connects"] == 0 and st["refused"] == 0, st
    assert "via proxy" in e.worker_log("via")


@test
def no_proxy_bypasses_it(e):
    group = sg(0x9002)
    e.send_change("bypass", group, "quinn")
    e.reset_proxy()
    assert e.run("bypass", {"http_proxy": e.proxy, "NO_PROXY": "127.0.0.1"}) == 0
    assert wait_for(lambda: e.posts_for(group), 10), "no Slack post"
    assert e.webhooks_for(group), "no webhook post"
    st = e.proxy_stats()
    assert st["forwarded"] == 0 and st["connects"] == 0, st


@test
def config_proxy_wins_and_its_password_stays_out_of_the_log(e):
    group = sg(0x9003)
    e.send_change("cfg", group, "rene")
    e.reset_proxy(e.auth_proxy_port)
    # the environment names a proxy that refuses: the config's is used
    rc = e.run("cfg", {"HTTP_PROXY": "http://127.0.0.1:%d" % dead_port()},
               extra='proxy: "http://alice:%s@127.0.0.1:%d"' % (PROXY_PASSWORD, e.auth_proxy_port))
    assert rc == 0, rc
    assert wait_for(lambda: e.posts_for(group), 10), "no Slack post"
    st = e.proxy_stats(e.auth_proxy_port)
    assert st["forwarded"] >= 5 and st["auth_failures"] == 0, st
    wl = e.worker_log("cfg")
    assert PROXY_PASSWORD not in wl, "proxy password in the log"
    assert "http://***@127.0.0.1:%d" % e.auth_proxy_port in wl, wl[-1500:]


@test
def https_endpoint_through_connect_with_aws_ca_bundle(e):
    url, ca, tls_port = e.tls_front()
    group = sg(0x9004)
    e.send_change("tls", group, "sam")
    e.reset_proxy()
    # only https:// goes through the proxy: SQS (http://) goes direct
    assert e.run("tls", {"HTTPS_PROXY": e.proxy, "AWS_CA_BUNDLE": ca}, ct=url) == 0
    assert wait_for(lambda: e.posts_for(group), 10), "no Slack post (CloudTrail over TLS failed?)"
    st = e.proxy_stats()
    assert st["connects"] >= 1 and st["hosts"].get("localhost:%d" % tls_port, 0) >= 1, st
    assert st["forwarded"] == 0, st


@test
def https_endpoint_refused_without_the_ca_bundle(e):
    url, _, tls_port = e.tls_front()
    group = sg(0x9005)
    e.send_change("notls", group, "tess")
    e.reset_proxy()
    e.run("notls", {"HTTPS_PROXY": e.proxy}, ct=url, timeout=120)
    st = e.proxy_stats()
    assert st["connects"] >= 1, st  # it tried, through the tunnel
    assert not e.posts_for(group), "posted although the CloudTrail certificate is unknown"
    assert "certificate" in e.worker_log("notls").lower(), e.worker_log("notls")[-1500:]


@test
def bad_sdk_settings_stop_run_with_their_name(e):
    home = os.path.join(TMP, "home-bad")
    os.makedirs(os.path.join(home, ".aws"), exist_ok=True)
    with open(os.path.join(home, ".aws", "config"), "w") as f:
        f.write("[profile dev]\nretry_mode = fast\n[default]\nuse_dualstack_endpoint = maybe\n")
    cfg = e.config("bad")
    cases = [({"AWS_RETRY_MODE": "bogus"}, "AWS_RETRY_MODE must be standard, adaptive or legacy"),
             ({"AWS_MAX_ATTEMPTS": "0"}, "AWS_MAX_ATTEMPTS must be a whole number from 1 to 20"),
             ({"AWS_USE_FIPS_ENDPOINT": "yes"}, "AWS_USE_FIPS_ENDPOINT must be true or false"),
             ({"AWS_CA_BUNDLE": os.path.join(TMP, "missing.pem")}, "AWS_CA_BUNDLE: cannot read"),
             ({"HTTPS_PROXY": "ftp://bob:%s@proxy:21" % PROXY_PASSWORD}, "HTTPS_PROXY: not a proxy URL"),
             ({"AWS_PROFILE": "dev", "HOME": home}, "profile dev: retry_mode must be"),
             ({"HOME": home}, "profile default: use_dualstack_endpoint must be true or false")]
    for extra, want in cases:
        env = {"PATH": os.environ["PATH"], "HOME": TMP, "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET}
        env.update(extra)
        out = subprocess.run([BIN, "run", "--config", cfg, "--once"], env=env, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 2, (extra, out.returncode, out.stderr[-500:])
        assert want in out.stderr, (extra, out.stderr[-500:])
        assert PROXY_PASSWORD not in out.stderr

def main():
    print("1..%d" % len(TESTS))
    try:
        e = Env()
    except Exception as ex:  # noqa
        for i, t in enumerate(TESTS, 1):
            print("not ok %d - %s # environment: %s" % (i, t.__name__, ex))
        stop_all()
        return 1
    failed = 0
    only = os.environ.get("WC_E2E_ONLY")
    for i, t in enumerate(TESTS, 1):
        if only and only not in t.__name__:
            print("ok %d - %s # SKIP" % (i, t.__name__.replace("_", " ")))
            continue
        t0 = time.time()
        try:
            t(e)
            print("ok %d - %s" % (i, t.__name__.replace("_", " ")))
        except Exception as ex:  # noqa
            failed += 1
            print("not ok %d - %s" % (i, t.__name__.replace("_", " ")))
            log("%s: %s" % (type(ex).__name__, ex))
            for f in sorted(os.listdir(TMP)):
                p = os.path.join(TMP, f)
                if f.startswith("worker-") and os.path.getmtime(p) >= t0:
                    log("%s:\n%s" % (f, open(p).read()[-1500:]))
        finally:
            stop_workers()
        log("%s: %.1f s" % (t.__name__, time.time() - t0))
        sys.stdout.flush()
    stop_all()
    return 1 if failed else 0


if __name__ == "__main__":
    rc = 1
    try:
        rc = main()
    finally:
        stop_all()
        if not os.environ.get("WC_E2E_KEEP"):
            shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(rc)

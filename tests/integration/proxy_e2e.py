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
import json, os, subprocess, sys, time, uuid

ROOT = os.environ.get("WC_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import e2e  # noqa: E402
import suite  # noqa: E402
from e2e import PROCS, free_port, http, sg, wait_for  # noqa: E402

PY = "/usr/bin/python3"
PROXY_PASSWORD = "pr0xyPassw0rdE2E"
QUEUES = {q: ("30", None) for q in ["via", "bypass", "cfg", "tls", "notls", "bad"]}
S = suite.Suite("wc-proxy-e2e.", ROOT)
TMP = S.tmp
test = S.test


def start_proxy(*args):
    """proxy.py on 127.0.0.1; returns (pid, port)."""
    port_file = os.path.join(TMP, "proxy-%s.port" % uuid.uuid4().hex[:8])
    with open(os.path.join(TMP, "proxy.log"), "a") as log:
        p = subprocess.Popen([PY, os.path.join(ROOT, "tests/support/proxy.py"), "--port-file", port_file]
                             + list(args), stdout=subprocess.DEVNULL, stderr=log)
    PROCS.append(p.pid)
    deadline = time.time() + 20
    while time.time() < deadline and not os.path.exists(port_file):
        if p.poll() is not None:
            raise RuntimeError("proxy.py exited with %s" % p.returncode)
        time.sleep(0.05)
    with open(port_file) as f:
        return p.pid, int(f.read())


class Env(e2e.Services):
    def __init__(self, suite_):
        super().__init__(ROOT, TMP, QUEUES, ["--cloudtrail", "--slack", "--webhook", "--sts", "--ct-rate", "20",
                                             "--slack-rate", "0"])
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

    def send_change(self, q, group, actor):
        now = time.time()
        self.add_events([e2e.record(str(uuid.uuid4()), "AuthorizeSecurityGroupIngress", now - 20, e2e.user(actor),
                                    {"groupId": group})])
        self.send(q, e2e.change(group, now - 10, envelope=False, configuration={"groupId": group}))

    def proxy_stats(self, port=None):
        return json.loads(http("GET", "http://127.0.0.1:%d/_stats" % (port or self.proxy_port))[1])

    def reset_proxy(self, port=None):
        http("DELETE", "http://127.0.0.1:%d/_stats" % (port or self.proxy_port))

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
        p = S.worker(["run", "--config", self.config(name, ct, extra), "--once"],
                     os.path.join(TMP, "worker-%s.log" % name), env=env_extra, stdout=subprocess.PIPE)
        return e2e.finish(p, timeout)[0]


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
    rc = e.run("cfg", {"HTTP_PROXY": "http://127.0.0.1:%d" % free_port()},
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
        out = subprocess.run([S.binary, "run", "--config", cfg, "--once"], env=e2e.worker_env(TMP, extra=extra),
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2, (extra, out.returncode, out.stderr[-500:])
        assert want in out.stderr, (extra, out.stderr[-500:])
        assert PROXY_PASSWORD not in out.stderr


if __name__ == "__main__":
    S.main(Env)

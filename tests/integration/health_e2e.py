#!/usr/bin/python3
"""Honest health, end to end (issue 9): the real `whochanged run` against
the fauxqs SQS emulator behind tests/support/faultproxy.py, and the
CloudTrail / STS / Slack stand-ins, every server on 127.0.0.1 with an
OS-given port, every wait bounded. TAP on stdout.

  - every labelled series is on /metrics from start-up (zeros), a
    notifier's `name:` as its label;
  - SQS answering AccessDenied: after health.max_receive_failures failed
    receives /healthz says 503 and whochanged_ready 0, the log says "not
    authorized to sqs:ReceiveMessage on <the queue URL>" once per failed
    receive (one warn line, not two), whochanged_aws_requests_total counts
    code="access_denied"; once SQS answers again, 200 and ready 1;
  - SQS unreachable (the proxy stops listening): the same, and back;
  - a change after that is posted, and the notification delay histogram
    and the notifier's counter count it; the JSON outcome line carries
    verdict, resource, actor, action, account, region and duration_ms;
  - an SNS SubscriptionConfirmation on the queue is counted in
    whochanged_subscription_confirmations_total{queue="changes"};
  - `run --once` against a queue that keeps refusing exits 1.

WC_E2E_KEEP=1 keeps the temporary directory."""
import json
import os
import re
import subprocess
import sys
import time
import uuid

ROOT = os.environ.get("WC_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import e2e  # noqa: E402
import suite  # noqa: E402
from e2e import ACCOUNT, free_port, http, iso, read, sg, wait_for  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

HOOK = "T0HEALTH/B0HEALTH/healthsecret"
HANA = {"type": "IAMUser", "principalId": "AIDAHEALTH", "arn": "arn:aws:iam::%s:user/hana" % ACCOUNT,
        "accountId": ACCOUNT, "accessKeyId": "AKIAHEALTH", "userName": "hana"}
S = suite.Suite("wc-health-e2e.", ROOT)
TMP = S.tmp


def record(event_id, t, resource_id):
    return e2e.record(event_id, "AuthorizeSecurityGroupIngress", t, HANA, {"groupId": resource_id})


# --- the worker ----------------------------------------------------------------

def write_config(name, queue, proxy_port, standin_url, metrics_port=None):
    path = os.path.join(TMP, name + ".yaml")
    with open(path, "w") as f:
        f.write("""region: us-east-1
queue_url: "http://127.0.0.1:%d/000000000000/%s"
endpoints: {sqs: "http://127.0.0.1:%d", cloudtrail: "%s", sts: "%s"}
trusted: ["arn:aws:iam::*:role/terraform-*"]
correlation: {skew_seconds: 180, retry_initial_seconds: 1, retry_for_seconds: 60, digest_seconds: 0}
max_in_flight: 8
state_dir: "%s"
health: {max_receive_failures: 3}
notifiers:
  - {type: slack, name: slack-sec, webhook_url: "%s/services/%s", verdicts: [human]}
%s
""" % (proxy_port, queue, proxy_port, standin_url, standin_url, os.path.join(TMP, "state-" + name),
            standin_url, HOOK,
            'metrics_listen: "127.0.0.1:%d"' % metrics_port if metrics_port else ""))
    return path


def start_worker(config, log_path, args=()):
    return S.worker(["run", "-c", config, "--log-format", "json"] + list(args), log_path, mode="w")


class Probe:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def health(self):
        try:
            return http("GET", self.base + "/healthz", timeout=3)[0]
        except OSError:
            return None

    def metrics(self):
        try:
            status, body = http("GET", self.base + "/metrics", timeout=3)
        except OSError:
            return ""
        return body.decode() if status == 200 else ""

    def value(self, series):
        m = re.search(r"^%s (\S+)$" % re.escape(series), self.metrics(), flags=re.M)
        return float(m.group(1)) if m else None


SUBSCRIPTIONS = 'whochanged_subscription_confirmations_total{queue="changes"}'


def aws_series(op, code):
    return 'whochanged_aws_requests_total{service="sqs",operation="%s",code="%s"}' % (op, code)


# --- the scenarios -----------------------------------------------------------------

CHECKS = [
    "ready at start: /healthz 200",
    "every labelled series present from start-up, the notifier by its name",
    "SQS answering AccessDenied: /healthz 503 within 45 s",
    "... whochanged_ready 0, receive failures >= 3, access_denied counted",
    "... the log says which action is not authorized, not 'authentication failed'",
    "... one AccessDenied line per failed receive, naming the action and the queue",
    "SQS answering again: /healthz 200, whochanged_ready 1",
    "SQS unreachable: /healthz 503",
    "... counted as transport errors",
    "SQS reachable again: /healthz 200",
    "a change after the outage is posted to Slack",
    "the notifier counter (by name) and the delay histogram count it (within 60 s of capture)",
    "the JSON outcome line has verdict, resource, actor, action, account, region, "
    "duration_ms as fields, and a millisecond timestamp",
    "an SNS SubscriptionConfirmation is counted: " + SUBSCRIPTIONS,
    "the worker stops on SIGTERM with status 0",
    "run --once with SQS refusing every receive exits 1",
]


@S.test(checks=CHECKS)
def health(c):
    check = c.check
    svc = e2e.Services(ROOT, TMP, {q: ("10", "10") for q in ("health", "once")}, ["--cloudtrail", "--sts", "--slack"],
                       init_name="fauxqs-init.json")
    fq_port, st_url = svc.fq_port, svc.st
    proxy = FaultProxy(fq_port, seed=9)
    proxy_port = proxy.start()
    mport = free_port()
    log_path = os.path.join(TMP, "worker.log")
    w = start_worker(write_config("health", "health", proxy_port, st_url, mport), log_path)
    probe = Probe(mport)
    try:
        # 1. series from start-up
        first = wait_for(lambda: probe.health() == 200 and probe.metrics(), 20)
        check("ready at start: /healthz 200", first, read(log_path))
        text = probe.metrics()
        check("every labelled series present from start-up, the notifier by its name",
              'whochanged_notifications_total{notifier="slack-sec"} 0' in text and
              'whochanged_notifier_failures_total{notifier="slack-sec"} 0' in text and
              'whochanged_aws_requests_total{service="cloudtrail",operation="LookupEvents",code="ok"} 0'
              in text and aws_series("ReceiveMessage", "access_denied") + " 0" in text and
              'whochanged_notification_delay_seconds_count 0' in text and
              SUBSCRIPTIONS + " 0" in text and
              'whochanged_subscription_confirmations_total{queue="events"} 0' in text and
              "whochanged_receive_failures 0" in text, text[-3000:])

        # 2. AccessDenied: not ready after 3 failed receives, ready after a success
        proxy.configure(script=["denied"] * 50, ops=["ReceiveMessage"])
        t0 = time.time()
        went = wait_for(lambda: probe.health() == 503, 45)
        check("SQS answering AccessDenied: /healthz 503 within 45 s", went, read(log_path)[-3000:])
        check("... whochanged_ready 0, receive failures >= 3, access_denied counted",
              probe.value("whochanged_ready") == 0 and
              (probe.value("whochanged_receive_failures") or 0) >= 3 and
              (probe.value(aws_series("ReceiveMessage", "access_denied")) or 0) >= 3,
              probe.metrics()[-4000:])
        log_text = read(log_path)
        check("... the log says which action is not authorized, not 'authentication failed'",
              "not authorized to sqs:ReceiveMessage on http://127.0.0.1:%d/000000000000/health "
              "(AccessDenied" % proxy_port in log_text and
              "authentication failed" not in log_text and
              "not ready until a receive succeeds" in log_text, log_text[-3000:])
        # one warn line per refused receive: the lines up to the last failure
        # the runner reports (a receive may be half-logged as we read)
        lines = log_text.splitlines()
        failed = [i for i, line in enumerate(lines)
                  if "receive failed" in line and "not authorized or credentials refused" in line]
        denied = [line for line in lines[:failed[-1] + 1] if "AccessDenied" in line] if failed else []
        check("... one AccessDenied line per failed receive, naming the action and the queue",
              len(failed) >= 3 and len(denied) == len(failed) and
              all("not authorized to sqs:ReceiveMessage on http://" in line for line in denied),
              "%d failed receives, %d AccessDenied lines:\n%s" % (len(failed), len(denied),
                                                                 "\n".join(denied[:6])))
        e2e.log("not ready after %.1f s" % (time.time() - t0))
        proxy.configure()  # SQS answers again
        back = wait_for(lambda: probe.health() == 200, 45)
        check("SQS answering again: /healthz 200, whochanged_ready 1",
              back and probe.value("whochanged_ready") == 1 and
              probe.value("whochanged_receive_failures") == 0, read(log_path)[-3000:])

        # 3. unreachable: the proxy stops listening
        proxy.stop()
        went = wait_for(lambda: probe.health() == 503, 60)
        check("SQS unreachable: /healthz 503", went, read(log_path)[-3000:])
        check("... counted as transport errors",
              (probe.value(aws_series("ReceiveMessage", "transport")) or 0) >= 1,
              probe.metrics()[-4000:])
        proxy.start()
        back = wait_for(lambda: probe.health() == 200, 60)
        check("SQS reachable again: /healthz 200", back, read(log_path)[-3000:])

        # 4. a change is posted; delay histogram, notifier counter, JSON fields
        now = time.time()
        rid = sg(0x4ea1)
        svc.add_events([record("ev-health-1", now - 20, rid)])
        svc.send("health", e2e.change(rid, now - 10))
        check("a change after the outage is posted to Slack", wait_for(lambda: svc.posts_for(rid), 60),
              read(log_path)[-3000:])
        counted = wait_for(lambda: probe.value('whochanged_notifications_total{notifier="slack-sec"}') == 1,
                           10)
        count = probe.value("whochanged_notification_delay_seconds_count")
        le60 = probe.value('whochanged_notification_delay_seconds_bucket{le="60"}')
        check("the notifier counter (by name) and the delay histogram count it (within 60 s of capture)",
              counted and count == 1 and le60 == 1, probe.metrics()[-4000:])
        outcome = not_json = None
        for line in read(log_path).splitlines():
            try:
                o = json.loads(line)
            except ValueError:
                not_json = line[:300]  # every log line is JSON
                break
            if o.get("verdict") == "human" and rid in (o.get("resource") or ""):
                outcome = o
        check("the JSON outcome line has verdict, resource, actor, action, account, region, "
              "duration_ms as fields, and a millisecond timestamp",
              not_json is None and outcome is not None and outcome.get("actor") == "hana" and
              outcome.get("action") and outcome.get("account") == ACCOUNT and
              outcome.get("region") == "us-east-1" and isinstance(outcome.get("duration_ms"), int) and
              re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", outcome.get("ts", "")),
              "not JSON: %r" % not_json if not_json is not None else json.dumps(outcome))

        # 5. an SNS SubscriptionConfirmation: left for the operator, and counted
        topic = "arn:aws:sns:us-east-1:%s:config" % ACCOUNT
        svc.send("health", json.dumps({
            "Type": "SubscriptionConfirmation", "MessageId": str(uuid.uuid4()),
            "Token": "2336412f37EXAMPLE", "TopicArn": topic,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
                            "&TopicArn=%s&Token=2336412f37EXAMPLE" % topic,
            "Timestamp": iso(time.time()), "SignatureVersion": "1", "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.example/cert.pem"}))
        counted = wait_for(lambda: (probe.value(SUBSCRIPTIONS) or 0) >= 1, 30)
        check("an SNS SubscriptionConfirmation is counted: " + SUBSCRIPTIONS,
              counted and "SNS SubscriptionConfirmation for topic " + topic in read(log_path) and
              probe.value('whochanged_subscription_confirmations_total{queue="events"}') == 0,
              probe.metrics()[-4000:] + read(log_path)[-2000:])
    finally:
        rc = e2e.stop_worker(w)
    check("the worker stops on SIGTERM with status 0", rc == 0, read(log_path)[-2000:])

    # 6. --once against a queue that keeps refusing: exit 1, not forever
    proxy.configure(script=["denied"] * 50, ops=["ReceiveMessage"])
    once_log = os.path.join(TMP, "once.log")
    t0 = time.time()
    p = start_worker(write_config("once", "once", proxy_port, st_url), once_log, ["--once"])
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)
        rc = None
    c.note("run --once exited %s after %.0f s" % (rc, time.time() - t0))
    check("run --once with SQS refusing every receive exits 1",
          rc == 1 and "--once gives up" in read(once_log), (rc, read(once_log)[-2000:]))
    proxy.stop()


if __name__ == "__main__":
    S.main()

#!/usr/bin/python3
"""Local stand-ins for the services whochanged talks to, for tests and the
demo: CloudTrail LookupEvents, AWS Config GetResourceConfigHistory, STS, S3 GetObject, IMDSv2, ECS container
credentials, IAM Identity Center (portal and OIDC), DynamoDB (signatures and
policy here, the data in dynalite behind), Slack and a generic webhook
receiver. One process, one port on
127.0.0.1, roles chosen by flags. Every AWS request's SigV4 signature is
verified independently with botocore. See README.md for flags and formats.

Run with /usr/bin/python3 (needs Debian's python3-botocore)."""

import argparse
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer



def _early_exit(_signum, _frame):
    raise SystemExit(0)


# Until the server runs (botocore takes a moment to import), SIGTERM/SIGINT
# just end the process cleanly.
signal.signal(signal.SIGTERM, _early_exit)
signal.signal(signal.SIGINT, _early_exit)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import awsauth  # noqa: E402
import cloudtrail  # noqa: E402
import configservice  # noqa: E402
import creds  # noqa: E402
import dynamodb  # noqa: E402
import notify  # noqa: E402
import s3  # noqa: E402
import sso  # noqa: E402
import sts  # noqa: E402
from common import (Clock, Faults, Hang, Recorder, Request, Reset, Response,  # noqa: E402
                    json_response, parse_faults)

MAX_BODY = 16 * 1024 * 1024
_WEBHOOK_SECRET_RE = re.compile(r"(/services/[^/\s]+/[^/\s]+/)[^\s?\"]+")
ROLES = ("cloudtrail", "sts", "s3", "imds", "ecs", "sso", "slack", "webhook", "config", "dynamodb")


class Stats:
    def __init__(self):
        self._lock = threading.Lock()
        self.ct = {"calls": 0, "throttled": 0, "faults": 0, "by_account_region": {}}
        self.roles = {}
        self.auth_failures = {}
        self.requests = []

    def ct_call(self, scope, throttled=False, fault=None, window=0):
        with self._lock:
            s = self.ct["by_account_region"].setdefault(
                scope, {"calls": 0, "throttled": 0, "faults": 0, "max_per_second": 0})
            self.ct["calls"] += 1
            s["calls"] += 1
            if throttled:
                self.ct["throttled"] += 1
                s["throttled"] += 1
            if fault:
                self.ct["faults"] += 1
                s["faults"] += 1
            s["max_per_second"] = max(s["max_per_second"], window)

    def count(self, role, what):
        with self._lock:
            r = self.roles.setdefault(role, {})
            r[what] = r.get(what, 0) + 1

    def auth_failure(self, role, kind):
        with self._lock:
            r = self.auth_failures.setdefault(role, {})
            r[kind] = r.get(kind, 0) + 1

    def log(self, entry):
        with self._lock:
            self.requests.append(entry)
            if len(self.requests) > 10000:
                del self.requests[0]

    def snapshot(self):
        with self._lock:
            out = json.loads(json.dumps(self.ct))
            out["roles"] = json.loads(json.dumps(self.roles))
            out["auth_failures"] = json.loads(json.dumps(self.auth_failures))
            return out

    def request_log(self):
        with self._lock:
            return list(self.requests)


class App:
    def __init__(self, args):
        self.args = args
        self.clock = Clock(args.clock_offset)
        self.stats = Stats()
        self.faults = Faults()
        self.store = awsauth.CredStore()
        accounts = dict(_pairs(args.account_for_key, "--account-for-key"))
        self.store.add(awsauth.Cred(awsauth.DEFAULT_KEY, awsauth.DEFAULT_SECRET,
                                    account=accounts.get(awsauth.DEFAULT_KEY,
                                                         args.default_account)))
        for akid, secret in _pairs(args.key, "--key"):
            self.store.add(awsauth.Cred(akid, secret,
                                        account=accounts.get(akid, args.default_account)))
        state = args.state_dir
        if state:
            os.makedirs(state, exist_ok=True)
        self.enabled = {r for r in ROLES if getattr(args, r)}
        if not self.enabled:
            raise SystemExit("standin: choose at least one role (--%s)" % " --".join(ROLES))

        self.ct = None
        if "cloudtrail" in self.enabled:
            self.ct = cloudtrail.CloudTrail(self.clock, self.stats, args.ct_rate,
                                            args.ct_retention_days)
            for path in args.events or []:
                self.ct.add_records(cloudtrail.load_events(path), 0.0)
        self.config = None
        if "config" in self.enabled:
            self.config = configservice.Config(self.clock, self.stats, args.config_rate,
                                               args.config_max_page, args.config_deny)
            for path in args.config_history or []:
                self.config.add_items(configservice.load_items(path))
        self.sts = None
        if "sts" in self.enabled:
            token = args.web_identity_token
            if token and token.startswith("@"):
                with open(token[1:], encoding="utf-8") as f:
                    token = f.read()
            self.sts = sts.Sts(self.clock, self.store, self.stats, args.role,
                               dict(_pairs(args.role_external_id, "--role-external-id", last=True)),
                               token.strip() if token else None, args.sts_cred_ttl,
                               args.role_max_duration)
        self.s3 = s3.S3(args.s3_dir, self.stats,
                        dict(_pairs(args.s3_bucket_region, "--s3-bucket-region"))) \
            if "s3" in self.enabled else None
        self.imds = creds.Imds(self.clock, self.store, self.stats, args.imds_role,
                               args.default_account, args.imds_region, args.cred_ttl,
                               args.imds_v1) if "imds" in self.enabled else None
        self.ecs = creds.Ecs(self.clock, self.store, self.stats, args.ecs_path, args.ecs_token,
                             args.default_account, args.cred_ttl, args.ecs_role_arn,
                             args.ecs_eks) if "ecs" in self.enabled else None
        self.sso = None
        if "sso" in self.enabled:
            tokens = {}
            for item in args.sso_token or []:
                token, sep, ttl = item.rpartition("=")
                if not sep:
                    token, ttl = item, args.sso_token_ttl
                tokens[token] = float(ttl)
            self.sso = sso.Sso(self.clock, self.store, self.stats, tokens, args.sso_assignment,
                               args.sso_cred_ttl, dict(_pairs(args.sso_client, "--sso-client")),
                               args.sso_refresh_token, args.sso_token_ttl)
        self.ddb = None
        if "dynamodb" in self.enabled:
            if not args.dynamodb_upstream:
                raise ValueError("--dynamodb needs --dynamodb-upstream http://127.0.0.1:PORT "
                                 "(dynalite)")
            self.ddb = dynamodb.DynamoDB(args.dynamodb_upstream, self.stats, args.dynamodb_deny)
        self.posts = Recorder(os.path.join(state, "slack.jsonl") if state else None)
        self.hooks = Recorder(os.path.join(state, "webhook.jsonl") if state else None)
        self.slack = notify.Slack(self.stats, self.posts, args.slack_token,
                                  args.slack_channel, args.slack_webhook, args.slack_rate,
                                  args.slack_burst) \
            if "slack" in self.enabled else None
        self.webhook = notify.Webhook(self.stats, self.hooks, args.webhook_path,
                                      args.webhook_secret) if "webhook" in self.enabled else None
        if args.slack_faults:
            self.faults.set("slack", parse_faults(args.slack_faults))
        for spec in args.faults or []:
            role, _, items = spec.partition("=")
            self.faults.set(role, parse_faults(items))

    # ---- control endpoints ------------------------------------------------
    def control(self, req):
        p, m = req.path, req.method
        if p == "/_health":
            return json_response(200, {"status": "ok", "roles": sorted(self.enabled)})
        if p == "/_stats" and m == "GET":
            return json_response(200, self.stats.snapshot())
        if p == "/_requests" and m == "GET":
            return json_response(200, self.stats.request_log())
        if p == "/_posts":
            if m == "DELETE":
                self.posts.clear()
                return json_response(200, {"ok": True})
            return json_response(200, self.posts.items())
        if p == "/_webhooks":
            if m == "DELETE":
                self.hooks.clear()
                return json_response(200, {"ok": True})
            return json_response(200, self.hooks.items())
        if p == "/_faults":
            if m == "GET":
                return json_response(200, self.faults.snapshot())
            if m == "DELETE":
                self.faults.clear()
                return json_response(200, {"ok": True})
            if m == "POST":
                try:
                    spec = json.loads(req.body or b"{}")
                    append = bool(spec.pop("append", False))
                    if spec.pop("clear", False):
                        self.faults.clear()
                    for role, items in spec.items():
                        if role not in ROLES:
                            raise ValueError("unknown role %r" % role)
                        if isinstance(items, list):
                            items = ",".join(str(x) for x in items)
                        self.faults.set(role, parse_faults(str(items)), append)
                except (ValueError, AttributeError) as e:
                    return json_response(400, {"ok": False, "error": str(e)})
                return json_response(200, {"ok": True, "pending": self.faults.snapshot()})
        if p == "/_dynamodb" and self.ddb is not None:
            if m == "POST":
                try:
                    spec = json.loads(req.body or b"{}")
                    self.ddb.set_deny([str(a) for a in spec.get("deny", [])])
                except (ValueError, AttributeError, TypeError) as e:
                    return json_response(400, {"ok": False, "error": str(e)})
            return json_response(200, {"deny": self.ddb.denied()})
        if p == "/_events" and m == "POST" and self.ct is not None:
            try:
                records = json.loads(req.body)
                if isinstance(records, dict):
                    records = records.get("Records") or [records]
                n = self.ct.add_records(records, self.clock.since_start())
            except (ValueError, KeyError, TypeError) as e:
                return json_response(400, {"ok": False, "error": str(e)})
            return json_response(200, {"ok": True, "added": n})
        return json_response(404, {"ok": False, "error": "no such control endpoint"})

    # ---- dispatch ---------------------------------------------------------
    def dispatch(self, req):
        """-> (role, Response or Hang)"""
        if req.path.startswith("/_"):
            return "control", self.control(req)
        for role, svc in (("imds", self.imds), ("ecs", self.ecs), ("sso", self.sso),
                          ("slack", self.slack), ("webhook", self.webhook)):
            if svc is not None and svc.owns(req):
                fault, reset = self._take_fault(role)
                return role, reset or svc.handle(req, fault)

        if self.ddb is not None and self.ddb.owns(req):
            return "dynamodb", self._aws(req, "dynamodb", self.ddb, dynamodb.auth_error)
        target = req.header("X-Amz-Target")
        if target is not None and target.startswith(configservice.TARGET_PREFIX):
            if self.config is None:
                return "config", configservice._err("UnknownOperationException", "")
            return "config", self._aws(req, "config", self.config, configservice.auth_error)
        if target is not None:
            if self.ct is None:
                return "cloudtrail", cloudtrail._err("UnknownOperationException", "")
            return "cloudtrail", self._aws(req, "cloudtrail", self.ct, cloudtrail.auth_error)
        is_query = req.path == "/" and (
            (req.method == "POST" and "x-www-form-urlencoded" in
             (req.header("Content-Type") or "").lower()) or "Action=" in req.query)
        if is_query:
            if self.sts is None:
                return "sts", sts.error("InvalidAction", "STS is not enabled", 400)
            if sts.Sts.is_unsigned_action(req):
                return "sts", self._with_fault("sts", lambda f: self.sts.handle(req, None, f))
            return "sts", self._aws(req, "sts", self.sts, sts.auth_error)
        if self.s3 is not None and req.method in ("GET", "HEAD", "PUT", "POST", "DELETE"):
            return "s3", self._aws(req, "s3", self.s3, s3.auth_error, is_s3=True)
        return "none", Response(404, "Not Found", "text/plain")

    def _take_fault(self, role):
        """-> (fault for the role's handler, or None; a Reset, or None).

        Two kinds are the same for every role and served here: `delay`
        holds the request, then lets it be served normally (a slow answer);
        `reset` aborts the connection."""
        fault = self.faults.take(role)
        if fault is None:
            return None, None
        kind, arg = fault
        if kind == "delay":
            self.stats.count(role, "fault_delay")
            time.sleep(max(0.0, min(arg if arg is not None else 10.0, self.args.max_hang)))
            return None, None
        if kind == "reset":
            self.stats.count(role, "fault_reset")
            return None, Reset()
        return fault, None

    def _with_fault(self, role, fn):
        fault, reset = self._take_fault(role)
        return reset or fn(fault)

    def _aws(self, req, role, svc, auth_error, is_s3=False):
        skew = 900.0 if is_s3 else 300.0
        try:
            principal = awsauth.verify(req, self.store, self.clock, role, skew, s3=is_s3)
        except awsauth.AuthError as e:
            self.stats.auth_failure(role, e.kind)
            return auth_error(e)
        req.principal = principal
        fault, reset = self._take_fault(role)
        return reset or svc.handle(req, principal, fault)


def _pairs(items, flag, last=False):
    out = []
    for item in items or []:
        key, sep, value = item.rpartition("=") if last else item.partition("=")
        if not sep or not key:
            raise SystemExit("standin: %s wants KEY=VALUE, got %r" % (flag, item))
        out.append((key, value))
    return out


class Handler(BaseHTTPRequestHandler):
    # headers and body go out in two send()s: without TCP_NODELAY a kept-alive
    # client would wait ~40 ms (delayed ACK) for every body, unlike AWS or Slack
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"
    server_version = "whochanged-standin/1"
    sys_version = ""
    app = None

    def version_string(self):
        return self.server_version

    def date_time_string(self, timestamp=None):
        return super().date_time_string(self.app.clock.now() if timestamp is None else timestamp)

    def log_message(self, fmt, *args):
        if not self.app.args.quiet:
            # a Slack webhook URL is a credential: keep only its first part
            line = _WEBHOOK_SECRET_RE.sub(r"\1<redacted>", fmt % args)
            sys.stderr.write("standin: %s\n" % line)

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _serve(self):
        start = time.time()
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "Bad Request")
            return
        path, _, query = self.path.partition("?")
        req = Request(self.command, path, query, self.headers, body, self.client_address)
        try:
            role, resp = self.app.dispatch(req)
        except Exception as e:  # a bug in a stand-in must not look like a hang
            sys.stderr.write("standin: internal error: %r\n" % (e,))
            role, resp = "error", Response(500, "stand-in internal error", "text/plain")
        principal = getattr(req, "principal", None)
        entry = {"time": start, "role": role, "method": self.command, "path": path,
                 "target": req.header("X-Amz-Target")}
        if principal is not None:
            entry["account"] = principal.account
            entry["region"] = principal.region
            entry["akid"] = principal.akid
            entry["cred_source"] = principal.cred.source  # static, sts:…, imds, ecs, sso
        if role in ("cloudtrail", "config", "dynamodb") and body:
            try:
                entry["request"] = json.loads(body)
            except ValueError:
                pass
        if isinstance(resp, Hang):
            entry["status"] = "hang"
            if role != "control":
                self.app.stats.log(entry)
            time.sleep(max(0.0, min(resp.seconds, self.app.args.max_hang)))
            self.close_connection = True
            return
        if isinstance(resp, Reset):
            entry["status"] = "reset"
            if role != "control":
                self.app.stats.log(entry)
            # SO_LINGER 0: close() sends RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        entry["status"] = resp.status
        if role in ("cloudtrail", "config", "dynamodb") and resp.status >= 400:
            try:  # which error (ThrottlingException, ...), for the request log
                kind = json.loads(resp.body).get("__type")
                entry["error"] = kind.rsplit("#", 1)[-1] if isinstance(kind, str) else kind
            except (ValueError, AttributeError):
                pass
        if role != "control":
            self.app.stats.log(entry)
            if self.app.args.latency > 0:  # a far-away service (after admission)
                time.sleep(self.app.args.latency)
        self.send_response(resp.status)
        for name, value in resp.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_argument_group("server")
    g.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: OS chooses)")
    g.add_argument("--port-file", help="write the port here once listening")
    g.add_argument("--state-dir", help="directory for recorded data (slack.jsonl, webhook.jsonl)")
    g.add_argument("--quiet", action="store_true", help="no per-request log on stderr")
    g.add_argument("--clock-offset", type=float, default=0.0,
                   help="seconds added to the server clock (Date header, skew checks, expiry)")
    g.add_argument("--max-hang", type=float, default=60.0, help="upper bound of any hang fault")
    g.add_argument("--faults", action="append", metavar="ROLE=SPEC",
                   help="initial fault queue for a role, e.g. cloudtrail=throttle*3,500")
    g.add_argument("--latency", type=float, default=0.0,
                   help="seconds every service request waits before its answer (not /_ control)")
    g = ap.add_argument_group("roles")
    for r in ROLES:
        g.add_argument("--" + r, action="store_true", help="serve %s" % r)
    g = ap.add_argument_group("AWS credentials")
    g.add_argument("--default-account", default=awsauth.DEFAULT_ACCOUNT)
    g.add_argument("--account-for-key", action="append", metavar="AKID=ACCOUNT")
    g.add_argument("--key", action="append", metavar="AKID=SECRET",
                   help="another static key (AKIDEXAMPLE is always known)")
    g.add_argument("--cred-ttl", type=float, default=21600.0,
                   help="lifetime of IMDS/ECS credentials, seconds")
    g = ap.add_argument_group("CloudTrail")
    g.add_argument("--events", action="append", metavar="FILE", help="JSON list of records")
    g.add_argument("--ct-rate", type=float, default=2.0,
                   help="LookupEvents requests per second per account-region")
    g.add_argument("--ct-retention-days", type=float, default=0,
                   help="hide events older than this (0: keep all)")
    g = ap.add_argument_group("AWS Config")
    g.add_argument("--config-history", action="append", metavar="FILE",
                   help="JSON list of configuration items (GetResourceConfigHistory)")
    g.add_argument("--config-rate", type=float, default=5.0,
                   help="GetResourceConfigHistory requests per second per account-region")
    g.add_argument("--config-max-page", type=int, default=100,
                   help="items answered per page at most, whatever the limit asked (1-100)")
    g.add_argument("--config-deny", action="append", metavar="AKID",
                   help="access key refused with AccessDeniedException")
    g = ap.add_argument_group("STS")
    g.add_argument("--role", action="append", metavar="ARN",
                   help="assumable role (default: any well-formed role ARN)")
    g.add_argument("--role-external-id", action="append", metavar="ARN=ID")
    g.add_argument("--role-max-duration", type=int, default=43200)
    g.add_argument("--sts-cred-ttl", type=float, help="issued credential lifetime override, s")
    g.add_argument("--web-identity-token", metavar="TOKEN|@FILE",
                   help="the web identity token AssumeRoleWithWebIdentity accepts")
    g = ap.add_argument_group("S3")
    g.add_argument("--s3-dir", help="objects: DIR/bucket/key")
    g.add_argument("--s3-bucket-region", action="append", metavar="BUCKET=REGION")
    g = ap.add_argument_group("IMDS / ECS")
    g.add_argument("--imds-role", default="whochanged-test-role")
    g.add_argument("--imds-region", default="us-east-1")
    g.add_argument("--imds-v1", action="store_true", help="also answer without a token")
    g.add_argument("--ecs-path", default="/v2/credentials/whochanged-test")
    g.add_argument("--ecs-token", help="required Authorization header value")
    g.add_argument("--ecs-role-arn")
    g.add_argument("--ecs-eks", action="store_true", help="EKS Pod Identity shape (AccountId)")
    g = ap.add_argument_group("IAM Identity Center (SSO portal and OIDC)")
    g.add_argument("--sso-token", action="append", metavar="TOKEN[=SECONDS]",
                   help="an access token the portal accepts, for SECONDS from the start "
                        "(default --sso-token-ttl)")
    g.add_argument("--sso-assignment", action="append", metavar="ACCOUNT/ROLE",
                   help="a permission set assigned to the user (default: any)")
    g.add_argument("--sso-cred-ttl", type=float, default=3600.0,
                   help="lifetime of GetRoleCredentials credentials, seconds")
    g.add_argument("--sso-client", action="append", metavar="ID=SECRET",
                   help="a registered OIDC client")
    g.add_argument("--sso-refresh-token", action="append", metavar="TOKEN",
                   help="a refresh token CreateToken accepts (once)")
    g.add_argument("--sso-token-ttl", type=float, default=28800.0,
                   help="lifetime of the access tokens, seconds")
    g = ap.add_argument_group("DynamoDB")
    g.add_argument("--dynamodb-upstream", metavar="URL",
                   help="dynalite behind the role: http://127.0.0.1:PORT")
    g.add_argument("--dynamodb-deny", action="append", metavar="ACTION",
                   help="refuse this action (GetItem, PutItem, ...) with AccessDeniedException")
    g = ap.add_argument_group("Slack / webhook")
    g.add_argument("--slack-token", default="xoxb-whochanged-test")
    g.add_argument("--slack-channel", action="append", metavar="CHANNEL",
                   help="known channel (default: any)")
    g.add_argument("--slack-webhook", metavar="PATH", help="the only webhook path accepted")
    g.add_argument("--slack-faults", metavar="SPEC", help="e.g. 500,429:2,hang")
    g.add_argument("--slack-rate", type=float, default=1.0,
                   help="messages per second per webhook URL / channel (0: no limit)")
    g.add_argument("--slack-burst", type=float, default=2.0,
                   help="messages let through at once before the rate applies")
    g.add_argument("--webhook-path", default="/webhook")
    g.add_argument("--webhook-secret")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        app = App(args)
    except (OSError, ValueError) as e:
        sys.stderr.write("standin: %s\n" % e)
        return 2
    Handler.app = app
    server = Server(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print(port, flush=True)

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

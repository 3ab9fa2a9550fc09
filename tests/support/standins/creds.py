"""Credential endpoints: EC2 IMDSv2 and the ECS/EKS container credential
endpoint. Issued credentials are accepted by the AWS roles of the stand-in
until their Expiration (short with --cred-ttl, for refresh tests)."""

import json
import secrets
import threading

from common import Hang, Response, iso8601, json_response

TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
CREDS_PREFIX = "/latest/meta-data/iam/security-credentials/"


class _Issuer:
    """Keeps one set of credentials per name and renews it once less than
    a fifth of its lifetime (at most 5 min) is left, like the real agents."""

    def __init__(self, clock, store, account, ttl, source):
        self.clock = clock
        self.store = store
        self.account = account
        self.ttl = ttl
        self.source = source
        self._lock = threading.Lock()
        self._current = {}

    def get(self, name, arn):
        now = self.clock.now()
        margin = min(300.0, self.ttl / 5.0)
        with self._lock:
            cur = self._current.get(name)
            if cur is None or now >= cur.expiration - margin:
                cur = self.store.issue(self.account, int(now + self.ttl), arn, self.source)
                cur.issued_at = now
                self._current[name] = cur
            return cur


def _fault(fault, stats, role):
    kind, arg = fault
    stats.count(role, "fault_" + kind)
    if kind == "hang":
        return Hang(arg if arg is not None else 15.0)
    status = {"500": 500, "503": 503, "429": 429, "throttle": 429}.get(kind, 500)
    return Response(status, "", "text/plain")


class Imds:
    def __init__(self, clock, store, stats, role="whochanged-test-role",
                 account="123456789012", region="us-east-1", ttl=21600, allow_v1=False):
        self.clock = clock
        self.stats = stats
        self.role = role
        self.account = account
        self.region = region
        self.allow_v1 = allow_v1
        self.issuer = _Issuer(clock, store, account, ttl, "imds")
        self._lock = threading.Lock()
        self._tokens = {}

    def owns(self, req):
        return req.path == "/latest/api/token" or req.path.startswith("/latest/")

    def _token_ok(self, token):
        if token is None:
            return False
        with self._lock:
            until = self._tokens.get(token)
        return until is not None and self.clock.since_start() < until

    def handle(self, req, fault):
        if fault is not None:
            return _fault(fault, self.stats, "imds")
        if req.header("X-Forwarded-For") is not None:
            self.stats.count("imds", "forbidden")
            return Response(403, "Forbidden", "text/plain")
        if req.path == "/latest/api/token":
            if req.method != "PUT":
                return Response(405, "Method Not Allowed", "text/plain", [("Allow", "PUT")])
            ttl = req.header(TTL_HEADER)
            try:
                seconds = int(ttl)
            except (TypeError, ValueError):
                seconds = 0
            if not 1 <= seconds <= 21600:
                self.stats.count("imds", "bad_ttl")
                return Response(400, "Bad Request", "text/plain")
            token = "AQAE" + secrets.token_urlsafe(42)
            with self._lock:
                self._tokens[token] = self.clock.since_start() + seconds
            self.stats.count("imds", "token")
            return Response(200, token, "text/plain", [(TTL_HEADER, str(seconds))])

        if req.method not in ("GET", "HEAD"):
            return Response(405, "Method Not Allowed", "text/plain")
        token = req.header(TOKEN_HEADER)
        if not self._token_ok(token) and not (token is None and self.allow_v1):
            self.stats.count("imds", "unauthorized")
            return Response(401, "Unauthorized", "text/plain")

        path = req.path
        if path in ("/latest/meta-data/iam/security-credentials/",
                    "/latest/meta-data/iam/security-credentials"):
            self.stats.count("imds", "list")
            return Response(200, self.role, "text/plain")
        if path.startswith(CREDS_PREFIX):
            name = path[len(CREDS_PREFIX):]
            if name != self.role:
                return Response(404, "Not Found", "text/plain")
            arn = "arn:aws:sts::%s:assumed-role/%s/i-0123456789abcdef0" % (self.account, name)
            cred = self.issuer.get(name, arn)
            self.stats.count("imds", "credentials")
            body = ('{\n  "Code" : "Success",\n  "LastUpdated" : "%s",\n'
                    '  "Type" : "AWS-HMAC",\n  "AccessKeyId" : "%s",\n'
                    '  "SecretAccessKey" : "%s",\n  "Token" : "%s",\n'
                    '  "Expiration" : "%s"\n}'
                    % (iso8601(cred.issued_at), cred.akid, cred.secret, cred.token,
                       iso8601(cred.expiration)))
            return Response(200, body, "text/plain")
        if path == "/latest/meta-data/placement/region":
            return Response(200, self.region, "text/plain")
        if path == "/latest/dynamic/instance-identity/document":
            doc = {"accountId": self.account, "region": self.region,
                   "instanceId": "i-0123456789abcdef0", "architecture": "x86_64"}
            return Response(200, json.dumps(doc, indent=2), "text/plain")
        return Response(404, "Not Found", "text/plain")


class Ecs:
    def __init__(self, clock, store, stats, path="/v2/credentials/whochanged-test",
                 token=None, account="123456789012", ttl=21600,
                 role_arn=None, eks=False):
        self.stats = stats
        self.path = path
        self.token = token
        self.account = account
        self.eks = eks
        self.role_arn = role_arn or "arn:aws:iam::%s:role/ecs-task-whochanged" % account
        self.issuer = _Issuer(clock, store, account, ttl, "ecs")

    def owns(self, req):
        return req.path == self.path

    def handle(self, req, fault):
        if fault is not None:
            return _fault(fault, self.stats, "ecs")
        if req.method != "GET":
            return Response(405, "Method Not Allowed", "text/plain")
        if self.token is not None and req.header("Authorization") != self.token:
            self.stats.count("ecs", "unauthorized")
            return json_response(401 if req.header("Authorization") is None else 403,
                                 {"code": "InvalidTokenException",
                                  "message": "The token is invalid"})
        role = self.role_arn.rsplit("/", 1)[-1]
        arn = "arn:aws:sts::%s:assumed-role/%s/task" % (self.account, role)
        cred = self.issuer.get("ecs", arn)
        self.stats.count("ecs", "credentials")
        out = {"AccessKeyId": cred.akid, "Expiration": iso8601(cred.expiration)}
        if self.eks:
            out["AccountId"] = self.account
        else:
            out["RoleArn"] = self.role_arn
        out["SecretAccessKey"] = cred.secret
        out["Token"] = cred.token
        return json_response(200, out)

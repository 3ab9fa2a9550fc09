"""AWS Config GetResourceConfigHistory stand-in (awsJson1_1 on POST /).

X-Amz-Target StarlingDoveService.GetResourceConfigHistory, signed for
service `config`. Configuration items come from JSON files (see README.md,
"AWS Config"), each in one account and region. Semantics follow the
service: resourceType and resourceId required, earlierTime/laterTime
inclusive epoch seconds, chronologicalOrder Reverse (default, newest first)
or Forward, limit 0..100 (0: 10), an opaque nextToken bound to the request's
parameters, ResourceNotDiscoveredException for a resource the account-region
has no item of, ThrottlingException above a rate per account-region, and
AccessDeniedException for the access keys told to be denied. Items are
answered in the API's shape: configurationItemCaptureTime and the other
times as epoch numbers (1.714564799E9), `configuration` as a JSON string.
"""

import base64
import datetime
import hashlib
import hmac
import json
import re
import secrets
import threading

from cloudtrail import _aws_number
from common import Hang, Response, json_response, request_id

TARGET_PREFIX = "StarlingDoveService."
CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_LIMIT = 100
DEFAULT_LIMIT = 10
_TYPE_RE = re.compile(r"^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$")
# Types Config knows besides those of the items loaded (the real list is
# longer): another type is refused with ValidationException, as Config does.
KNOWN_TYPES = {"AWS::EC2::SecurityGroup", "AWS::EC2::Instance", "AWS::EC2::VPC",
               "AWS::EC2::Subnet", "AWS::EC2::NetworkInterface", "AWS::EC2::Volume",
               "AWS::S3::Bucket", "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Policy",
               "AWS::Lambda::Function", "AWS::RDS::DBInstance", "AWS::DynamoDB::Table",
               "AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::KMS::Key"}
_TIME_KEYS = ("configurationItemCaptureTime", "resourceCreationTime",
              "configurationItemDeliveryTime")


def _err(code, message, status=400):
    return json_response(status, {"__type": code, "message": message}, CONTENT_TYPE,
                         [("x-amzn-RequestId", request_id())])


def _epoch(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip().replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text).timestamp()


def load_items(path):
    """A JSON list of configuration items, or {"configurationItems": [...]}."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict):
        data = data.get("configurationItems") or data.get("items") or []
    if not isinstance(data, list):
        raise ValueError("%s: want a list of configuration items" % path)
    return data


class Item:
    def __init__(self, raw):
        if not isinstance(raw, dict):
            raise ValueError("configuration item is not an object")
        self.account = str(raw.get("_account") or raw.get("accountId") or "")
        self.region = raw.get("_region") or raw.get("awsRegion") or "us-east-1"
        self.type = raw["resourceType"]
        self.id = raw["resourceId"]
        self.time = _epoch(raw["configurationItemCaptureTime"])
        clean = {k: v for k, v in raw.items() if not k.startswith("_")}
        clean.setdefault("version", "1.3")
        clean.setdefault("accountId", self.account)
        clean.setdefault("awsRegion", self.region)
        conf = clean.get("configuration")
        if conf is not None and not isinstance(conf, str):
            clean["configuration"] = json.dumps(conf, separators=(",", ":"))
        times = {}
        for key in _TIME_KEYS:
            if clean.get(key) is not None:
                times[key] = _epoch(clean[key])
                clean[key] = None
        self.times = times
        self.clean = clean

    def wire(self):
        """The item as JSON text, its times as AWS-style numbers."""
        text = json.dumps(self.clean, separators=(",", ":"))
        for key, value in self.times.items():
            text = text.replace('"%s":null' % key, '"%s":%s' % (key, _aws_number(value)), 1)
        return text


class Config:
    def __init__(self, clock, stats, rate=5.0, max_page=MAX_LIMIT, denied_keys=()):
        self.clock = clock
        self.stats = stats
        self.rate = rate
        self.max_page = max(1, min(int(max_page), MAX_LIMIT))
        self.denied = set(denied_keys or ())
        self._lock = threading.Lock()
        self._items = {}  # (account, region, type, id) -> [Item]
        self._windows = {}
        self._token_key = secrets.token_bytes(32)

    def add_items(self, raws):
        items = []
        for i, raw in enumerate(raws):
            try:
                items.append(Item(raw))
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError("configuration item #%d: %s: %s" % (i, type(e).__name__, e)) \
                    from None
        with self._lock:
            for it in items:
                self._items.setdefault((it.account, it.region, it.type, it.id), []).append(it)
        return len(items)

    def _admit(self, scope):
        now = self.clock.since_start()
        with self._lock:
            window = self._windows.setdefault(scope, [])
            window[:] = [t for t in window if now - t < 1.0]
            if len(window) >= self.rate:
                return False
            window.append(now)
            return True

    def _token(self, fingerprint, cursor):
        payload = json.dumps({"f": fingerprint, "c": cursor}, separators=(",", ":")).encode()
        mac = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:16]
        return base64.b64encode(mac + payload).decode()

    def _untoken(self, token, fingerprint):
        try:
            raw = base64.b64decode(token.encode(), validate=True)
            mac, payload = raw[:16], raw[16:]
            good = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:16]
            if not hmac.compare_digest(mac, good):
                return None
            data = json.loads(payload)
        except (ValueError, TypeError):
            return None
        if data.get("f") != fingerprint or not isinstance(data.get("c"), int):
            return None
        return data["c"]

    def handle(self, req, principal, fault):
        target = req.header("X-Amz-Target", "")
        scope = "%s/%s" % (principal.account, principal.region)
        op = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else None
        if op != "GetResourceConfigHistory":
            return _err("UnknownOperationException", "")
        if fault is not None:
            kind, arg = fault
            self.stats.count("config", "fault_" + kind)
            if kind == "throttle":
                return _err("ThrottlingException", "Rate exceeded")
            if kind == "500":
                return _err("InternalFailure", "An internal error occurred.", 500)
            if kind == "503":
                return _err("ServiceUnavailableException", "Service unavailable", 503)
            if kind == "429":
                return _err("ThrottlingException", "Rate exceeded", 429)
            return Hang(arg if arg is not None else 15.0)
        if not self._admit(scope):
            self.stats.count("config", "throttled")
            return _err("ThrottlingException", "Rate exceeded")
        self.stats.count("config", "GetResourceConfigHistory")
        if principal.akid in self.denied:
            self.stats.count("config", "access_denied")
            who = "arn:aws:iam::%s:user/denied" % principal.account
            return _err("AccessDeniedException",
                        "User: %s is not authorized to perform: config:GetResourceConfigHistory"
                        % who)
        try:
            body = json.loads(req.body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            return _err("SerializationException", "Start of structure or map found where not "
                        "expected.")
        if not isinstance(body, dict):
            return _err("SerializationException", "Expected a JSON object.")
        return self.history(body, principal)

    def history(self, body, principal):
        rtype, rid = body.get("resourceType"), body.get("resourceId")
        problems = []
        with self._lock:
            known = rtype in KNOWN_TYPES or any(k[2] == rtype for k in self._items)
        if not isinstance(rtype, str) or not _TYPE_RE.match(rtype) or not known:
            problems.append("Value '%s' at 'resourceType' failed to satisfy constraint: Member "
                            "must satisfy enum value set" % (rtype,))
        if not isinstance(rid, str) or not 1 <= len(rid) <= 768:
            problems.append("Value '%s' at 'resourceId' failed to satisfy constraint: Member "
                            "must have length between 1 and 768" % (rid,))
        order = body.get("chronologicalOrder", "Reverse")
        if order not in ("Reverse", "Forward"):
            problems.append("Value '%s' at 'chronologicalOrder' failed to satisfy constraint: "
                            "Member must satisfy enum value set: [Reverse, Forward]" % (order,))
        if problems:
            return _err("ValidationException", "%d validation error%s detected: %s"
                        % (len(problems), "s" if len(problems) > 1 else "",
                           "; ".join(problems)))
        later, earlier = body.get("laterTime"), body.get("earlierTime")
        for name, v in (("laterTime", later), ("earlierTime", earlier)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                return _err("SerializationException", "%s must be a number of epoch seconds"
                            % name)
        if later is not None and earlier is not None and earlier > later:
            return _err("InvalidTimeRangeException",
                        "The earlierTime must be earlier than the laterTime.")
        limit = body.get("limit", 0)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT:
            return _err("InvalidLimitException",
                        "Value '%s' at 'limit' failed to satisfy constraint: Member must have "
                        "value less than or equal to 100" % (limit,))
        limit = limit or DEFAULT_LIMIT

        with self._lock:
            items = list(self._items.get((principal.account, principal.region, rtype, rid), ()))
        if not items:
            return _err("ResourceNotDiscoveredException",
                        "Resource %s of resourceType:%s is unknown or has not been discovered"
                        % (rid, rtype))
        fingerprint = hashlib.sha256(json.dumps(
            [principal.account, principal.region, rtype, rid, later, earlier, order, limit],
            separators=(",", ":")).encode()).hexdigest()[:32]
        start = 0
        token = body.get("nextToken")
        if token is not None:
            start = self._untoken(token, fingerprint) if isinstance(token, str) else None
            if start is None:
                return _err("InvalidNextTokenException", "The nextToken provided is invalid")
        lo = earlier if earlier is not None else float("-inf")
        hi = later if later is not None else self.clock.now()
        picked = sorted((it for it in items if lo <= it.time <= hi), key=lambda it: it.time,
                        reverse=(order == "Reverse"))
        size = min(limit, self.max_page)
        page = picked[start:start + size]
        out = '{"configurationItems":[' + ",".join(it.wire() for it in page) + "]"
        if start + size < len(picked):
            out += ',"nextToken":' + json.dumps(self._token(fingerprint, start + size))
        out += "}"
        return Response(200, out, CONTENT_TYPE, [("x-amzn-RequestId", request_id())])


def auth_error(err):
    """AuthError -> Config's JSON error (as CloudTrail's: same protocol)."""
    kind = err.kind
    if kind == "missing":
        return _err("MissingAuthenticationTokenException", "Missing Authentication Token")
    if kind == "incomplete":
        return _err("IncompleteSignatureException", err.message)
    if kind in ("unknown_key", "bad_token"):
        return _err("UnrecognizedClientException",
                    "The security token included in the request is invalid.")
    if kind == "expired_token":
        return _err("ExpiredTokenException", "The security token included in the request is "
                    "expired")
    if kind in ("skew_past", "skew_future", "scope"):
        return _err("InvalidSignatureException", err.message)
    return _err("InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service "
                "documentation for details.")

"""CloudTrail LookupEvents stand-in (awsJson1_1 on POST /).

Events come from a JSON file of CloudTrail records (see README.md); each is
in one account/region's trail. Semantics follow the service: one lookup
attribute at most, inclusive time range, newest first, MaxResults 1..50,
opaque NextToken bound to the request's parameters, 2 requests per second
per account and region (sliding one-second window) else ThrottlingException.
"""

import base64
import collections
import datetime
import hashlib
import hmac
import json
import secrets
import threading
from decimal import Decimal

from common import json_response, request_id, Hang, Response

TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
CONTENT_TYPE = "application/x-amz-json-1.1"
ATTRIBUTE_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType",
                  "ResourceName", "EventSource", "AccessKeyId")
DEFAULT_REGION = "us-east-1"

# requestParameters keys that name a resource, as LookupEvents reports them.
_PARAM_RESOURCES = (
    ("groupId", "AWS::EC2::SecurityGroup"),
    ("instanceId", "AWS::EC2::Instance"),
    ("volumeId", "AWS::EC2::Volume"),
    ("vpcId", "AWS::EC2::VPC"),
    ("subnetId", "AWS::EC2::Subnet"),
    ("networkAclId", "AWS::EC2::NetworkAcl"),
    ("routeTableId", "AWS::EC2::RouteTable"),
    ("internetGatewayId", "AWS::EC2::InternetGateway"),
    ("bucketName", "AWS::S3::Bucket"),
    ("roleName", "AWS::IAM::Role"),
    ("policyArn", "AWS::IAM::Policy"),
    ("groupName", "AWS::IAM::Group"),
    ("functionName", "AWS::Lambda::Function"),
    ("dBInstanceIdentifier", "AWS::RDS::DBInstance"),
    ("tableName", "AWS::DynamoDB::Table"),
    ("topicArn", "AWS::SNS::Topic"),
    ("queueUrl", "AWS::SQS::Queue"),
    ("keyId", "AWS::KMS::Key"),
)


def _err(code, message, status=400):
    return json_response(status, {"__type": code, "message": message}, CONTENT_TYPE,
                         [("x-amzn-RequestId", request_id())])


def _epoch(iso):
    text = iso.strip().replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text).timestamp()


def _aws_number(value):
    """Epoch seconds the way the service writes them: 1.714564799E9."""
    d = Decimal(repr(float(value))).normalize()
    sign, digits, exp = d.as_tuple()
    head = str(digits[0])
    tail = "".join(str(x) for x in digits[1:]) or "0"
    return "%s%s.%sE%d" % ("-" if sign else "", head, tail, len(digits) - 1 + exp)


def _id_from_arn(arn):
    if not arn.startswith("arn:"):
        return None
    rest = arn.split(":", 5)
    if len(rest) < 6:
        return None
    res = rest[5]
    for sep in ("/", ":"):
        if sep in res:
            return res.rsplit(sep, 1)[1]
    return res


def _username(record):
    if record.get("_username") is not None:
        return record["_username"]
    ui = record.get("userIdentity") or {}
    typ = ui.get("type")
    if typ == "Root":
        return "root"
    if typ == "IAMUser":
        return ui.get("userName")
    arn = ui.get("arn") or ""
    if typ in ("AssumedRole", "FederatedUser") and "/" in arn:
        return arn.rsplit("/", 1)[1]
    if typ == "AWSService":
        return ui.get("invokedBy")
    return ui.get("userName")


def _walk_params(obj, depth=0):
    if depth > 6:
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, str):
                yield k, v
            else:
                yield from _walk_params(v, depth + 1)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk_params(v, depth + 1)


def _resources(record):
    """[(type, name, {names that match ResourceName})] for one record."""
    out = []
    seen = set()

    def add(rtype, name, extra=()):
        if not name or (rtype, name) in seen:
            return
        seen.add((rtype, name))
        names = {name}
        derived = _id_from_arn(name)
        if derived:
            names.add(derived)
        names.update(x for x in extra if x)
        out.append((rtype, name, names))

    for r in record.get("_resources") or []:
        add(r.get("ResourceType"), r.get("ResourceName"))
    for r in record.get("resources") or []:
        if isinstance(r, dict):
            add(r.get("type"), r.get("ARN") or r.get("arn"))
    if not record.get("_resources"):
        params = dict(_walk_params(record.get("requestParameters") or {}))
        for key, rtype in _PARAM_RESOURCES:
            if key in params:
                add(rtype, params[key])
    return out


class Event:
    def __init__(self, record, visible_at):
        if not isinstance(record, dict):
            raise ValueError("event is not an object")
        self.record = record
        self.event_id = record.get("eventID") or record.get("EventId")
        if not self.event_id:
            raise ValueError("event without eventID")
        ui = record.get("userIdentity") or {}
        self.account = str(record.get("_account") or record.get("recipientAccountId")
                           or ui.get("accountId") or "")
        self.region = record.get("_region") or record.get("awsRegion") or DEFAULT_REGION
        self.time = _epoch(record["eventTime"])
        self.name = record.get("eventName")
        self.source = record.get("eventSource")
        ro = record.get("readOnly")
        self.read_only = "true" if ro is True or str(ro).lower() == "true" else "false"
        self.access_key = ui.get("accessKeyId")
        self.username = _username(record)
        self.resources = _resources(record)
        self.visible_at = visible_at
        self.category = record.get("eventCategory", "Management")
        clean = {k: v for k, v in record.items() if not k.startswith("_")}
        self.json = json.dumps(clean, separators=(",", ":"))

    def matches(self, key, value):
        if key == "EventId":
            return self.event_id == value
        if key == "EventName":
            return self.name == value
        if key == "ReadOnly":
            return self.read_only == value
        if key == "Username":
            return self.username == value
        if key == "EventSource":
            return self.source == value
        if key == "AccessKeyId":
            return self.access_key == value
        if key == "ResourceType":
            return any(t == value for t, _, _ in self.resources)
        if key == "ResourceName":
            return any(value in names for _, _, names in self.resources)
        return False

    def wire(self):
        """(dict, EventTime) — EventTime is spliced in as an AWS-style number."""
        out = {"EventId": self.event_id}
        if self.name is not None:
            out["EventName"] = self.name
        out["ReadOnly"] = self.read_only
        if self.access_key:
            out["AccessKeyId"] = self.access_key
        out["EventTime"] = None
        if self.source is not None:
            out["EventSource"] = self.source
        if self.username is not None:
            out["Username"] = self.username
        out["Resources"] = [{"ResourceType": t, "ResourceName": n}
                            for t, n, _ in self.resources if t or n]
        out["CloudTrailEvent"] = self.json
        return out


def load_events(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict):
        data = data.get("Records") or data.get("events") or []
    if not isinstance(data, list):
        raise ValueError("%s: want a list of CloudTrail records" % path)
    return data


class CloudTrail:
    def __init__(self, clock, stats, rate=2.0, retention_days=0):
        self.clock = clock
        self.stats = stats
        self.rate = rate
        self.retention_days = retention_days
        self._lock = threading.Lock()
        # events by (account, region): a lookup only sees its own account-region's,
        # so it scans only those (a bench has a thousand account-regions)
        self._by_scope = collections.defaultdict(list)
        self._windows = collections.defaultdict(collections.deque)
        self._token_key = secrets.token_bytes(32)

    def add_records(self, records, relative_to):
        """Add records; `_visible_after_s` counts from `relative_to` (seconds
        since the stand-in started)."""
        if not isinstance(records, list):
            raise ValueError("want a list of CloudTrail records")
        events = []
        for i, rec in enumerate(records):
            try:
                after = float(rec.get("_visible_after_s", 0) or 0)
                events.append(Event(rec, relative_to + after))
            except (AttributeError, KeyError, TypeError, ValueError) as e:
                raise ValueError("event #%d: %s: %s" % (i, type(e).__name__, e)) from None
        with self._lock:
            for ev in events:
                self._by_scope[(ev.account, ev.region)].append(ev)
        return len(events)

    # ---- throttling -------------------------------------------------------
    def _admit(self, scope):
        now = self.clock.since_start()
        with self._lock:
            window = self._windows[scope]
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.rate:
                return False, len(window)
            window.append(now)
            return True, len(window)

    # ---- tokens -----------------------------------------------------------
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
        if data.get("f") != fingerprint:
            return None
        cursor = data.get("c")
        if not isinstance(cursor, list) or len(cursor) != 2:
            return None
        return cursor

    # ---- request ----------------------------------------------------------
    def handle(self, req, principal, fault):
        target = req.header("X-Amz-Target", "")
        scope = "%s/%s" % (principal.account, principal.region)
        op = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else None
        if op != "LookupEvents":
            return _err("UnknownOperationException", "")

        if fault is not None:
            kind, arg = fault
            self.stats.ct_call(scope, fault=kind)
            if kind == "throttle":
                return _err("ThrottlingException", "Rate exceeded")
            if kind == "500":
                return _err("InternalFailure", "An internal error occurred.", 500)
            if kind == "503":
                return _err("ServiceUnavailableException", "Service unavailable", 503)
            if kind == "429":
                return _err("ThrottlingException", "Rate exceeded", 429)
            return Hang(arg if arg is not None else 15.0)

        admitted, in_window = self._admit(scope)
        if not admitted:
            self.stats.ct_call(scope, throttled=True)
            return _err("ThrottlingException", "Rate exceeded")
        self.stats.ct_call(scope, window=in_window)

        try:
            body = json.loads(req.body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            return _err("SerializationException", "Start of structure or map found where not "
                        "expected.")
        if not isinstance(body, dict):
            return _err("SerializationException", "Expected a JSON object.")
        return self.lookup(body, principal)

    def lookup(self, body, principal):
        attrs = body.get("LookupAttributes")
        if attrs is None:
            attrs = []
        if not isinstance(attrs, list):
            return _err("SerializationException", "LookupAttributes must be a list")
        if len(attrs) > 1:
            return _err("InvalidLookupAttributesException",
                        "You cannot specify more than one lookup attribute.")
        key = value = None
        if attrs:
            a = attrs[0] if isinstance(attrs[0], dict) else {}
            key, value = a.get("AttributeKey"), a.get("AttributeValue")
            if key not in ATTRIBUTE_KEYS:
                return _err("InvalidLookupAttributesException",
                            "Specified AttributeKey is not valid: %s" % key)
            if not isinstance(value, str) or not 1 <= len(value) <= 2000:
                return _err("InvalidLookupAttributesException",
                            "AttributeValue must be between 1 and 2000 characters.")

        now = self.clock.now()
        start = body.get("StartTime")
        end = body.get("EndTime")
        for name, v in (("StartTime", start), ("EndTime", end)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                return _err("SerializationException",
                            "%s must be a number of epoch seconds" % name)
        if start is not None and end is not None and start > end:
            return _err("InvalidTimeRangeException", "Start time must be earlier than end time.")

        category = body.get("EventCategory")
        if category is not None and category != "insight":
            return _err("InvalidEventCategoryException", "Event category is not valid.")

        max_results = body.get("MaxResults", 50)
        if isinstance(max_results, bool) or not isinstance(max_results, int) \
                or not 1 <= max_results <= 50:
            return _err("InvalidMaxResultsException",
                        "MaxResults must be between 1 and 50.")

        fingerprint = hashlib.sha256(json.dumps(
            [principal.account, principal.region, key, value, start, end, category,
             max_results], separators=(",", ":")).encode()).hexdigest()[:32]
        cursor = None
        token = body.get("NextToken")
        if token is not None:
            cursor = self._untoken(token, fingerprint) if isinstance(token, str) else None
            if cursor is None:
                return _err("InvalidNextTokenException", "Invalid NextToken")

        since = self.clock.since_start()
        lo = start if start is not None else float("-inf")
        hi = end if end is not None else now
        oldest = now - self.retention_days * 86400 if self.retention_days else float("-inf")
        with self._lock:
            events = list(self._by_scope.get((principal.account, principal.region), ()))
        picked = []
        if category is None:
            for ev in events:
                if ev.account != principal.account or ev.region != principal.region:
                    continue
                if ev.visible_at > since:
                    continue
                if not lo <= ev.time <= hi or ev.time < oldest:
                    continue
                if key is not None and not ev.matches(key, value):
                    continue
                picked.append(ev)
        picked.sort(key=lambda e: (e.time, e.event_id), reverse=True)
        if cursor is not None:
            ct, cid = cursor
            picked = [e for e in picked if (e.time, e.event_id) < (ct, cid)]
        page = picked[:max_results]
        more = len(picked) > max_results

        # Build the JSON by hand so EventTime is written as 1.714564799E9.
        parts = []
        for ev in page:
            text = json.dumps(ev.wire(), separators=(",", ":"))
            text = text.replace('"EventTime":null', '"EventTime":' + _aws_number(ev.time), 1)
            parts.append(text)
        out = '{"Events":[' + ",".join(parts) + "]"
        if more:
            last = page[-1]
            out += ',"NextToken":' + json.dumps(self._token(fingerprint,
                                                            [last.time, last.event_id]))
        out += "}"
        return Response(200, out, CONTENT_TYPE, [("x-amzn-RequestId", request_id())])


def auth_error(err):
    """AuthError -> CloudTrail's JSON error."""
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



"""DynamoDB stand-in (awsJson1_0 on POST /): the SigV4 check here, the
database behind it.

The database is dynalite (npm, tests/support/dynalite), which implements
DynamoDB's API and semantics (condition expressions, consistent reads,
validation, error shapes) but checks no signature and no permission. This
role verifies every request's signature with botocore (awsauth.verify,
service `dynamodb`) and refuses it in DynamoDB's error shape when it is
wrong; then applies faults and the access policy (--dynamodb-deny: actions
refused with AccessDeniedException, as an IAM policy that lacks them);
then forwards the request, unchanged, to dynalite and relays its answer.

dynalite has one table namespace for every region and no TTL deletion
(UpdateTimeToLive is not implemented there; the ledger checks expiry
itself)."""

import http.client
import json
import threading

from common import Hang, Response, json_response, request_id

TARGET_PREFIX = "DynamoDB_20120810."
CONTENT_TYPE = "application/x-amz-json-1.0"
_NS = "com.amazonaws.dynamodb.v20120810#"
_RELAYED = ("content-type", "x-amzn-requestid", "x-amz-crc32")


def _err(code, message, status=400, ns=_NS):
    return json_response(status, {"__type": ns + code, "message": message}, CONTENT_TYPE,
                         [("x-amzn-RequestId", request_id())])


def auth_error(err):
    """AuthError -> DynamoDB's JSON error (the coral shapes DynamoDB sends)."""
    ns = "com.amazon.coral.service#"
    kind = err.kind
    if kind == "missing":
        return _err("MissingAuthenticationTokenException",
                    "Request is missing Authentication Token", ns=ns)
    if kind == "incomplete":
        return _err("IncompleteSignatureException", err.message, ns=ns)
    if kind in ("unknown_key", "bad_token"):
        return _err("UnrecognizedClientException",
                    "The security token included in the request is invalid.", ns=ns)
    if kind == "expired_token":
        return _err("ExpiredTokenException",
                    "The security token included in the request is expired", ns=ns)
    if kind in ("skew_past", "skew_future", "scope"):
        return _err("InvalidSignatureException", err.message, ns=ns)
    return _err("InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method. Consult the service "
                "documentation for details.", ns=ns)


class DynamoDB:
    def __init__(self, upstream, stats, deny=None):
        host, _, port = upstream.replace("http://", "").rstrip("/").partition(":")
        if host not in ("127.0.0.1", "localhost") or not port.isdigit():
            raise ValueError("--dynamodb-upstream must be http://127.0.0.1:PORT, got %r"
                             % upstream)
        self.upstream = (host, int(port))
        self.stats = stats
        self._lock = threading.Lock()
        self._deny = set(deny or [])

    @staticmethod
    def owns(req):
        return (req.header("X-Amz-Target") or "").startswith(TARGET_PREFIX)

    def set_deny(self, actions):
        with self._lock:
            self._deny = set(actions)

    def denied(self):
        with self._lock:
            return sorted(self._deny)

    def handle(self, req, principal, fault):
        op = req.header("X-Amz-Target")[len(TARGET_PREFIX):]
        self.stats.count("dynamodb", op)
        if fault is not None:
            kind, arg = fault
            self.stats.count("dynamodb", "fault_" + kind)
            if kind == "hang":
                return Hang(arg if arg is not None else 15.0)
            if kind == "500":
                return _err("InternalServerError", "Internal server error", 500)
            if kind == "503":
                return _err("ServiceUnavailable", "Service unavailable", 503,
                            ns="com.amazon.coral.availability#")
            if kind in ("throttle", "429"):
                return _err("ThrottlingException",
                            "Rate of requests exceeds the allowed throughput.")
        try:
            table = json.loads(req.body or b"{}").get("TableName", "*")
        except (ValueError, AttributeError):
            table = "*"
        with self._lock:
            deny = op in self._deny
        if deny:
            self.stats.count("dynamodb", "denied")
            return _err("AccessDeniedException",
                        "User: %s is not authorized to perform: dynamodb:%s on resource: "
                        "arn:aws:dynamodb:%s:%s:table/%s because no identity-based policy "
                        "allows the dynamodb:%s action"
                        % (principal.cred.arn, op, principal.region, principal.account, table,
                           op), ns="com.amazon.coral.service#")
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            headers = {k: v for k, v in req.headers.items()
                       if k.lower() in ("content-type", "x-amz-target", "authorization",
                                        "x-amz-date", "x-amz-security-token")}
            conn.request("POST", "/", body=req.body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            relayed = [(k, v) for k, v in r.getheaders()
                       if k.lower() in _RELAYED and k.lower() != "content-type"]
            if r.status >= 400:
                try:
                    code = json.loads(data).get("__type", "").rsplit("#", 1)[-1]
                    self.stats.count("dynamodb", code or "error")
                except (ValueError, AttributeError):
                    pass
            return Response(r.status, data, r.getheader("Content-Type") or CONTENT_TYPE,
                            relayed)
        except (OSError, http.client.HTTPException) as e:
            return _err("InternalServerError", "dynalite unreachable: %s" % e, 500)
        finally:
            conn.close()

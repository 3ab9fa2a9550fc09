"""Known credentials and an independent SigV4 check of received requests.

The check rebuilds the request from exactly the headers the client named in
SignedHeaders, pins the signing time to the client's X-Amz-Date and re-signs
it with botocore (SigV4Auth, or S3SigV4Auth for S3: path not normalised,
payload hash taken from x-amz-content-sha256), then compares signatures.
Failures are reported as an AuthError with a `kind` the service turns into
its own error shape."""

import datetime
import hashlib
import hmac
import re
import threading
from urllib.parse import parse_qsl, quote

from botocore.auth import SigV4Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from common import random_secret, random_upper

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_KEY = "AKIDEXAMPLE"
DEFAULT_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class Cred:
    def __init__(self, akid, secret, token=None, account=DEFAULT_ACCOUNT, expiration=None,
                 arn=None, source="static", chained=False):
        self.akid = akid
        self.secret = secret
        self.token = token
        self.account = account
        self.expiration = expiration   # epoch seconds or None
        self.arn = arn or "arn:aws:iam::%s:user/whochanged-test" % account
        self.source = source
        self.chained = chained         # issued by AssumeRole (role chaining caps at 1 h)


class CredStore:
    """Access key id -> Cred. Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._creds = {}

    def add(self, cred):
        with self._lock:
            self._creds[cred.akid] = cred

    def get(self, akid):
        with self._lock:
            return self._creds.get(akid)

    def issue(self, account, expiration, arn, source, chained=False):
        """New temporary credentials (ASIA key, secret, session token),
        accepted until `expiration` (epoch seconds)."""
        akid = "ASIA" + random_upper(16)
        token = "IQoJb3JpZ2luX2VjE" + random_secret(200).replace("/", "_") + "=="
        cred = Cred(akid, random_secret(40), token, account, expiration, arn, source, chained)
        self.add(cred)
        return cred

    def count(self):
        with self._lock:
            return len(self._creds)


class AuthError(Exception):
    """kind: missing, incomplete, unknown_key, bad_token, expired_token,
    signature, skew_past, skew_future, scope, content_sha256, missing_sha256."""

    def __init__(self, kind, message="", **extra):
        super().__init__(message or kind)
        self.kind = kind
        self.message = message
        self.extra = extra


class Principal:
    def __init__(self, cred, region, service):
        self.cred = cred
        self.akid = cred.akid
        self.account = cred.account
        self.region = region
        self.service = service


_AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256\s+(.*)$", re.S)
_ISO_BASIC = "%Y%m%dT%H%M%SZ"


class _ExactHeadersMixin:
    """Sign exactly the headers the client listed in SignedHeaders (botocore
    would otherwise drop User-Agent & co. and add Host on its own)."""

    def headers_to_sign(self, request):
        header_map = HTTPHeaders()
        for name, value in request.headers.items():
            header_map[name.lower()] = value
        return header_map


class _Sig(_ExactHeadersMixin, SigV4Auth):
    pass


class _S3Sig(_ExactHeadersMixin, S3SigV4Auth):
    pass


def _canonical_query(raw):
    """Decode and re-encode the query the way AWS does server-side."""
    if not raw:
        return ""
    pairs = parse_qsl(raw, keep_blank_values=True)
    return "&".join("%s=%s" % (quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)


def parse_authorization(value):
    m = _AUTH_RE.match(value.strip())
    if not m:
        raise AuthError("incomplete", "Authorization header requires the AWS4-HMAC-SHA256 algorithm")
    fields = {}
    for part in m.group(1).split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key.strip()] = val.strip()
    for need in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(need):
            raise AuthError("incomplete",
                            "Authorization header requires '%s' parameter. Authorization=%s"
                            % (need, "AWS4-HMAC-SHA256"))
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise AuthError("incomplete", "Credential should be scoped to a valid region. ")
    return {
        "akid": scope[0], "date": scope[1], "region": scope[2], "service": scope[3],
        "signed_headers": [h for h in fields["SignedHeaders"].split(";") if h],
        "signature": fields["Signature"],
    }


def verify(req, store, clock, service, max_skew=300.0, s3=False):
    """Check req's SigV4 signature. Returns a Principal or raises AuthError."""
    authz = req.header("Authorization")
    if authz is None or not authz.strip():
        raise AuthError("missing", "Missing Authentication Token")
    parts = parse_authorization(authz)

    amz_date = req.header("X-Amz-Date")
    if not amz_date:
        raise AuthError("incomplete",
                        "Authorization header requires existence of either a 'X-Amz-Date' or a "
                        "'Date' header.")
    try:
        when = datetime.datetime.strptime(amz_date.strip(), _ISO_BASIC).replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise AuthError("incomplete", "Date must be in ISO-8601 'basic format'. Got '%s'."
                        % amz_date) from None
    amz_date = amz_date.strip()

    if parts["service"] != service:
        raise AuthError("scope", "Credential should be scoped to correct service: '%s'. " % service)
    if parts["date"] != amz_date[:8]:
        raise AuthError("scope", "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                        "version of date from HTTP: '%s' != '%s', from '%s'."
                        % (parts["date"], amz_date[:8], amz_date))
    signed = parts["signed_headers"]
    if "host" not in signed:
        raise AuthError("signature", "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                        "Authorization.")

    cred = store.get(parts["akid"])
    if cred is None:
        raise AuthError("unknown_key", akid=parts["akid"])

    token = req.header("X-Amz-Security-Token")
    if cred.token is not None or token is not None:
        if token != cred.token:
            raise AuthError("bad_token")
        if "x-amz-security-token" not in signed:
            # AWS accepts an unsigned token header, but every SDK signs it and
            # the client under test must too.
            raise AuthError("signature", "X-Amz-Security-Token must be signed")

    now = clock.now()
    delta = when.timestamp() - now
    server = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    if delta < -max_skew:
        limit = server - datetime.timedelta(seconds=max_skew)
        raise AuthError("skew_past",
                        "Signature expired: %s is now earlier than %s (%s - %d min.)"
                        % (amz_date, limit.strftime(_ISO_BASIC), server.strftime(_ISO_BASIC),
                           max_skew // 60), request_time=amz_date,
                        server_time=server.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if delta > max_skew:
        limit = server + datetime.timedelta(seconds=max_skew)
        raise AuthError("skew_future",
                        "Signature not yet current: %s is still later than %s (%s + %d min.)"
                        % (amz_date, limit.strftime(_ISO_BASIC), server.strftime(_ISO_BASIC),
                           max_skew // 60), request_time=amz_date,
                        server_time=server.strftime("%Y-%m-%dT%H:%M:%SZ"))

    body_hash = hashlib.sha256(req.body).hexdigest()
    content_sha = req.header("X-Amz-Content-SHA256")
    if s3:
        if content_sha is None:
            raise AuthError("missing_sha256",
                            "Missing required header for this request: x-amz-content-sha256")
        content_sha = content_sha.strip()
        if content_sha != "UNSIGNED-PAYLOAD" and content_sha != body_hash:
            if not re.fullmatch(r"[0-9a-f]{64}", content_sha):
                raise AuthError("content_sha256_invalid",
                                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.")
            raise AuthError("content_sha256",
                            "The provided 'x-amz-content-sha256' header does not match what "
                            "was computed.", client=content_sha, server=body_hash)
    elif content_sha is not None and "x-amz-content-sha256" in signed \
            and content_sha.strip() != body_hash:
        raise AuthError("signature")

    headers = HTTPHeaders()
    for name in signed:
        values = req.headers.get_all(name)
        if values is None:
            raise AuthError("signature", "Signed header '%s' is missing from the request" % name)
        for v in values:
            headers[name] = v
    host = req.header("Host", "localhost")
    url = "http://%s%s" % (host, req.path)
    cq = _canonical_query(req.query)
    if cq:
        url += "?" + cq
    areq = AWSRequest(method=req.method, url=url, headers=headers, data=req.body)
    areq.context["timestamp"] = amz_date
    signer_cls = _S3Sig if s3 else _Sig
    signer = signer_cls(Credentials(cred.akid, cred.secret, cred.token),
                        parts["service"], parts["region"])
    canonical = signer.canonical_request(areq)
    string_to_sign = signer.string_to_sign(areq, canonical)
    expected = signer.signature(string_to_sign, areq)
    if not hmac.compare_digest(expected, parts["signature"].strip().lower()):
        raise AuthError("signature", canonical_request=canonical,
                        string_to_sign=string_to_sign, provided=parts["signature"],
                        akid=cred.akid)

    # Only after a valid signature: temporary credentials past their expiry.
    if cred.expiration is not None and now >= cred.expiration:
        raise AuthError("expired_token")
    return Principal(cred, parts["region"], parts["service"])

"""S3 GetObject stand-in: path-style GET /{bucket}/{key} and virtual-host
style (Host: {bucket}.s3[.region].<anything>) GET /{key}. Objects are files
under --s3-dir (DIR/bucket/key). restXml errors like S3's."""

import hashlib
import os
import re
from email.utils import formatdate
from urllib.parse import unquote

from common import Hang, Response, request_id, xml_text

_VHOST_RE = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3(?:[.-][a-z0-9-]+)*"
                       r"\.(?:amazonaws\.com|localhost|local|test)$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def error(code, message, status, resource="", **extra):
    more = "".join("<%s>%s</%s>" % (k, xml_text(v), k) for k, v in extra.items())
    rid = request_id().replace("-", "")[:16].upper()
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '%s%s<RequestId>%s</RequestId><HostId>%s</HostId></Error>'
            % (code, xml_text(message),
               "<Resource>%s</Resource>" % xml_text(resource) if resource else "", more, rid,
               "standin/" + rid))
    return Response(status, body, "application/xml",
                    [("x-amz-request-id", rid), ("x-amz-id-2", "standin/" + rid)])


def auth_error(err):
    kind = err.kind
    if kind == "missing":
        return error("AccessDenied", "Access Denied", 403)
    if kind in ("incomplete", "scope"):
        return error("AuthorizationHeaderMalformed", err.message, 400)
    if kind == "unknown_key":
        return error("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist "
                     "in our records.", 403, AWSAccessKeyId=err.extra.get("akid", ""))
    if kind == "bad_token":
        return error("InvalidToken", "The provided token is malformed or otherwise invalid.", 400)
    if kind == "expired_token":
        return error("ExpiredToken", "The provided token has expired.", 400)
    if kind in ("skew_past", "skew_future"):
        return error("RequestTimeTooSkewed", "The difference between the request time and the "
                     "current time is too large.", 403,
                     RequestTime=err.extra.get("request_time", ""),
                     ServerTime=err.extra.get("server_time", ""),
                     MaxAllowedSkewMilliseconds="900000")
    if kind == "missing_sha256":
        return error("InvalidRequest", err.message, 400)
    if kind == "content_sha256_invalid":
        return error("InvalidArgument", err.message, 400)
    if kind == "content_sha256":
        return error("XAmzContentSHA256Mismatch", err.message, 400,
                     ClientComputedContentSHA256=err.extra.get("client", ""),
                     S3ComputedContentSHA256=err.extra.get("server", ""))
    extra = {}
    if "akid" in err.extra:
        extra = {"AWSAccessKeyId": err.extra["akid"],
                 "StringToSign": err.extra.get("string_to_sign", ""),
                 "SignatureProvided": err.extra.get("provided", ""),
                 "CanonicalRequest": err.extra.get("canonical_request", "")}
    return error("SignatureDoesNotMatch", "The request signature we calculated does not match "
                 "the signature you provided. Check your key and signing method.", 403, **extra)


def split_target(req):
    """(bucket, key) of a GET, from the Host header or the path; key is
    decoded (None for the bucket itself)."""
    host = (req.header("Host") or "").rsplit(":", 1)[0].lower()
    m = _VHOST_RE.match(host)
    path = req.path
    if m:
        bucket = m.group("bucket")
        key = path[1:]
    else:
        bucket, _, key = path[1:].partition("/")
        bucket = unquote(bucket)
    return bucket, (unquote(key) if key else None)


class S3:
    def __init__(self, root, stats, bucket_regions=None):
        self.root = os.path.realpath(root) if root else None
        self.stats = stats
        self.bucket_regions = dict(bucket_regions or {})

    def handle(self, req, principal, fault):
        bucket, key = split_target(req)
        resource = "/%s/%s" % (bucket, key or "")
        if fault is not None:
            kind, arg = fault
            self.stats.count("s3", "fault_" + kind)
            if kind in ("throttle", "429", "503"):
                return error("SlowDown", "Please reduce your request rate.", 503, resource)
            if kind == "500":
                return error("InternalError", "We encountered an internal error. Please try "
                             "again.", 500, resource)
            return Hang(arg if arg is not None else 15.0)
        if req.method not in ("GET", "HEAD"):
            return error("MethodNotAllowed", "The specified method is not allowed against this "
                         "resource.", 405, resource)
        if not _BUCKET_RE.match(bucket or "") or self.root is None:
            return error("NoSuchBucket", "The specified bucket does not exist", 404, resource,
                         BucketName=bucket)
        bdir = os.path.join(self.root, bucket)
        if not os.path.isdir(bdir):
            return error("NoSuchBucket", "The specified bucket does not exist", 404, resource,
                         BucketName=bucket)
        want = self.bucket_regions.get(bucket)
        if want and principal.region != want:
            return error("AuthorizationHeaderMalformed", "The authorization header is malformed; "
                         "the region '%s' is wrong; expecting '%s'" % (principal.region, want),
                         400, Region=want)
        if key is None:
            return error("NotImplemented", "ListObjects is not part of the stand-in", 501)
        full = os.path.realpath(os.path.join(bdir, key))
        if not full.startswith(os.path.realpath(bdir) + os.sep) or not os.path.isfile(full):
            self.stats.count("s3", "NoSuchKey")
            return error("NoSuchKey", "The specified key does not exist.", 404, resource, Key=key)
        with open(full, "rb") as f:
            data = f.read()
        self.stats.count("s3", "GetObject")
        mtime = os.path.getmtime(full)
        headers = [("ETag", '"%s"' % hashlib.md5(data).hexdigest()),
                   ("Last-Modified", formatdate(mtime, usegmt=True)),
                   ("Accept-Ranges", "bytes"),
                   ("x-amz-request-id", request_id().replace("-", "")[:16].upper())]
        return Response(200, data, "binary/octet-stream", headers)

#!/usr/bin/python3
"""Client side of tests/integration/standins.sh: talks to a running
stand-in (and fauxqs) with botocore and prints TAP lines.

  selftest.py setup DIR              write fixtures (events.json, s3/, fauxqs-init.json)
  selftest.py count                  number of TAP lines `run` prints
  selftest.py run FIRST PORT PID FQPORT FQPID DIR
  selftest.py expiry N PORT          against a stand-in run with --sts --cloudtrail --imds
                                     --sts-cred-ttl 2 --cred-ttl 2.5 --clock-offset 30
"""

import datetime
import email.utils
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import time
import traceback

import botocore.session
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
EXT_ROLE = "arn:aws:iam::%s:role/ExternalAuditor" % OTHER_ACCOUNT
EXT_ID = "whochanged-ext-1"
WEBHOOK_SECRET = "hook-secret-for-tests"
SLACK_TOKEN = "xoxb-selftest-token"
SLACK_HOOK = "/services/T0001/B0001/abcDEF123"
ECS_TOKEN = "ecs-auth-token-for-tests"
SG = "sg-0aaa1111bbbb22223"
WEB_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3aG9jaGFuZ2VkIn0.c2VsZnRlc3Q"

os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
           "AWS_DEFAULT_REGION", "AWS_REGION"):
    os.environ.pop(_v, None)


# ---------------------------------------------------------------- fixtures
def _record(eid, when, account=ACCOUNT, region="us-east-1", name="AuthorizeSecurityGroupIngress",
            user="alice", **extra):
    rec = {
        "eventVersion": "1.10", "eventID": eid, "eventTime": when,
        "eventSource": "ec2.amazonaws.com", "eventName": name, "awsRegion": region,
        "recipientAccountId": account, "readOnly": False, "eventType": "AwsApiCall",
        "userIdentity": {"type": "IAMUser", "userName": user, "accountId": account,
                         "arn": "arn:aws:iam::%s:user/%s" % (account, user),
                         "accessKeyId": "AKIAEXAMPLE" + eid[-4:].upper()},
        "sourceIPAddress": "203.0.113.10", "userAgent": "aws-cli/2.15.0",
    }
    rec.update(extra)
    return rec


def sg_time(i):
    return "2024-05-01T11:%02d:%02dZ" % (10 + i, 7 * i % 60)


def sg_epoch(i):
    return datetime.datetime.strptime(sg_time(i), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def expected_sg_ids():
    """Event ids for SG in 123456789012/us-east-1, newest first."""
    return ["sg-e%02d" % i for i in range(7, 0, -1)]


def setup(d):
    os.makedirs(os.path.join(d, "s3", "config-bucket", "AWSLogs", ACCOUNT), exist_ok=True)
    events = []
    # seven events on SG, minute apart, resource given three different ways
    for i in range(1, 8):
        when = sg_time(i)
        eid = "sg-e%02d" % i
        if i % 3 == 0:
            rec = _record(eid, when, requestParameters={"groupId": SG})
        elif i % 3 == 1:
            rec = _record(eid, when, resources=[{
                "ARN": "arn:aws:ec2:us-east-1:%s:security-group/%s" % (ACCOUNT, SG),
                "accountId": ACCOUNT, "type": "AWS::EC2::SecurityGroup"}])
        else:
            rec = _record(eid, when, _resources=[{"ResourceType": "AWS::EC2::SecurityGroup",
                                                  "ResourceName": SG}])
        events.append(rec)
    events.append(_record("other-1", "2024-05-01T11:30:00Z",
                          requestParameters={"groupId": "sg-0bbb"}))
    events.append(_record("other-2", "2024-05-01T11:31:00Z", name="DescribeInstances",
                          readOnly=True))
    events.append(_record("euw1-1", "2024-05-01T11:20:00Z", region="eu-west-1",
                          requestParameters={"groupId": SG}))
    events.append(_record("acct2-1", "2024-05-01T11:21:00Z", account=OTHER_ACCOUNT,
                          requestParameters={"groupId": SG}))
    events.append(_record("late-1", "2024-05-01T11:40:00Z",
                          requestParameters={"groupId": "sg-0late"}, _visible_after_s=4))
    # shuffle deterministically so "newest first" is the stand-in's doing
    events = events[5:] + events[:5]
    with open(os.path.join(d, "events.json"), "w", encoding="utf-8") as f:
        json.dump(events, f, indent=1)
    with open(os.path.join(d, "s3", "config-bucket", "AWSLogs", ACCOUNT, "obj 1.json"), "wb") as f:
        f.write(b'{"hello":"s3"}\n')
    with open(os.path.join(d, "fauxqs-init.json"), "w", encoding="utf-8") as f:
        json.dump({"region": "us-east-1",
                   "queues": [{"name": "whochanged-test",
                               "attributes": {"VisibilityTimeout": "30"}}]}, f)


# ---------------------------------------------------------------- helpers
class Ctx:
    def __init__(self, port, pid, fq_port, fq_pid, d):
        self.port, self.pid, self.fq_port, self.fq_pid, self.dir = port, pid, fq_port, fq_pid, d
        self.url = "http://127.0.0.1:%d" % port

    def session(self, akid=AKID, secret=SECRET, token=None):
        s = botocore.session.get_session()
        s.set_credentials(akid, secret, token)
        return s

    def client(self, service, region="us-east-1", akid=AKID, secret=SECRET, token=None):
        return self.session(akid, secret, token).create_client(
            service, region_name=region, endpoint_url=self.url,
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=5,
                          read_timeout=10, s3={"addressing_style": "path"}))

    def http(self, method, path, body=b"", headers=None, port=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            conn.close()

    def jget(self, path):
        status, _, body = self.http("GET", path)
        assert status == 200, (path, status)
        return json.loads(body)

    def jpost(self, path, obj):
        status, _, body = self.http("POST", path, json.dumps(obj).encode(),
                                    {"Content-Type": "application/json"})
        return status, body


def err_code(e):
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]


def expect_error(fn, code, status):
    try:
        fn()
    except ClientError as e:
        got = err_code(e)
        assert got == (code, status), "want %s/%s, got %s" % (code, status, got)
        return e
    raise AssertionError("want %s, call succeeded" % code)


def patient(fn, attempts=8):
    """Call fn, waiting out ThrottlingException (the stand-in allows 2/s)."""
    for i in range(attempts):
        try:
            return fn()
        except ClientError as e:
            if err_code(e)[0] != "ThrottlingException" or i == attempts - 1:
                raise
            time.sleep(0.6)
    raise AssertionError("unreachable")


def signed(method, url, body, service, region, headers, akid=AKID, secret=SECRET, token=None):
    req = AWSRequest(method=method, url=url, data=body, headers=headers)
    cls = S3SigV4Auth if service == "s3" else SigV4Auth
    cls(Credentials(akid, secret, token), service, region).add_auth(req)
    return dict(req.headers.items())


def lookup_raw(ctx, body, region="us-east-1", tamper=None, headers_edit=None):
    headers = {"Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
                               "LookupEvents"}
    h = signed("POST", ctx.url + "/", body, "cloudtrail", region, headers)
    if headers_edit:
        headers_edit(h)
    return ctx.http("POST", "/", tamper if tamper is not None else body, h)


def listening_only_loopback(pid):
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, timeout=10).stdout
    mine = [line for line in out.splitlines() if "pid=%d," % pid in line]
    assert mine, "pid %d listens nowhere? ss: %s" % (pid, out)
    for line in mine:
        local = line.split()[3]
        assert local.startswith("127.0.0.1:"), "listens on %s" % local
    return True


# ---------------------------------------------------------------- checks
def t_lookup_paginates(ctx):
    ct = ctx.client("cloudtrail")
    ids, pages, token = [], 0, None
    while pages < 10:
        kw = {"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": SG}],
              "MaxResults": 3}
        if token:
            kw["NextToken"] = token
        r = patient(lambda: ct.lookup_events(**kw))
        pages += 1
        ids += [e["EventId"] for e in r["Events"]]
        token = r.get("NextToken")
        if not token:
            break
    assert ids == expected_sg_ids(), ids
    assert pages == 3, pages
    # the ARN form matches too, and ResourceName is an exact match
    arn = "arn:aws:ec2:us-east-1:%s:security-group/%s" % (ACCOUNT, SG)
    r = patient(lambda: ct.lookup_events(LookupAttributes=[
        {"AttributeKey": "ResourceName", "AttributeValue": arn}]))
    assert [e["EventId"] for e in r["Events"]] == ["sg-e07", "sg-e04", "sg-e01"], r["Events"]
    r = patient(lambda: ct.lookup_events(LookupAttributes=[
        {"AttributeKey": "ResourceName", "AttributeValue": SG[:-1]}]))
    assert r["Events"] == [], r["Events"]
    return True


def t_lookup_shape(ctx):
    body = json.dumps({"LookupAttributes": [{"AttributeKey": "EventId",
                                             "AttributeValue": "sg-e03"}]}).encode()
    for _ in range(6):
        status, _, raw = lookup_raw(ctx, body)
        if status != 400 or b"Throttling" not in raw:
            break
        time.sleep(0.6)
    assert status == 200, (status, raw)
    text = raw.decode()
    assert '"EventTime":1.' in text and "E9" in text, text[:300]
    doc = json.loads(text)
    (ev,) = doc["Events"]
    assert ev["ReadOnly"] == "false" and ev["EventName"] == "AuthorizeSecurityGroupIngress"
    assert ev["Username"] == "alice" and ev["EventSource"] == "ec2.amazonaws.com"
    assert ev["Resources"] == [{"ResourceType": "AWS::EC2::SecurityGroup",
                                "ResourceName": SG}], ev["Resources"]
    inner = json.loads(ev["CloudTrailEvent"])
    assert inner["eventID"] == "sg-e03" and "_resources" not in inner
    assert ev["EventTime"] == sg_epoch(3), ev["EventTime"]
    assert "NextToken" not in doc
    # other attribute keys
    ct = ctx.client("cloudtrail")
    r = patient(lambda: ct.lookup_events(LookupAttributes=[
        {"AttributeKey": "ReadOnly", "AttributeValue": "true"}]))
    assert [e["EventId"] for e in r["Events"]] == ["other-2"], r["Events"]
    r = patient(lambda: ct.lookup_events(
        StartTime=int(sg_epoch(2)), EndTime=int(sg_epoch(3)),   # both ends inclusive
        LookupAttributes=[{"AttributeKey": "EventName",
                           "AttributeValue": "AuthorizeSecurityGroupIngress"}]))
    assert [e["EventId"] for e in r["Events"]] == ["sg-e03", "sg-e02"], r["Events"]
    return True


def t_scoping(ctx):
    r = patient(lambda: ctx.client("cloudtrail", "eu-west-1").lookup_events(LookupAttributes=[
        {"AttributeKey": "ResourceName", "AttributeValue": SG}]))
    assert [e["EventId"] for e in r["Events"]] == ["euw1-1"], r["Events"]
    return True


def t_next_token(ctx):
    ct = ctx.client("cloudtrail")
    attrs = [{"AttributeKey": "ResourceName", "AttributeValue": SG}]
    r = patient(lambda: ct.lookup_events(LookupAttributes=attrs, MaxResults=2))
    tok = r["NextToken"]
    expect_error(lambda: patient(lambda: ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": "sg-0bbb"}],
        MaxResults=2, NextToken=tok)), "InvalidNextTokenException", 400)
    expect_error(lambda: patient(lambda: ct.lookup_events(
        LookupAttributes=attrs, MaxResults=2, NextToken=tok[:-4] + "AAAA")),
        "InvalidNextTokenException", 400)
    r2 = patient(lambda: ct.lookup_events(LookupAttributes=attrs, MaxResults=2, NextToken=tok))
    assert [e["EventId"] for e in r2["Events"]] == expected_sg_ids()[2:4]
    return True


def t_validation(ctx):
    ct = ctx.client("cloudtrail")
    expect_error(lambda: patient(lambda: ct.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "a"},
        {"AttributeKey": "Username", "AttributeValue": "b"}])),
        "InvalidLookupAttributesException", 400)
    body = json.dumps({"MaxResults": 51}).encode()
    status, _, raw = 400, None, b"Throttling"
    for _ in range(6):
        status, _, raw = lookup_raw(ctx, body)
        if b"Throttling" not in raw:
            break
        time.sleep(0.6)
    assert status == 400 and json.loads(raw)["__type"] == "InvalidMaxResultsException", raw
    expect_error(lambda: patient(lambda: ct.lookup_events(StartTime=1714564800,
                                                          EndTime=1714561200)),
                 "InvalidTimeRangeException", 400)
    return True


def t_late_event(ctx):
    ct = ctx.client("cloudtrail")

    def ids(resource):
        r = patient(lambda: ct.lookup_events(LookupAttributes=[
            {"AttributeKey": "ResourceName", "AttributeValue": resource}]))
        return [e["EventId"] for e in r["Events"]]

    # an event added at run time, visible 3 s later
    status, raw = ctx.jpost("/_events", [_record("late-2", "2024-05-01T11:41:00Z",
                                                 requestParameters={"groupId": "sg-0late2"},
                                                 _visible_after_s=3)])
    added = time.time()
    assert status == 200, raw
    assert ids("sg-0late2") == [], "visible too early"
    seen = []
    while time.time() - added < 12 and not seen:
        time.sleep(0.5)
        seen = ids("sg-0late2")
    assert seen == ["late-2"], seen
    assert time.time() - added >= 2.5, "visible after %.1f s" % (time.time() - added)
    # the file's late event (4 s after start) is visible by now, in us-east-1 only
    while ctx.elapsed_since_start() < 5:
        time.sleep(0.2)
    assert ids("sg-0late") == ["late-1"]
    r = patient(lambda: ctx.client("cloudtrail", "us-west-2").lookup_events(LookupAttributes=[
        {"AttributeKey": "ResourceName", "AttributeValue": "sg-0late"}]))
    assert r["Events"] == []
    return True


def t_wrong_secret(ctx):
    ct = ctx.client("cloudtrail", secret=SECRET[:-1] + "Z")
    e = expect_error(lambda: ct.lookup_events(), "InvalidSignatureException", 400)
    assert "signature we calculated does not match" in e.response["Error"]["Message"]
    return True


def t_tampered(ctx):
    body = json.dumps({"LookupAttributes": [{"AttributeKey": "ResourceName",
                                             "AttributeValue": SG}]}).encode()
    bad = body.replace(SG.encode(), b"sg-0aaa1111bbbb22224")
    status, _, raw = lookup_raw(ctx, body, tamper=bad)
    assert status == 400 and json.loads(raw)["__type"] == "InvalidSignatureException", raw

    def swap_target(h):
        h["X-Amz-Target"] = h["X-Amz-Target"].replace("LookupEvents", "LookupEventz")
    status, _, raw = lookup_raw(ctx, body, headers_edit=swap_target)
    assert status == 400 and json.loads(raw)["__type"] == "InvalidSignatureException", raw
    return True


def t_unknown_and_missing(ctx):
    expect_error(lambda: ctx.client("cloudtrail", akid="AKIDUNKNOWN00000").lookup_events(),
                 "UnrecognizedClientException", 400)
    status, _, raw = ctx.http("POST", "/", b"{}", {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"})
    assert status == 400 and json.loads(raw)["__type"] == "MissingAuthenticationTokenException"
    return True


def t_skew(ctx):
    body = b"{}"
    old = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 600))

    def backdate(h):
        # re-sign with the old date so only the skew is wrong
        req = AWSRequest(method="POST", url=ctx.url + "/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
                            "LookupEvents", "X-Amz-Date": old})
        signer = SigV4Auth(Credentials(AKID, SECRET), "cloudtrail", "us-east-1")
        req.context["timestamp"] = old
        cr = signer.canonical_request(req)
        sig = signer.signature(signer.string_to_sign(req, cr), req)
        h.clear()
        h.update(dict(req.headers.items()))
        h["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/cloudtrail/"
                              "aws4_request, SignedHeaders=%s, Signature=%s"
                              % (AKID, old[:8], signer.signed_headers(
                                  signer.headers_to_sign(req)), sig))
    status, _, raw = lookup_raw(ctx, body, headers_edit=backdate)
    doc = json.loads(raw)
    assert status == 400 and doc["__type"] == "InvalidSignatureException", raw
    assert doc["message"].startswith("Signature expired"), doc
    return True


def t_throttling(ctx):
    ct = ctx.client("cloudtrail", "eu-west-2")
    time.sleep(1.1)
    results = []
    t0 = time.time()
    for _ in range(5):
        try:
            ct.lookup_events(MaxResults=1)
            results.append("ok")
        except ClientError as e:
            results.append("%s/%s/%s" % (err_code(e) + (e.response["Error"]["Message"],)))
    assert time.time() - t0 < 1.0, "calls too slow to test the rate"
    assert results[:2] == ["ok", "ok"], results
    assert "ThrottlingException/400/Rate exceeded" in results[2:], results
    stats = ctx.jget("/_stats")["by_account_region"]["%s/eu-west-2" % ACCOUNT]
    assert stats["throttled"] >= 1 and stats["max_per_second"] <= 2, stats
    time.sleep(1.05)
    ct.lookup_events(MaxResults=1)
    return True


def t_assume_role(ctx):
    st = ctx.client("sts")
    r = st.assume_role(RoleArn="arn:aws:iam::%s:role/ChangeAuditor" % OTHER_ACCOUNT,
                       RoleSessionName="whochanged-selftest", DurationSeconds=900)
    c = r["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and c["SessionToken"], c
    assert r["AssumedRoleUser"]["Arn"] == ("arn:aws:sts::%s:assumed-role/ChangeAuditor/"
                                           "whochanged-selftest" % OTHER_ACCOUNT)
    ct = ctx.client("cloudtrail", "us-east-1", c["AccessKeyId"], c["SecretAccessKey"],
                    c["SessionToken"])
    ev = patient(lambda: ct.lookup_events(LookupAttributes=[
        {"AttributeKey": "ResourceName", "AttributeValue": SG}]))
    assert [e["EventId"] for e in ev["Events"]] == ["acct2-1"], ev["Events"]
    # the same key without its session token is refused
    ct2 = ctx.client("cloudtrail", "us-east-1", c["AccessKeyId"], c["SecretAccessKey"])
    expect_error(lambda: ct2.lookup_events(), "UnrecognizedClientException", 400)
    who = ctx.client("sts", akid=c["AccessKeyId"], secret=c["SecretAccessKey"],
                     token=c["SessionToken"]).get_caller_identity()
    assert who["Account"] == OTHER_ACCOUNT, who
    return True


def t_sts_errors(ctx):
    st = ctx.client("sts")
    loose = ctx.session().create_client("sts", region_name="us-east-1", endpoint_url=ctx.url,
                                        config=Config(parameter_validation=False,
                                                      retries={"total_max_attempts": 1}))
    expect_error(lambda: st.assume_role(RoleArn="arn:aws:iam::%s:role/R" % ACCOUNT,
                                        RoleSessionName="bad name!"), "ValidationError", 400)
    expect_error(lambda: loose.assume_role(RoleArn="arn:aws:iam::%s:role/R" % ACCOUNT,
                                           RoleSessionName="ok", DurationSeconds=60),
                 "ValidationError", 400)
    expect_error(lambda: st.assume_role(RoleArn=EXT_ROLE, RoleSessionName="ext"),
                 "AccessDenied", 403)
    expect_error(lambda: st.assume_role(RoleArn=EXT_ROLE, RoleSessionName="ext",
                                        ExternalId="wrong-id"), "AccessDenied", 403)
    st.assume_role(RoleArn=EXT_ROLE, RoleSessionName="ext", ExternalId=EXT_ID)
    expect_error(lambda: ctx.client("sts", secret="x" * 40).assume_role(
        RoleArn=EXT_ROLE, RoleSessionName="ext", ExternalId=EXT_ID),
        "SignatureDoesNotMatch", 403)
    expect_error(lambda: ctx.client("sts", akid="AKIDNOPE").get_caller_identity(),
                 "InvalidClientTokenId", 403)
    # web identity: unsigned, token checked, creds usable
    anon = botocore.session.get_session().create_client(
        "sts", region_name="us-east-1", endpoint_url=ctx.url,
        config=Config(signature_version=botocore.UNSIGNED, retries={"total_max_attempts": 1}))
    arn = "arn:aws:iam::%s:role/WebRole" % ACCOUNT
    expect_error(lambda: anon.assume_role_with_web_identity(
        RoleArn=arn, RoleSessionName="web", WebIdentityToken=WEB_TOKEN + "x"),
        "InvalidIdentityToken", 400)
    r = anon.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="web",
                                           WebIdentityToken=WEB_TOKEN)
    c = r["Credentials"]
    who = ctx.client("sts", akid=c["AccessKeyId"], secret=c["SecretAccessKey"],
                     token=c["SessionToken"]).get_caller_identity()
    assert who["Arn"] == "arn:aws:sts::%s:assumed-role/WebRole/web" % ACCOUNT, who
    return True


def t_s3(ctx):
    s3 = ctx.client("s3")
    key = "AWSLogs/%s/obj 1.json" % ACCOUNT
    r = s3.get_object(Bucket="config-bucket", Key=key)
    assert r["Body"].read() == b'{"hello":"s3"}\n'
    expect_error(lambda: s3.get_object(Bucket="config-bucket", Key="nope.json"), "NoSuchKey", 404)
    expect_error(lambda: s3.get_object(Bucket="no-such-bucket", Key="x"), "NoSuchBucket", 404)
    expect_error(lambda: ctx.client("s3", secret="y" * 40).get_object(
        Bucket="config-bucket", Key=key), "SignatureDoesNotMatch", 403)
    expect_error(lambda: ctx.client("s3", akid="AKIDNOPE").get_object(
        Bucket="config-bucket", Key=key), "InvalidAccessKeyId", 403)
    # virtual-host style: bucket in the Host header
    host = "config-bucket.s3.us-east-1.amazonaws.com"
    path = "/AWSLogs/%s/obj%%201.json" % ACCOUNT
    h = signed("GET", "http://%s%s" % (host, path), b"", "s3", "us-east-1",
               {"X-Amz-Content-SHA256": hashlib.sha256(b"").hexdigest()})
    h["Host"] = host
    status, _, body = ctx.http("GET", path, b"", h)
    assert status == 200 and body == b'{"hello":"s3"}\n', (status, body)
    return True


def t_imds(ctx):
    status, _, _ = ctx.http("GET", "/latest/meta-data/iam/security-credentials/")
    assert status == 401, status
    status, _, _ = ctx.http("GET", "/latest/meta-data/iam/security-credentials/",
                            headers={"X-aws-ec2-metadata-token": "AQAEbogus"})
    assert status == 401, status
    status, _, _ = ctx.http("PUT", "/latest/api/token")
    assert status == 400, status
    status, h, tok = ctx.http("PUT", "/latest/api/token",
                              headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    assert status == 200 and h.get("x-aws-ec2-metadata-token-ttl-seconds") == "60", (status, h)
    th = {"X-aws-ec2-metadata-token": tok.decode()}
    status, _, role = ctx.http("GET", "/latest/meta-data/iam/security-credentials/", headers=th)
    assert status == 200 and role == b"whochanged-test-role", (status, role)
    status, _, raw = ctx.http("GET", "/latest/meta-data/iam/security-credentials/" +
                              role.decode(), headers=th)
    assert status == 200 and b'"Code" : "Success"' in raw, raw
    c = json.loads(raw)
    ct = ctx.client("cloudtrail", "us-east-1", c["AccessKeyId"], c["SecretAccessKey"],
                    c["Token"])
    patient(lambda: ct.lookup_events(MaxResults=1))
    return True


def t_ecs(ctx):
    path = "/v2/credentials/selftest"
    status, _, _ = ctx.http("GET", path)
    assert status == 401, status
    status, _, _ = ctx.http("GET", path, headers={"Authorization": "wrong"})
    assert status == 403, status
    status, _, raw = ctx.http("GET", path, headers={"Authorization": ECS_TOKEN})
    c = json.loads(raw)
    assert status == 200 and c["AccessKeyId"].startswith("ASIA") and c["RoleArn"], c
    return True


def t_slack_webhook(ctx):
    ctx.http("DELETE", "/_posts")
    body = json.dumps({"text": "alice changed sg-1",
                       "blocks": [{"type": "section",
                                   "text": {"type": "mrkdwn", "text": "*alice*"}}]}).encode()
    status, _, raw = ctx.http("POST", SLACK_HOOK, body, {"Content-Type": "application/json"})
    assert (status, raw) == (200, b"ok"), (status, raw)
    status, _, raw = ctx.http("POST", SLACK_HOOK, b"{not json", {"Content-Type":
                                                                  "application/json"})
    assert (status, raw) == (400, b"invalid_payload"), (status, raw)
    status, _, raw = ctx.http("POST", SLACK_HOOK, b'{"username":"x"}',
                              {"Content-Type": "application/json"})
    assert (status, raw) == (400, b"no_text"), (status, raw)
    posts = ctx.jget("/_posts")
    assert len(posts) == 1 and posts[0]["payload"]["text"] == "alice changed sg-1", posts
    with open(os.path.join(ctx.dir, "state", "slack.jsonl"), encoding="utf-8") as f:
        lines = [json.loads(x) for x in f if x.strip()]
    assert lines[-1]["payload"]["text"] == "alice changed sg-1", lines
    return True


def t_slack_faults(ctx):
    status, raw = ctx.jpost("/_faults", {"slack": "500,429:3"})
    assert status == 200, raw
    body = b'{"text":"retry me"}'
    hdr = {"Content-Type": "application/json"}
    status, _, _ = ctx.http("POST", SLACK_HOOK, body, hdr)
    assert status == 500, status
    status, h, _ = ctx.http("POST", SLACK_HOOK, body, hdr)
    assert status == 429 and h.get("retry-after") == "3", (status, h)
    status, _, raw = ctx.http("POST", SLACK_HOOK, body, hdr)
    assert (status, raw) == (200, b"ok"), (status, raw)
    # hang: the client's timeout fires
    ctx.jpost("/_faults", {"slack": "hang:3"})
    t0 = time.time()
    try:
        ctx.http("POST", SLACK_HOOK, body, hdr, timeout=1)
        raise AssertionError("hang answered")
    except (OSError, http.client.HTTPException):
        pass
    assert time.time() - t0 < 2.5
    assert [p["payload"]["text"] for p in ctx.jget("/_posts")][-1] == "retry me"
    return True


def t_delay_and_reset(ctx):
    body = b'{"text":"slow or reset"}'
    hdr = {"Content-Type": "application/json"}
    before = len(ctx.jget("/_posts"))
    status, raw = ctx.jpost("/_faults", {"slack": "delay:1,reset", "cloudtrail": "delay:1,reset"})
    assert status == 200, raw
    t0 = time.time()
    status, _, raw = ctx.http("POST", SLACK_HOOK, body, hdr)
    assert (status, raw) == (200, b"ok") and time.time() - t0 >= 0.9, (status, raw)
    t0 = time.time()
    status, _, raw = lookup_raw(ctx, b'{"MaxResults":1}')
    assert status == 200 and time.time() - t0 >= 0.9, (status, raw)
    for call in (lambda: ctx.http("POST", SLACK_HOOK, body, hdr),
                 lambda: lookup_raw(ctx, b'{"MaxResults":1}')):
        try:
            call()
            raise AssertionError("reset answered")
        except (ConnectionResetError, http.client.RemoteDisconnected):
            pass
    assert ctx.jget("/_faults") == {}, ctx.jget("/_faults")
    assert len(ctx.jget("/_posts")) == before + 1
    roles = ctx.jget("/_stats")["roles"]
    for role in ("slack", "cloudtrail"):
        r = roles.get(role, {})
        assert r.get("fault_delay", 0) >= 1 and r.get("fault_reset", 0) >= 1, roles
    return True


def t_chat_post(ctx):
    def post(token, payload):
        h = {"Content-Type": "application/json; charset=utf-8"}
        if token:
            h["Authorization"] = "Bearer " + token
        status, _, raw = ctx.http("POST", "/api/chat.postMessage", json.dumps(payload).encode(),
                                  h)
        assert status == 200, status
        return json.loads(raw)
    r = post(SLACK_TOKEN, {"channel": "C0SELFTEST", "text": "hi"})
    assert r["ok"] is True and r["ts"], r
    assert post("xoxb-wrong", {"channel": "C0SELFTEST", "text": "hi"}) == \
        {"ok": False, "error": "invalid_auth"}
    assert post(SLACK_TOKEN, {"channel": "C0NOPE", "text": "hi"}) == \
        {"ok": False, "error": "channel_not_found"}
    assert post(None, {"channel": "C0SELFTEST", "text": "hi"})["error"] == "not_authed"
    return True


def t_slack_rate_limit(ctx):
    hook = "/services/T0RATE/B0RATE/rateLimitTest1"  # its own bucket
    hdr = {"Content-Type": "application/json"}
    before = ctx.jget("/_stats")["roles"].get("slack", {}).get("rate_limited", 0)
    # three in a second: the burst passes, then 429 with Retry-After
    got = [ctx.http("POST", hook, b'{"text":"burst %d"}' % i, hdr) for i in range(3)]
    assert [g[0] for g in got[:2]] == [200, 200], got
    status, h, raw = got[2]
    assert (status, raw) == (429, b"rate_limited"), (status, raw)
    after = int(h.get("retry-after", "0"))
    assert 1 <= after <= 2, h
    stats = ctx.jget("/_stats")["roles"]["slack"]
    assert stats["rate_limited"] == before + 1 and stats["http_429"] >= 1, stats
    texts = [p["payload"]["text"] for p in ctx.jget("/_posts") if p["path"] == hook]
    assert texts == ["burst 0", "burst 1"], texts  # the refused one is not recorded
    # after Retry-After, and then one a second, every post passes
    time.sleep(after)
    for i in range(3):
        status, _, raw = ctx.http("POST", hook, b'{"text":"paced %d"}' % i, hdr)
        assert (status, raw) == (200, b"ok"), (i, status, raw)
        time.sleep(1.0)
    # another webhook URL has its own allowance
    status, _, _ = ctx.http("POST", "/services/T0RATE/B0RATE/otherHook", b'{"text":"x"}', hdr)
    assert status == 200, status
    return True


def t_chat_threads(ctx):
    def post(payload):
        h = {"Content-Type": "application/json; charset=utf-8",
             "Authorization": "Bearer " + SLACK_TOKEN}
        status, hh, raw = ctx.http("POST", "/api/chat.postMessage",
                                   json.dumps(payload).encode(), h)
        return status, hh, json.loads(raw)
    time.sleep(1.0)  # the channel's allowance, after t_chat_post
    status, _, first = post({"channel": "C0SELFTEST", "text": "part 1"})
    assert status == 200 and first["ok"] and first["ts"], first
    status, _, reply = post({"channel": "C0SELFTEST", "text": "part 2",
                             "thread_ts": first["ts"]})
    assert status == 200 and reply["ok"] and reply["ts"] != first["ts"], reply
    assert reply["message"]["thread_ts"] == first["ts"], reply
    # a third at once: the channel is over its rate
    status, h, r = post({"channel": "C0SELFTEST", "text": "part 3", "thread_ts": first["ts"]})
    assert status == 429 and r == {"ok": False, "error": "ratelimited"}, (status, r)
    assert int(h["retry-after"]) >= 1, h
    time.sleep(int(h["retry-after"]))
    # a reply to a reply joins the same thread; an unknown ts is refused
    status, _, r = post({"channel": "C0SELFTEST", "text": "part 3", "thread_ts": reply["ts"]})
    assert r["ok"] and r["message"]["thread_ts"] == first["ts"], r
    status, _, r = post({"channel": "C0SELFTEST", "text": "x", "thread_ts": "1.000001"})
    assert r == {"ok": False, "error": "thread_not_found"}, r
    posts = [p for p in ctx.jget("/_posts") if p.get("kind") == "chat.postMessage"]
    mine = {p["payload"]["text"]: p for p in posts if p["payload"]["text"].startswith("part")}
    assert mine["part 1"]["thread_ts"] is None and mine["part 1"]["ts"] == first["ts"], mine
    assert mine["part 2"]["thread_ts"] == first["ts"], mine
    assert mine["part 3"]["thread_parent"] == first["ts"], mine
    assert ctx.jget("/_stats")["roles"]["slack"]["thread_replies"] >= 2
    return True


def t_webhook(ctx):
    body = b'{"who":"alice","what":"sg-1"}'
    sig = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    status, _, _ = ctx.http("POST", "/webhook", body, {"Content-Type": "application/json",
                                                       "X-Whochanged-Signature": sig})
    assert status == 200, status
    status, _, _ = ctx.http("POST", "/webhook", body + b" ", {"X-Whochanged-Signature": sig})
    assert status == 401, status
    status, _, _ = ctx.http("POST", "/webhook", body)
    assert status == 401, status
    hooks = ctx.jget("/_webhooks")
    assert len(hooks) == 1 and hooks[0]["json"] == {"who": "alice", "what": "sg-1"}, hooks
    assert hooks[0]["headers"].get("X-Whochanged-Signature") == sig
    return True


def t_standin_loopback(ctx):
    return listening_only_loopback(ctx.pid)


def sqs_call(ctx, op, payload):
    url = "http://127.0.0.1:%d/" % ctx.fq_port
    body = json.dumps(payload).encode()
    h = signed("POST", url, body, "sqs", "us-east-1",
               {"Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "AmazonSQS." + op, "x-amzn-query-mode": "true"})
    status, _, raw = ctx.http("POST", "/", body, h, port=ctx.fq_port, timeout=15)
    assert status == 200, (op, status, raw)
    return json.loads(raw or b"{}")


def t_fauxqs_roundtrip(ctx):
    q = sqs_call(ctx, "GetQueueUrl", {"QueueName": "whochanged-test"})["QueueUrl"]
    sent = sqs_call(ctx, "SendMessage", {"QueueUrl": q, "MessageBody": "hello fauxqs"})
    got = sqs_call(ctx, "ReceiveMessage", {"QueueUrl": q, "MaxNumberOfMessages": 1,
                                           "WaitTimeSeconds": 2})
    (msg,) = got["Messages"]
    assert msg["Body"] == "hello fauxqs" and msg["MessageId"] == sent["MessageId"], msg
    assert msg["MD5OfBody"] == hashlib.md5(b"hello fauxqs").hexdigest()
    sqs_call(ctx, "DeleteMessage", {"QueueUrl": q, "ReceiptHandle": msg["ReceiptHandle"]})
    again = sqs_call(ctx, "ReceiveMessage", {"QueueUrl": q, "WaitTimeSeconds": 1})
    assert not again.get("Messages"), again
    # FAUXQS_RECEIVE_LOG (receipts.mjs): the receive and the delete, in order
    with open(os.path.join(ctx.dir, "receipts.log"), encoding="utf-8") as f:
        mine = [x.split()[1:] for x in f if sent["MessageId"] in x]
    assert mine == [["R", "whochanged-test", sent["MessageId"], "1"],
                    ["D", "whochanged-test", sent["MessageId"]]], mine
    return True


def t_fauxqs_loopback(ctx):
    return listening_only_loopback(ctx.fq_pid)


CHECKS = [
    ("cloudtrail: LookupEvents by ResourceName, newest first, paginated", t_lookup_paginates),
    ("cloudtrail: response shape (EventTime number, ReadOnly string, CloudTrailEvent)",
     t_lookup_shape),
    ("cloudtrail: events scoped to the request's account and region", t_scoping),
    ("cloudtrail: NextToken bound to its parameters, garbage refused", t_next_token),
    ("cloudtrail: attribute/MaxResults/time-range validation errors", t_validation),
    ("cloudtrail: late event appears after _visible_after_s", t_late_event),
    ("sigv4: wrong secret -> InvalidSignatureException", t_wrong_secret),
    ("sigv4: tampered body or target -> InvalidSignatureException", t_tampered),
    ("sigv4: unknown key / no Authorization", t_unknown_and_missing),
    ("sigv4: X-Amz-Date 10 min old -> Signature expired", t_skew),
    ("cloudtrail: more than 2 requests/s -> ThrottlingException", t_throttling),
    ("sts: AssumeRole creds work on CloudTrail in the role's account", t_assume_role),
    ("sts: validation, ExternalId, signature errors", t_sts_errors),
    ("s3: GetObject path/virtual-host, NoSuchKey/NoSuchBucket 404, auth errors", t_s3),
    ("imds: IMDSv2 token flow, 401 without token, creds usable", t_imds),
    ("ecs: container credentials with Authorization check", t_ecs),
    ("slack: webhook post recorded; invalid_payload/no_text", t_slack_webhook),
    ("slack: faults 500, 429 Retry-After, hang, then 200", t_slack_faults),
    ("faults: delay answers late, reset aborts the connection", t_delay_and_reset),
    ("slack: chat.postMessage ok/invalid_auth/channel_not_found", t_chat_post),
    ("slack: 1 post/s per webhook passes, 3 in a second -> 429 Retry-After", t_slack_rate_limit),
    ("slack: chat.postMessage ts, thread_ts replies, per-channel rate limit", t_chat_threads),
    ("webhook: HMAC signature verified, 401 on mismatch", t_webhook),
    ("standin listens only on 127.0.0.1", t_standin_loopback),
    ("fauxqs: SQS send/receive/delete", t_fauxqs_roundtrip),
    ("fauxqs listens only on 127.0.0.1", t_fauxqs_loopback),
]


def imds_creds(ctx):
    _, _, tok = ctx.http("PUT", "/latest/api/token",
                         headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    status, _, raw = ctx.http("GET", "/latest/meta-data/iam/security-credentials/"
                              "whochanged-test-role",
                              headers={"X-aws-ec2-metadata-token": tok.decode()})
    assert status == 200, (status, raw)
    return json.loads(raw)


def expiry(n, port):
    """Second stand-in (--sts-cred-ttl 2 --clock-offset 30): issued creds stop
    working once expired, and the Date header follows the server clock."""
    ctx = Ctx(port, 0, 0, 0, "")
    good = False
    try:
        st = ctx.client("sts")
        c = st.assume_role(RoleArn="arn:aws:iam::%s:role/Short" % ACCOUNT,
                           RoleSessionName="short")["Credentials"]
        left = c["Expiration"].timestamp() - time.time()
        assert 25 <= left <= 33, left   # 2 s lifetime on a clock 30 s ahead
        ct = ctx.client("cloudtrail", "us-east-1", c["AccessKeyId"], c["SecretAccessKey"],
                        c["SessionToken"])
        ct.lookup_events(MaxResults=1)
        first = imds_creds(ctx)
        time.sleep(2.3)
        expect_error(lambda: ct.lookup_events(MaxResults=1), "ExpiredTokenException", 400)
        # IMDS (--cred-ttl 2.5) hands out new credentials before the old expire
        second = imds_creds(ctx)
        assert second["AccessKeyId"] != first["AccessKeyId"], (first, second)
        time.sleep(0.4)
        old = ctx.client("cloudtrail", "us-east-1", first["AccessKeyId"],
                         first["SecretAccessKey"], first["Token"])
        expect_error(lambda: old.lookup_events(MaxResults=1), "ExpiredTokenException", 400)
        ctx.client("cloudtrail", "us-east-1", second["AccessKeyId"], second["SecretAccessKey"],
                   second["Token"]).lookup_events(MaxResults=1)
        _, h, _ = ctx.http("GET", "/_health")
        server = email.utils.parsedate_to_datetime(h["date"]).timestamp()
        assert 27 <= server - time.time() <= 33, server - time.time()
        good = True
    except Exception:
        for line in traceback.format_exc().splitlines():
            print("# " + line)
    print("%s %d - sts/imds: credentials expire (ExpiredTokenException), IMDS renews them; "
          "Date follows the server clock" % ("ok" if good else "not ok", n), flush=True)
    return 0 if good else 1


def pacing(n, port):
    """Third stand-in (--latency 0.3 --ct-rate 1): service answers wait,
    control endpoints do not; the request log names a throttled call's
    error."""
    ctx = Ctx(port, 0, 0, 0, "")
    good = False
    try:
        t0 = time.time()
        ctx.jget("/_health")
        assert time.time() - t0 < 0.25, "control endpoint delayed"
        ct = ctx.client("cloudtrail", "eu-west-1")
        t0 = time.time()
        ct.lookup_events(MaxResults=1)
        assert time.time() - t0 >= 0.3, time.time() - t0
        expect_error(lambda: ct.lookup_events(MaxResults=1), "ThrottlingException", 400)
        last = [q for q in ctx.jget("/_requests") if q["role"] == "cloudtrail"][-2:]
        assert [q.get("error") for q in last] == [None, "ThrottlingException"], last
        good = True
    except Exception:
        for line in traceback.format_exc().splitlines():
            print("# " + line)
    print("%s %d - standin --latency delays service answers, not control ones; the request log "
          "names a CloudTrail error" % ("ok" if good else "not ok", n), flush=True)
    return 0 if good else 1


def run(first, port, pid, fq_port, fq_pid, d):
    ctx = Ctx(port, pid, fq_port, fq_pid, d)
    started = os.stat(os.path.join(d, "standin.port")).st_mtime
    ctx.elapsed_since_start = lambda: time.time() - started
    failed = 0
    for i, (name, fn) in enumerate(CHECKS):
        n = first + i
        try:
            good = fn(ctx)
        except Exception:  # report, keep going
            good = False
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        print("%s %d - %s" % ("ok" if good else "not ok", n, name), flush=True)
        failed += not good
    return 1 if failed else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "setup":
        setup(argv[2])
        return 0
    if len(argv) == 2 and argv[1] == "count":
        print(len(CHECKS))
        return 0
    if len(argv) == 4 and argv[1] == "expiry":
        return expiry(int(argv[2]), int(argv[3]))
    if len(argv) == 4 and argv[1] == "pacing":
        return pacing(int(argv[2]), int(argv[3]))
    if len(argv) == 8 and argv[1] == "run":
        return run(int(argv[2]), int(argv[3]), int(argv[4]), int(argv[5]), int(argv[6]),
                   argv[7])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))



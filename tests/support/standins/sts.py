"""STS stand-in (awsQuery: form-encoded POST /, XML answers).

AssumeRole (SigV4-signed) and AssumeRoleWithWebIdentity (unsigned) issue
temporary credentials that every AWS role of the stand-in then accepts; the
account of assumed credentials is the role's account. GetCallerIdentity is
there too, handy to check which principal a set of credentials maps to."""

import hashlib
import re
from urllib.parse import parse_qsl

from common import Hang, Response, iso8601, request_id, xml_text

NS = "https://sts.amazonaws.com/doc/2011-06-15/"
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/((?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$")
SESSION_RE = re.compile(r"^[\w+=,.@-]{2,64}$")
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")


def error(code, message, status=400, kind="Sender"):
    body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n    <Code>%s</Code>\n'
            '    <Message>%s</Message>\n  </Error>\n  <RequestId>%s</RequestId>\n'
            '</ErrorResponse>\n' % (NS, kind, code, xml_text(message), request_id()))
    return Response(status, body, "text/xml", [("x-amzn-RequestId", request_id())])


def _validation(value, member, constraint):
    shown = "null" if value is None else "'%s'" % value
    return error("ValidationError", "1 validation error detected: Value %s at '%s' failed to "
                 "satisfy constraint: %s" % (shown, member, constraint))


def auth_error(err):
    kind = err.kind
    if kind == "missing":
        return error("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
    if kind == "incomplete":
        return error("IncompleteSignature", err.message, 400)
    if kind == "unknown_key":
        return error("InvalidClientTokenId",
                     "The security token included in the request is invalid.", 403)
    if kind == "bad_token":
        return error("InvalidClientTokenId",
                     "The security token included in the request is invalid.", 403)
    if kind == "expired_token":
        return error("ExpiredToken", "The security token included in the request is expired", 400)
    if kind in ("skew_past", "skew_future", "scope"):
        return error("SignatureDoesNotMatch", err.message, 403)
    return error("SignatureDoesNotMatch",
                 "The request signature we calculated does not match the signature you "
                 "provided. Check your AWS Secret Access Key and signing method. Consult the "
                 "service documentation for details.", 403)


def params_of(req):
    """The awsQuery parameters: the form body, else the query string."""
    ctype = (req.header("Content-Type") or "").lower()
    if req.method == "POST" and "x-www-form-urlencoded" in ctype:
        text = req.body.decode("utf-8", "replace")
    else:
        text = req.query
    return dict(parse_qsl(text, keep_blank_values=True))


class Sts:
    def __init__(self, clock, store, stats, roles=None, external_ids=None,
                 web_identity_token=None, cred_ttl=None, max_duration=43200):
        self.clock = clock
        self.store = store
        self.stats = stats
        self.roles = set(roles or [])        # empty: any well-formed role ARN
        self.external_ids = dict(external_ids or {})
        self.web_identity_token = web_identity_token
        self.cred_ttl = cred_ttl             # override of the real lifetime (refresh tests)
        self.max_duration = max_duration

    @staticmethod
    def is_unsigned_action(req):
        return params_of(req).get("Action") == "AssumeRoleWithWebIdentity"

    def handle(self, req, principal, fault):
        if fault is not None:
            kind, arg = fault
            self.stats.count("sts", "fault_" + kind)
            if kind in ("throttle", "429"):
                return error("Throttling", "Rate exceeded", 400)
            if kind == "500":
                return error("InternalFailure", "An internal error occurred", 500, "Receiver")
            if kind == "503":
                return error("ServiceUnavailable", "Service unavailable", 503, "Receiver")
            return Hang(arg if arg is not None else 15.0)
        p = params_of(req)
        action = p.get("Action")
        if p.get("Version") != "2011-06-15":
            return error("InvalidAction", "Could not find operation %s for version %s"
                         % (action, p.get("Version", "NO_VERSION_SPECIFIED")))
        self.stats.count("sts", action or "none")
        if action == "AssumeRole":
            return self._assume(p, principal, web=False)
        if action == "AssumeRoleWithWebIdentity":
            return self._assume(p, None, web=True)
        if action == "GetCallerIdentity":
            return self._whoami(principal)
        return error("InvalidAction", "Could not find operation %s for version 2011-06-15"
                     % action)

    def _whoami(self, principal):
        cred = principal.cred
        body = ('<GetCallerIdentityResponse xmlns="%s">\n  <GetCallerIdentityResult>\n'
                '    <Arn>%s</Arn>\n    <UserId>%s</UserId>\n    <Account>%s</Account>\n'
                '  </GetCallerIdentityResult>\n  <ResponseMetadata>\n'
                '    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n'
                '</GetCallerIdentityResponse>\n'
                % (NS, xml_text(cred.arn), xml_text(cred.akid), cred.account, request_id()))
        return Response(200, body, "text/xml")

    def _assume(self, p, principal, web):
        op = "AssumeRoleWithWebIdentity" if web else "AssumeRole"
        role_arn = p.get("RoleArn")
        session = p.get("RoleSessionName")
        if role_arn is None:
            return _validation(None, "roleArn", "Member must not be null")
        if session is None:
            return _validation(None, "roleSessionName", "Member must not be null")
        if not 20 <= len(role_arn) <= 2048:
            return _validation(role_arn, "roleArn",
                               "Member must have length greater than or equal to 20")
        if not SESSION_RE.match(session):
            return _validation(session, "roleSessionName",
                               "Member must satisfy regular expression pattern: [\\w+=,.@-]* "
                               "and have length between 2 and 64")
        m = ROLE_ARN_RE.match(role_arn)
        if not m:
            return error("ValidationError", "%s is invalid" % role_arn)
        account, role_name = m.group(1), m.group(3)

        duration = 3600
        if "DurationSeconds" in p:
            try:
                duration = int(p["DurationSeconds"])
            except ValueError:
                return error("MalformedInput", "Invalid value for DurationSeconds: %s"
                             % p["DurationSeconds"])
            if duration < 900:
                return _validation(duration, "durationSeconds",
                                   "Member must have value greater than or equal to 900")
            if duration > 43200:
                return _validation(duration, "durationSeconds",
                                   "Member must have value less than or equal to 43200")
            if duration > self.max_duration:
                return error("ValidationError", "The requested DurationSeconds exceeds the "
                             "MaxSessionDuration set for this role.")
            if principal is not None and principal.cred.chained and duration > 3600:
                return error("ValidationError", "The requested DurationSeconds exceeds the 1 hour "
                             "session limit for roles assumed by role chaining.")

        caller = principal.cred.arn if principal is not None else "web identity"
        denied = error("AccessDenied", "User: %s is not authorized to perform: sts:%s on "
                       "resource: %s" % (caller, op, role_arn), 403)
        if self.roles and role_arn not in self.roles:
            return denied

        extra = ""
        if web:
            token = p.get("WebIdentityToken")
            if token is None:
                return _validation(None, "webIdentityToken", "Member must not be null")
            if self.web_identity_token is None or token.strip() != self.web_identity_token:
                return error("InvalidIdentityToken",
                             "The ID Token provided is not a valid JWT. (You may see this error "
                             "if you sent an Access Token)", 400)
            subject = "whochanged-test-subject"
            extra = ('    <SubjectFromWebIdentityToken>%s</SubjectFromWebIdentityToken>\n'
                     '    <Audience>sts.amazonaws.com</Audience>\n'
                     '    <Provider>oidc.stand-in.local</Provider>\n' % subject)
        else:
            ext = p.get("ExternalId")
            if ext is not None and not EXTERNAL_ID_RE.match(ext):
                return _validation(ext, "externalId",
                                   "Member must satisfy regular expression pattern: "
                                   "[\\w+=,.@:\\/-]*")
            need = self.external_ids.get(role_arn)
            if need is not None and ext != need:
                return denied

        now = self.clock.now()
        ttl = self.cred_ttl if self.cred_ttl is not None else duration
        expiration = int(now + ttl)
        role_id = "AROA" + hashlib.sha256(role_arn.encode()).hexdigest()[:17].upper()
        assumed_arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (account, role_name, session)
        cred = self.store.issue(account, expiration, assumed_arn, "sts:" + op, chained=True)
        self.stats.count("sts", "issued")
        body = ('<%sResponse xmlns="%s">\n  <%sResult>\n%s'
                '    <AssumedRoleUser>\n      <AssumedRoleId>%s:%s</AssumedRoleId>\n'
                '      <Arn>%s</Arn>\n    </AssumedRoleUser>\n'
                '    <Credentials>\n      <AccessKeyId>%s</AccessKeyId>\n'
                '      <SecretAccessKey>%s</SecretAccessKey>\n'
                '      <SessionToken>%s</SessionToken>\n'
                '      <Expiration>%s</Expiration>\n    </Credentials>\n'
                '  </%sResult>\n  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n'
                '  </ResponseMetadata>\n</%sResponse>\n'
                % (op, NS, op, extra, role_id, xml_text(session), xml_text(assumed_arn),
                   cred.akid, xml_text(cred.secret), xml_text(cred.token), iso8601(expiration),
                   op, request_id(), op))
        return Response(200, body, "text/xml")

"""IAM Identity Center stand-in: the portal's GetRoleCredentials and the
OIDC service's CreateToken (refresh_token grant), as `aws sso login` and the
SDKs use them. Neither is SigV4-signed: the portal takes the access token in
the x-amz-sso_bearer_token header, CreateToken the client registration and
refresh token in its JSON body.

Issued role credentials are accepted by every AWS role of the stand-in
until they expire; their account is the account asked for."""

import json
import re
import secrets
import threading
from urllib.parse import parse_qsl

from common import Hang, Response, json_response

PORTAL_PATH = "/federation/credentials"
OIDC_PATH = "/token"
ACCOUNT_RE = re.compile(r"^\d{12}$")
ROLE_RE = re.compile(r"^[\w+=,.@-]{1,128}$")
_PORTAL_NS = "http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/"
_OIDC_NS = "http://internal.amazon.com/coral/com.amazonaws.switchboard.oidc/"


def _portal_error(status, kind, message):
    # restJson1, as the real portal: the type in x-amzn-ErrorType, {"message"}
    return json_response(status, {"message": message},
                         headers=[("x-amzn-ErrorType", "%s:%s" % (kind, _PORTAL_NS))])


def _oidc_error(status, kind, error, description):
    return json_response(status, {"error": error, "error_description": description},
                         headers=[("x-amzn-ErrorType", "%s:%s" % (kind, _OIDC_NS))])


class Sso:
    """tokens: access tokens accepted at start, {token: seconds of validity
    from the start}; assignments: "ACCOUNT/ROLE" strings (empty: any);
    clients: {client_id: client_secret}; refresh_tokens: accepted refresh
    tokens (each works once: CreateToken hands out a new one)."""

    def __init__(self, clock, store, stats, tokens=None, assignments=None, cred_ttl=3600,
                 clients=None, refresh_tokens=None, token_ttl=28800, user="sso-user"):
        self.clock = clock
        self.store = store
        self.stats = stats
        self.assignments = set(assignments or [])
        self.cred_ttl = cred_ttl
        self.clients = dict(clients or {})
        self.token_ttl = token_ttl
        self.user = user
        self._lock = threading.Lock()
        now = clock.now()
        self._tokens = {t: now + ttl for t, ttl in (tokens or {}).items()}
        self._refresh = set(refresh_tokens or [])

    @staticmethod
    def owns(req):
        return ((req.method == "GET" and req.path == PORTAL_PATH) or
                (req.method == "POST" and req.path == OIDC_PATH))

    def handle(self, req, fault):
        if fault is not None:
            kind, arg = fault
            self.stats.count("sso", "fault_" + kind)
            if kind == "hang":
                return Hang(arg if arg is not None else 15.0)
            if kind in ("throttle", "429"):
                return _portal_error(429, "TooManyRequestsException", "Rate exceeded")
            return Response(int(kind), "", "text/plain")
        if req.path == PORTAL_PATH:
            return self._get_role_credentials(req)
        return self._create_token(req)

    def _token_ok(self, token):
        with self._lock:
            until = self._tokens.get(token)
        return until is not None and self.clock.now() < until

    def _get_role_credentials(self, req):
        self.stats.count("sso", "GetRoleCredentials")
        q = dict(parse_qsl(req.query, keep_blank_values=True))
        token = req.header("x-amz-sso_bearer_token")
        if token is None or not self._token_ok(token.strip()):
            # missing, unknown and expired tokens look the same, as in AWS
            self.stats.count("sso", "unauthorized")
            return _portal_error(401, "UnauthorizedException",
                                 "Session token not found or invalid")
        account, role = q.get("account_id"), q.get("role_name")
        if account is None or role is None:
            return _portal_error(400, "InvalidRequestException",
                                 "1 validation error detected: %s must not be null"
                                 % ("accountId" if account is None else "roleName"))
        if not ACCOUNT_RE.match(account) or not ROLE_RE.match(role):
            return _portal_error(400, "InvalidRequestException", "Invalid request")
        if self.assignments and "%s/%s" % (account, role) not in self.assignments:
            self.stats.count("sso", "forbidden")
            return _portal_error(403, "ForbiddenException", "No access")
        now = self.clock.now()
        expiration = int(now + self.cred_ttl)
        arn = "arn:aws:sts::%s:assumed-role/AWSReservedSSO_%s_%s/%s" % (
            account, role, secrets.token_hex(8), self.user)
        cred = self.store.issue(account, expiration, arn, "sso")
        self.stats.count("sso", "issued")
        return json_response(200, {"roleCredentials": {
            "accessKeyId": cred.akid, "secretAccessKey": cred.secret,
            "sessionToken": cred.token, "expiration": expiration * 1000}})

    def _create_token(self, req):
        self.stats.count("sso", "CreateToken")
        try:
            body = json.loads(req.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return _oidc_error(400, "InvalidRequestException", "invalid_request",
                               "Invalid JSON")
        client_id, client_secret = body.get("clientId"), body.get("clientSecret")
        if not client_id or not client_secret or not body.get("grantType"):
            return _oidc_error(400, "InvalidRequestException", "invalid_request",
                               "clientId, clientSecret and grantType are required")
        if self.clients.get(client_id) != client_secret:
            return _oidc_error(401, "InvalidClientException", "invalid_client",
                               "Invalid client")
        if body["grantType"] != "refresh_token":
            return _oidc_error(400, "UnsupportedGrantTypeException", "unsupported_grant_type",
                               "Unsupported grant type")
        refresh = body.get("refreshToken")
        with self._lock:
            if refresh not in self._refresh:
                return _oidc_error(400, "InvalidGrantException", "invalid_grant",
                                   "Invalid refresh token")
            self._refresh.discard(refresh)
            access = "aoa" + secrets.token_urlsafe(48)
            new_refresh = "aor" + secrets.token_urlsafe(48)
            self._tokens[access] = self.clock.now() + self.token_ttl
            self._refresh.add(new_refresh)
        self.stats.count("sso", "token_refreshed")
        return json_response(200, {"accessToken": access, "tokenType": "Bearer",
                                   "expiresIn": int(self.token_ttl),
                                   "refreshToken": new_refresh})

"""Slack (incoming webhook + chat.postMessage) and a generic signed-webhook
receiver. Accepted posts are recorded (memory + STATE_DIR/*.jsonl).

Slack's rate limit is enforced like Slack does it: about one message per
second per incoming-webhook URL and per channel (chat.postMessage), with a
short burst allowed; past it, HTTP 429 with Retry-After."""

import hashlib
import hmac
import json
import math
import re
import threading
import time
from urllib.parse import parse_qsl

from common import Hang, Response, json_response

WEBHOOK_RE = re.compile(r"^/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+$")


def _fault(fault, stats, role):
    kind, arg = fault
    stats.count(role, "fault_" + kind)
    if kind == "hang":
        return Hang(arg if arg is not None else 15.0)
    if kind in ("429", "throttle"):
        after = "%d" % (arg if arg is not None else 1)
        stats.count(role, "http_429")
        return Response(429, "rate_limited", "text/plain", [("Retry-After", after)])
    if kind == "503":
        return Response(503, "service_unavailable", "text/plain")
    return Response(500, "internal_error", "text/plain")


def _has_content(payload):
    text = payload.get("text")
    blocks = payload.get("blocks")
    attachments = payload.get("attachments")
    return bool((isinstance(text, str) and text.strip()) or blocks or attachments)


def _headers_of(req):
    # Record headers but never a credential.
    out = {}
    for name, value in req.headers.items():
        if name.lower() in ("authorization", "cookie"):
            value = "<redacted>"
        out[name] = value
    return out


class RateLimit:
    """A token bucket per key: `rate` messages a second, up to `burst` at
    once. rate <= 0: no limit."""

    def __init__(self, rate=1.0, burst=2.0):
        self.rate = float(rate)
        self.burst = max(1.0, float(burst))
        self._lock = threading.Lock()
        self._buckets = {}  # key -> (tokens, last monotonic time)

    def admit(self, key):
        """-> (True, 0) to let a message through, or (False, Retry-After s)."""
        if self.rate <= 0:
            return True, 0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return True, 0
            self._buckets[key] = (tokens, now)
            return False, max(1, int(math.ceil((1.0 - tokens) / self.rate)))


class Slack:
    def __init__(self, stats, recorder, token="xoxb-whochanged-test", channels=None,
                 webhook_path=None, rate=1.0, burst=2.0):
        self.stats = stats
        self.recorder = recorder
        self.token = token
        self.channels = set(channels or [])
        self.webhook_path = webhook_path
        self.limit = RateLimit(rate, burst)
        self._lock = threading.Lock()
        self._ts = 0
        self._parents = {}  # (channel, ts) -> the thread's parent ts

    def _limited(self, key):
        """None when the message may go; else the 429 to answer."""
        ok, after = self.limit.admit(key)
        if ok:
            return None
        self.stats.count("slack", "rate_limited")
        self.stats.count("slack", "http_429")
        return after

    def owns(self, req):
        return req.path.startswith("/services/") or req.path.startswith("/api/")

    def _payload(self, req):
        ctype = (req.header("Content-Type") or "").lower()
        text = req.body.decode("utf-8")
        if "x-www-form-urlencoded" in ctype and not text.lstrip().startswith("{"):
            form = dict(parse_qsl(text, keep_blank_values=True))
            if "payload" in form:
                return json.loads(form["payload"])
            return form
        return json.loads(text)

    def handle(self, req, fault):
        if fault is not None:
            return _fault(fault, self.stats, "slack")
        if req.path.startswith("/services/"):
            return self._webhook(req)
        if req.path == "/api/chat.postMessage":
            return self._post_message(req)
        if req.path == "/api/auth.test":
            return self._auth_test(req)
        return json_response(200, {"ok": False, "error": "unknown_method"})

    def _auth_test(self, req):
        """auth.test: who the bot token is (check-config --online)."""
        auth = req.header("Authorization")
        if auth is None:
            self.stats.count("slack", "not_authed")
            return json_response(200, {"ok": False, "error": "not_authed"})
        if auth != "Bearer " + self.token:
            self.stats.count("slack", "invalid_auth")
            return json_response(200, {"ok": False, "error": "invalid_auth"})
        self.stats.count("slack", "auth_test")
        return json_response(200, {"ok": True, "url": "https://standin.slack.com/",
                                   "team": "Standin", "user": "whochanged",
                                   "team_id": "T0STANDIN", "user_id": "U0STANDIN",
                                   "bot_id": "B0STANDIN"})

    def _webhook(self, req):
        if req.method != "POST":
            return Response(405, "invalid_method", "text/html")
        if not WEBHOOK_RE.match(req.path) or (self.webhook_path and req.path != self.webhook_path):
            self.stats.count("slack", "no_service")
            return Response(404, "no_service", "text/html")
        try:
            payload = self._payload(req)
        except (UnicodeDecodeError, ValueError):
            self.stats.count("slack", "invalid_payload")
            return Response(400, "invalid_payload", "text/html")
        if not isinstance(payload, dict):
            self.stats.count("slack", "invalid_payload")
            return Response(400, "invalid_payload", "text/html")
        if "blocks" in payload and not isinstance(payload["blocks"], list):
            return Response(400, "invalid_blocks", "text/html")
        if not _has_content(payload):
            self.stats.count("slack", "no_text")
            return Response(400, "no_text", "text/html")
        after = self._limited(("webhook", req.path))
        if after is not None:
            return Response(429, "rate_limited", "text/html", [("Retry-After", "%d" % after)])
        self.recorder.add({"time": time.time(), "kind": "webhook", "path": req.path,
                           "content_type": req.header("Content-Type"), "payload": payload})
        self.stats.count("slack", "accepted")
        return Response(200, "ok", "text/html")

    def _post_message(self, req):
        if req.method != "POST":
            return json_response(200, {"ok": False, "error": "invalid_method"})
        auth = req.header("Authorization")
        if auth is None:
            self.stats.count("slack", "not_authed")
            return json_response(200, {"ok": False, "error": "not_authed"})
        if auth != "Bearer " + self.token:
            self.stats.count("slack", "invalid_auth")
            return json_response(200, {"ok": False, "error": "invalid_auth"})
        try:
            payload = self._payload(req)
        except (UnicodeDecodeError, ValueError):
            return json_response(200, {"ok": False, "error": "invalid_json"})
        if not isinstance(payload, dict):
            return json_response(200, {"ok": False, "error": "invalid_json"})
        channel = payload.get("channel")
        if not channel or (self.channels and channel not in self.channels):
            self.stats.count("slack", "channel_not_found")
            return json_response(200, {"ok": False, "error": "channel_not_found"})
        if "blocks" in payload and not isinstance(payload["blocks"], list):
            return json_response(200, {"ok": False, "error": "invalid_blocks"})
        if not _has_content(payload):
            self.stats.count("slack", "no_text")
            return json_response(200, {"ok": False, "error": "no_text"})
        thread_ts = payload.get("thread_ts") or None
        parent = None
        if thread_ts is not None:
            with self._lock:
                parent = self._parents.get((channel, str(thread_ts)))
            if parent is None:
                # not a message of this channel (the stand-in is strict)
                self.stats.count("slack", "thread_not_found")
                return json_response(200, {"ok": False, "error": "thread_not_found"})
        after = self._limited(("channel", channel))
        if after is not None:
            return json_response(429, {"ok": False, "error": "ratelimited"},
                                 headers=[("Retry-After", "%d" % after)])
        with self._lock:
            self._ts += 1
            ts = "%d.%06d" % (int(time.time()), self._ts % 1000000)
            # a reply to a reply goes to the same thread, as in Slack
            self._parents[(channel, ts)] = parent or ts
        self.recorder.add({"time": time.time(), "kind": "chat.postMessage", "path": req.path,
                           "channel": channel, "ts": ts, "thread_ts": thread_ts,
                           "thread_parent": parent,
                           "content_type": req.header("Content-Type"), "payload": payload})
        self.stats.count("slack", "accepted")
        if parent is not None:
            self.stats.count("slack", "thread_replies")
        message = {"type": "message", "text": payload.get("text", ""), "ts": ts,
                   "bot_id": "B0STANDIN"}
        if parent is not None:
            message["thread_ts"] = parent
        return json_response(200, {"ok": True, "channel": channel, "ts": ts,
                                   "message": message})


class Webhook:
    def __init__(self, stats, recorder, path="/webhook", secret=None):
        self.stats = stats
        self.recorder = recorder
        self.path = path.rstrip("/") or "/webhook"
        self.secret = secret.encode() if secret is not None else None

    def owns(self, req):
        return req.path == self.path or req.path.startswith(self.path + "/")

    def handle(self, req, fault):
        if fault is not None:
            return _fault(fault, self.stats, "webhook")
        if req.method != "POST":
            return Response(405, "method not allowed", "text/plain")
        verified = None
        if self.secret is not None:
            want = "sha256=" + hmac.new(self.secret, req.body, hashlib.sha256).hexdigest()
            got = req.header("X-Whochanged-Signature", "")
            if not hmac.compare_digest(want.encode(), got.strip().encode()):
                self.stats.count("webhook", "bad_signature")
                return json_response(401, {"ok": False, "error": "bad signature"})
            verified = True
        try:
            body_text = req.body.decode("utf-8")
        except UnicodeDecodeError:
            body_text = None
        parsed = None
        if body_text is not None:
            try:
                parsed = json.loads(body_text)
            except ValueError:
                parsed = None
        self.recorder.add({"time": time.time(), "path": req.path, "headers": _headers_of(req),
                           "body": body_text if body_text is not None else req.body.hex(),
                           "json": parsed, "verified": verified})
        self.stats.count("webhook", "accepted")
        return json_response(200, {"ok": True})

"""Shared pieces of the stand-in services: request/response objects, clock,
fault queues, JSON/XML helpers, request ids. Python 3 stdlib only."""

import json
import re
import secrets
import threading
import time
import uuid
from xml.sax.saxutils import escape as _xml_escape


class Request:
    """One received HTTP request, fully read."""

    def __init__(self, method, path, query, headers, body, client):
        self.method = method
        self.path = path            # raw (still percent-encoded) path
        self.query = query          # raw query string, without '?'
        self.headers = headers      # email.message.Message (case-insensitive)
        self.body = body            # bytes
        self.client = client

    def header(self, name, default=None):
        value = self.headers.get(name)
        return default if value is None else value


class Response:
    def __init__(self, status, body=b"", content_type="text/plain", headers=None):
        self.status = status
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.body = body
        self.headers = [("Content-Type", content_type)] if content_type else []
        for item in headers or []:
            self.headers.append(item)


class Hang:
    """Returned by a fault: hold the connection for `seconds`, then drop it
    without answering (a client with a shorter timeout sees a time-out)."""

    def __init__(self, seconds):
        self.seconds = seconds


class Reset:
    """Returned by a fault: abort the connection at once (TCP RST), without
    answering - the client sees "connection reset by peer"."""


def json_response(status, obj, content_type="application/json", headers=None):
    return Response(status, json.dumps(obj, separators=(",", ":")), content_type, headers)


def xml_text(value):
    return _xml_escape(str(value))


def request_id():
    return str(uuid.uuid4())


def random_upper(n):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "".join(secrets.choice(alphabet) for _ in range(n))


def random_secret(n=40):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return "".join(secrets.choice(alphabet) for _ in range(n))


class Clock:
    """Server clock: the real time plus a configurable offset (to play a
    server whose clock disagrees with the client's)."""

    def __init__(self, offset=0.0):
        self.offset = offset
        self.started = time.time()

    def now(self):
        return time.time() + self.offset

    def since_start(self):
        return time.time() - self.started


def iso8601(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


FAULT_KINDS = ("500", "503", "429", "throttle", "hang", "reset", "delay")
_FAULT_RE = re.compile(r"^(500|503|429|throttle|hang|reset|delay)(?::(\d+(?:\.\d+)?))?(?:\*(\d+))?$")


def parse_faults(spec):
    """'500,429:2,hang:3*2' -> [('500',None),('429',2.0),('hang',3.0),('hang',3.0)].

    Each item is KIND[:ARG][*COUNT]; the list is a queue consumed one request
    at a time. ARG is Retry-After seconds for 429, the hold time for hang and
    how long delay holds the request before it is served normally."""
    out = []
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        m = _FAULT_RE.match(item)
        if not m:
            raise ValueError("bad fault item %r (want KIND[:ARG][*COUNT], KIND in %s)"
                             % (item, "/".join(FAULT_KINDS)))
        arg = float(m.group(2)) if m.group(2) is not None else None
        count = int(m.group(3)) if m.group(3) else 1
        if count > 10000:
            raise ValueError("fault count too large: %r" % item)
        out.extend([(m.group(1), arg)] * count)
    return out


class Faults:
    """Per-role queues of injected faults, consumed one request at a time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._queues = {}

    def set(self, role, items, append=False):
        with self._lock:
            queue = self._queues.setdefault(role, [])
            if not append:
                queue.clear()
            queue.extend(items)

    def clear(self):
        with self._lock:
            self._queues.clear()

    def take(self, role):
        with self._lock:
            queue = self._queues.get(role)
            if queue:
                return queue.pop(0)
        return None

    def snapshot(self):
        with self._lock:
            return {role: ["%s%s" % (k, "" if a is None else ":%g" % a) for k, a in q]
                    for role, q in self._queues.items() if q}


class Recorder:
    """Append-only record of accepted posts: kept in memory and, with a state
    directory, also as JSON lines in STATE_DIR/<name>.jsonl."""

    def __init__(self, path, limit=10000):
        self._lock = threading.Lock()
        self._items = []
        self._path = path
        self._limit = limit

    def add(self, item):
        line = json.dumps(item, separators=(",", ":"), sort_keys=True)
        with self._lock:
            self._items.append(item)
            if len(self._items) > self._limit:
                del self._items[0]
            if self._path:
                with open(self._path, "a", encoding="utf-8") as f:
                    f.write(line + "\n")

    def items(self):
        with self._lock:
            return list(self._items)

    def clear(self):
        with self._lock:
            self._items.clear()
            if self._path:
                open(self._path, "w", encoding="utf-8").close()

"""A small fault-injecting HTTP/1.1 proxy for the end-to-end tests.

It listens on 127.0.0.1 (an OS-chosen port the first time), forwards every
request to one upstream on 127.0.0.1 (fauxqs, a stand-in) and, for a
scripted share of them, does something else instead:

  500, 503      answer that status with an AWS JSON 1.0 error body
                (InternalError / ServiceUnavailable) without forwarding
  denied        answer 403 AccessDenied (x-amzn-query-error AccessDenied;Sender)
                without forwarding: a policy that does not allow the action
  reset         abort the connection (TCP RST) without forwarding: the
                request never reached the service
  reset_after   forward, then abort the connection instead of answering:
                the service acted, the client never hears of it
  delay         hold the request delay_s seconds, then forward it - unless
                the client has gone meanwhile: a slow call (widens the
                window between two steps of the client)

What to inject: scripts (queues of kinds, "pass" included, consumed one
request at a time: one for every operation, and one per operation, which
goes first) and, once the scripts are used up, rates (each request draws
once from a seeded random.Random). An operation is the part of
X-Amz-Target after the last '.' (AmazonSQS.ReceiveMessage ->
ReceiveMessage), else the request path; `ops` restricts the global script
and the rates to some operations.

stop() closes the listener and every open connection (the port then
refuses connections: "unreachable"); start() listens again on the same
port. Everything runs in daemon threads of the calling process.

    p = FaultProxy(upstream_port, seed=7)
    port = p.start()
    p.configure(rates={"500": 0.1, "reset": 0.05, "reset_after": 0.05})
    ...
    p.counts()   # {"ReceiveMessage": {"pass": 12, "500": 2, ...}, ...}
    p.stop()
"""
import http.client
import json
import random
import select
import socket
import socketserver
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler

KINDS = ("500", "503", "reset", "reset_after", "delay", "denied")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection",
        "te", "trailer", "upgrade"}
_ERRORS = {
    "500": (500, "InternalError", "We encountered an internal error. Please try again.", "Receiver"),
    "503": (503, "ServiceUnavailable", "The request has failed due to a temporary failure of the "
                                       "server.", "Server"),
    # the queue policy or the caller's IAM policy does not allow the action
    "denied": (403, "AccessDenied", "User: arn:aws:iam::123456789012:user/whochanged is not "
                                    "authorized to perform this action because no identity-based "
                                    "policy allows it", "Sender"),
}
MAX_BODY = 16 * 1024 * 1024


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        pass  # a client that went away (reset, killed): nothing to report


class FaultProxy:
    def __init__(self, upstream_port, upstream_host="127.0.0.1", seed=0, port=0,
                 upstream_timeout=60):
        self.upstream = (upstream_host, upstream_port)
        self.upstream_timeout = upstream_timeout
        self.port = port
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rates = {}
        self._script = []
        self._scripts = {}
        self._ops = None
        self.delay_s = 1.0
        self._counts = {}
        self._conns = set()
        self._server = None
        self._thread = None

    # --- control ------------------------------------------------------------
    def configure(self, rates=None, script=None, ops=None, scripts=None, delay_s=1.0):
        """Replace what is injected. rates: {kind: probability} (sum <= 1);
        script: [kind or "pass", ...] consumed first; scripts: {op: [kind or
        "pass", ...]}, consumed before that for op; ops: operation names the
        script and rates apply to (None: all); delay_s: how long "delay"
        holds a request."""
        rates = dict(rates or {})
        scripts = {op: list(v) for op, v in (scripts or {}).items()}
        every = list(rates) + list(script or []) + [k for v in scripts.values() for k in v]
        for k in every:
            if k not in KINDS and k != "pass":
                raise ValueError("unknown fault %r" % k)
        if sum(rates.values()) > 1.0:
            raise ValueError("rates add up to more than 1")
        with self._lock:
            self._rates = rates
            self._script = list(script or [])
            self._scripts = scripts
            self._ops = set(ops) if ops else None
            self.delay_s = delay_s

    def counts(self):
        with self._lock:
            return json.loads(json.dumps(self._counts))

    def injected(self, op=None):
        """How many requests (of op, or all) got a fault."""
        c = self.counts()
        return sum(n for o, by in c.items() if op is None or o == op
                   for k, n in by.items() if k != "pass")

    def start(self):
        """Listen (again, on the same port after stop()); -> the port."""
        if self._server:
            return self.port
        proxy = self

        class Handler(_Handler):
            owner = proxy
        self._server = _Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self.port

    def stop(self):
        """Stop listening and drop every open connection."""
        server, self._server = self._server, None
        if not server:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)

    # --- used by the handler ---------------------------------------------------
    def _decide(self, op):
        with self._lock:
            kind = "pass"
            if self._scripts.get(op):
                kind = self._scripts[op].pop(0)
            elif self._ops is None or op in self._ops:
                if self._script:
                    kind = self._script.pop(0)
                else:
                    x, acc = self._rng.random(), 0.0
                    for k in KINDS:
                        acc += self._rates.get(k, 0.0)
                        if x < acc:
                            kind = k
                            break
            by = self._counts.setdefault(op, {})
            by[kind] = by.get(kind, 0) + 1
            return kind

    def _track(self, conn, add):
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    owner = None

    def setup(self):
        super().setup()
        self.owner._track(self.connection, True)
        self._up = None

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        self.owner._track(self.connection, False)
        if self._up:
            self._up.close()

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n) if n else b""

    def _op(self):
        target = self.headers.get("X-Amz-Target")
        if target:
            return target.rsplit(".", 1)[-1]
        return self.path.split("?", 1)[0]

    def _reset(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _client_gone(self):
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _send(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self, body):
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed
            if self._up is None:
                self._up = http.client.HTTPConnection(*self.owner.upstream,
                                                      timeout=self.owner.upstream_timeout)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                self._up.request(self.command, self.path, body=body, headers=headers)
                r = self._up.getresponse()
                data = r.read()
                return r.status, [(k, v) for k, v in r.getheaders() if k.lower() not in _HOP], data
            except (OSError, http.client.HTTPException):
                self._up.close()
                self._up = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _serve(self):
        try:
            body = self._body()
        except ValueError:
            self.send_error(400)
            return
        kind = self.owner._decide(self._op())
        if kind == "reset":
            self._reset()
            return
        if kind in _ERRORS:
            status, code, msg, fault = _ERRORS[kind]
            err = json.dumps({"__type": "com.amazonaws.sqs#" + code, "message": msg}).encode()
            self._send(status, [("Content-Type", "application/x-amz-json-1.0"),
                                ("x-amzn-query-error", "%s;%s" % (code, fault)),
                                ("x-amzn-RequestId", str(uuid.uuid4()))],
                       err)
            return
        if kind == "delay":
            time.sleep(self.owner.delay_s)
            if self._client_gone():  # as a service would: no one to act for
                self.close_connection = True
                return
        try:
            status, headers, data = self._forward(body)
        except (OSError, http.client.HTTPException) as e:
            self._send(502, [("Content-Type", "text/plain")], ("upstream: %s" % e).encode())
            return
        if kind == "reset_after":
            self._reset()
            return
        self._send(status, headers, data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

#!/usr/bin/python3
"""A small HTTP forward proxy for tests, on 127.0.0.1 only: absolute-form
requests (GET http://host:port/path) are forwarded, CONNECT host:port opens a
tunnel; both only to loopback targets (a test never reaches the network
through it). It counts what it carries.

  proxy.py [--port N] [--port-file F] [--auth USER:PASSWORD]
  proxy.py --tls-front TARGET_PORT --cert PEM --key PEM [--port N] [--port-file F]

It prints the port on stdout once listening (and writes --port-file).

Control (origin-form requests to the proxy itself):
  GET /_stats   {"forwarded": n, "connects": n, "refused": n, "auth_failures": n,
                 "hosts": {"127.0.0.1:port": n, ...}}   (forwarded + tunnels per target)
  DELETE /_stats  reset the counters

--auth: every proxied request needs Proxy-Authorization: Basic of USER:PASSWORD
(else 407). The credentials are never printed.

--tls-front: a TLS terminator instead (the "HTTPS service" behind a CONNECT
tunnel): TLS on the port, the plain bytes relayed to 127.0.0.1:TARGET_PORT.

SIGTERM: clean exit 0. Python 3 stdlib only."""
import argparse
import base64
import http.client
import json
import os
import select
import signal
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
HOP = {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "trailer",
       "transfer-encoding", "upgrade"}
MAX_BODY = 16 * 1024 * 1024
IDLE_S = 30


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.forwarded = self.connects = self.refused = self.auth_failures = 0
            self.hosts = {}

    def count(self, kind, host):
        with self.lock:
            setattr(self, kind, getattr(self, kind) + 1)
            if host:
                self.hosts[host] = self.hosts.get(host, 0) + 1

    def json(self):
        with self.lock:
            return json.dumps({"forwarded": self.forwarded, "connects": self.connects,
                               "refused": self.refused, "auth_failures": self.auth_failures,
                               "hosts": self.hosts}).encode()


STATS = Stats()
AUTH = None  # expected Proxy-Authorization value


def loopback(host):
    return host.lower() in LOOPBACK or host.startswith("127.")


def relay(a, b):
    """Copy bytes both ways until either side closes or IDLE_S passes quiet."""
    socks = [a, b]
    try:
        while True:
            r, _, _ = select.select(socks, [], [], IDLE_S)
            if not r:
                return
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet; never the headers
        pass

    def _reply(self, status, body=b"", ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _authorized(self):
        if AUTH is None or self.headers.get("Proxy-Authorization") == AUTH:
            return True
        STATS.count("auth_failures", None)
        self.send_response(407)
        self.send_header("Proxy-Authenticate", 'Basic realm="test"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_CONNECT(self):
        host, _, port = self.path.rpartition(":")
        if not self._authorized():
            return
        if not loopback(host.strip("[]")) or not port.isdigit():
            STATS.count("refused", None)
            self._reply(403, b"loopback targets only\n")
            return
        try:
            up = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError:
            self._reply(502, b"cannot connect\n")
            return
        STATS.count("connects", "%s:%s" % (host, port))
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        up.settimeout(None)
        relay(self.connection, up)
        up.close()
        self.close_connection = True

    def _forward(self):
        if self.path.startswith("/"):
            return self._control()
        u = urlsplit(self.path)
        if not self._authorized():
            return
        if u.scheme != "http" or not u.hostname or not loopback(u.hostname):
            STATS.count("refused", None)
            self._reply(403, b"http:// to loopback only\n")
            return
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            self._reply(413)
            return
        body = self.rfile.read(n) if n else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        target = "%s:%d" % (u.hostname, u.port or 80)
        STATS.count("forwarded", target)
        try:
            c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=60)
            c.request(self.command, (u.path or "/") + ("?" + u.query if u.query else ""), body, headers)
            r = c.getresponse()
            data = r.read(MAX_BODY)
            self.send_response(r.status, r.reason)
            for k, v in r.getheaders():
                if k.lower() not in HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            c.close()
        except OSError:
            self._reply(502, b"upstream failed\n")

    def _control(self):
        if self.path == "/_stats" and self.command == "GET":
            self._reply(200, STATS.json(), "application/json")
        elif self.path == "/_stats" and self.command == "DELETE":
            STATS.reset()
            self._reply(200, b"{}", "application/json")
        elif self.path == "/_health":
            self._reply(200, b'{"status":"ok"}', "application/json")
        else:
            self._reply(404, b"not a proxy request\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def tls_front(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.port))
    ls.listen(64)

    def serve(conn):
        try:
            tls = ctx.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        try:
            up = socket.create_connection(("127.0.0.1", args.tls_front), timeout=10)
        except OSError:
            tls.close()
            return
        up.settimeout(None)
        relay(tls, up)
        up.close()
        tls.close()

    def loop():
        while True:
            try:
                conn, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return ls.getsockname()[1]


def main():
    global AUTH
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--auth")
    ap.add_argument("--tls-front", type=int)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    if args.auth:
        AUTH = "Basic " + base64.b64encode(args.auth.encode()).decode()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    if args.tls_front:
        port = tls_front(args)
        srv = None
    else:
        srv = Server(("127.0.0.1", args.port), Proxy)
        port = srv.server_address[1]
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    done.wait()
    if srv:
        srv.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

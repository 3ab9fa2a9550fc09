#!/usr/bin/python3
"""Check the stand-ins' SigV4 verifier against the golden vectors in
aws-reference/sigv4-testsuite/generated-service-vectors: every signed
request must verify, and the same request with a flipped body byte, a wrong
secret or a changed signed header must not.

usage: check_vectors.py VECTOR_DIR   (prints one line per vector; exit 1 on a failure)"""

import email.message
import json
import os
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import awsauth  # noqa: E402
from common import Clock, Request  # noqa: E402


def parse_signed_request(text):
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = email.message.Message()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name] = value
    path, _, query = target.partition("?")
    return method, path, query, headers, body.encode("utf-8")


def check_one(vdir):
    with open(os.path.join(vdir, "context.json"), encoding="utf-8") as f:
        ctx = json.load(f)
    with open(os.path.join(vdir, "signed-request.txt"), encoding="utf-8") as f:
        method, path, query, headers, body = parse_signed_request(f.read())
    c = ctx["credentials"]
    when = datetime.strptime(ctx["x_amz_date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    clock = Clock(0.0)
    clock.offset = when.timestamp() - clock.now() + 10.0
    is_s3 = ctx["service"] == "s3"

    def run(secret, m_body, m_headers):
        store = awsauth.CredStore()
        store.add(awsauth.Cred(c["access_key_id"], secret, c.get("token")))
        req = Request(method, path, query, m_headers, m_body, ("127.0.0.1", 0))
        try:
            awsauth.verify(req, store, clock, ctx["service"], 900 if is_s3 else 300, s3=is_s3)
            return "ok"
        except awsauth.AuthError as e:
            return e.kind

    problems = []
    got = run(c["secret_access_key"], body, headers)
    if got != "ok":
        problems.append("genuine request rejected (%s)" % got)
    if run(c["secret_access_key"][:-1] + "X", body, headers) == "ok":
        problems.append("wrong secret accepted")
    if body:
        flipped = bytearray(body)
        flipped[len(flipped) // 2] ^= 0x01
        if run(c["secret_access_key"], bytes(flipped), headers) == "ok":
            problems.append("tampered body accepted")
    changed = email.message.Message()
    for name, value in headers.items():
        if name.lower() == "x-amz-date":
            value = value[:-3] + ("01Z" if not value.endswith("01Z") else "02Z")
        changed[name] = value
    if run(c["secret_access_key"], body, changed) == "ok":
        problems.append("changed X-Amz-Date accepted")
    return problems


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    root = argv[1]
    failed = 0
    names = sorted(n for n in os.listdir(root)
                   if os.path.isfile(os.path.join(root, n, "signed-request.txt")))
    for name in names:
        problems = check_one(os.path.join(root, name))
        print("%s %s%s" % ("ok  " if not problems else "FAIL", name,
                           "" if not problems else ": " + "; ".join(problems)))
        failed += bool(problems)
    print("%d vectors, %d failed" % (len(names), failed))
    return 1 if failed or not names else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

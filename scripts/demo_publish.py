#!/usr/bin/python3
"""Helper for scripts/demo: shift the example changes to "now" and publish them.

  demo_publish.py events OUT            write the example CloudTrail events, moved so
                                        that the example captures happen just now
  demo_publish.py publish SNS_URL TOPIC_ARN
                                        publish each example notification to the SNS
                                        topic (fauxqs), as AWS Config would
  demo_publish.py slack POSTS_URL       print what the Slack stand-in received

The examples are dated 2026-11-20; the worker only waits for a late CloudTrail
event within retry_for_seconds of the capture time, so the demo moves every
timestamp by the same offset to the present.
"""
import glob, json, os, re, sys, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
EX = os.path.join(HERE, "..", "examples")
BASE = "2026-11-20T10:15:30Z"  # just after the last example capture
ISO = re.compile(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def _epoch(s):
    return time.mktime(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone


OFFSET = int(time.time() - _epoch(BASE))


def _shift(text):
    def one(m):
        s = m.group(0)
        frac = m.group(1) or ""
        t = _epoch(s) + OFFSET
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + frac + "Z"
    return ISO.sub(one, text)


def events(out):
    with open(os.path.join(EX, "cloudtrail-events.json")) as f:
        text = f.read()
    with open(out, "w") as f:
        f.write(_shift(text))


def publish(sns_url, topic_arn):
    import botocore.session
    s = botocore.session.get_session()
    sns = s.create_client("sns", region_name="us-east-1", endpoint_url=sns_url,
                          aws_access_key_id="AKIDEXAMPLE",
                          aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    for path in sorted(glob.glob(os.path.join(EX, "notifications", "*.json"))):
        with open(path) as f:
            envelope = json.load(f)
        # publish what Config publishes: the inner message; SNS adds the envelope
        message = _shift(envelope["Message"])
        sns.publish(TopicArn=topic_arn, Message=message, Subject=envelope.get("Subject", "")[:99])
        print("  published %s" % os.path.basename(path))


def slack(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        posts = json.load(r)
    posts = posts.get("posts", posts) if isinstance(posts, dict) else posts
    print("Slack received %d message(s):" % len(posts))
    for p in posts:
        body = p.get("payload", p)
        if isinstance(body, str):
            body = json.loads(body)
        print()
        print("  " + (body.get("text") or "").replace("\n", "\n  "))
        for b in body.get("blocks", []):
            t = b.get("text")
            if isinstance(t, dict) and t.get("text"):
                print("    | " + t["text"].replace("\n", "\n    | "))
            for f in b.get("fields", []) or []:
                print("    | " + f.get("text", "").replace("\n", "\n    | "))
            for e in b.get("elements", []) or []:
                if isinstance(e, dict) and e.get("text"):
                    txt = e["text"] if isinstance(e["text"], str) else e["text"].get("text", "")
                    print("    | " + txt)
    return len(posts)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "events":
        events(sys.argv[2])
    elif cmd == "publish":
        publish(sys.argv[2], sys.argv[3])
    elif cmd == "slack":
        sys.exit(0 if slack(sys.argv[2]) > 0 else 1)
    else:
        sys.exit("unknown command " + cmd)

#!/usr/bin/python3
"""Write the DynamoDB SigV4 vectors of tests/unit/test_dynamodb.c.

Each vector is one request exactly as aws/dynamodb.c sends it (body text,
the headers it signs) signed by Debian's python3-botocore (SigV4Auth,
service dynamodb, us-east-1) at 2024-05-01T12:00:00Z with the example key
of the AWS SigV4 test suite: an independent signer to compare with ours.
Run: /usr/bin/python3 tests/data/dynamodb/make_vectors.py (rewrites the
*.authorization.txt files next to it)."""

import os

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "dynamodb.us-east-1.amazonaws.com"
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

VECTORS = {
    "get-item": ("GetItem",
                 '{"TableName":"whochanged-ledger","Key":{"pk":{"S":"slack#0|ev-1/sg-0123"}},'
                 '"ConsistentRead":true,"ExpressionAttributeNames":{"#p0":"expires_at"},'
                 '"ProjectionExpression":"#p0"}'),
    "put-item": ("PutItem",
                 '{"TableName":"whochanged-ledger","Item":{"pk":{"S":"slack#0|ev-1/sg-0123"},'
                 '"notifier":{"S":"slack#0"},"subject":{"S":"ev-1/sg-0123"},'
                 '"recorded_at":{"N":"1714564800"},"expires_at":{"N":"1714737600"}},'
                 '"ConditionExpression":"attribute_not_exists(#k) OR #t < :now",'
                 '"ExpressionAttributeNames":{"#k":"pk","#t":"expires_at"},'
                 '"ExpressionAttributeValues":{":now":{"N":"1714564800"}}}'),
}


class _Exact(SigV4Auth):
    def headers_to_sign(self, request):
        from botocore.awsrequest import HTTPHeaders
        h = HTTPHeaders()
        for k, v in request.headers.items():
            h[k.lower()] = v
        return h


def main():
    for name, (op, body) in VECTORS.items():
        req = AWSRequest(method="POST", url="https://%s/" % HOST, data=body.encode(),
                         headers={"Host": HOST, "Content-Type": "application/x-amz-json-1.0",
                                  "X-Amz-Target": "DynamoDB_20120810." + op,
                                  "X-Amz-Date": "20240501T120000Z"})
        req.context["timestamp"] = "20240501T120000Z"
        signer = _Exact(CREDS, "dynamodb", "us-east-1")
        canonical = signer.canonical_request(req)
        sts = signer.string_to_sign(req, canonical)
        sig = signer.signature(sts, req)
        signed = ";".join(sorted(k.lower() for k in req.headers.keys()))
        authz = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/dynamodb/"
                 "aws4_request, SignedHeaders=%s, Signature=%s" % (signed, sig))
        with open(os.path.join(HERE, name + ".body.json"), "w", encoding="utf-8") as f:
            f.write(body)
        with open(os.path.join(HERE, name + ".authorization.txt"), "w", encoding="ascii") as f:
            f.write(authz)


if __name__ == "__main__":
    main()

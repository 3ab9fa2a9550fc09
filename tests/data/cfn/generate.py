#!/usr/bin/env python3
"""Regenerate resource-schemas.json from cfn-lint's copy of the CloudFormation
resource provider schemas (pip install cfn-lint; not needed to run the tests).

    python3 tests/data/cfn/generate.py > tests/data/cfn/resource-schemas.json

The tests (tests/integration/templates.py) read only the JSON: every resource
type CloudFormation knows in us-east-1, and for the service families the
example templates use, each type's writable properties, required properties
and Fn::GetAtt attributes.
"""
import json
import sys

from importlib.metadata import version
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER as M

REGION = "us-east-1"
FAMILIES = ("AWS::SQS::", "AWS::SNS::", "AWS::IAM::", "AWS::Events::", "AWS::CloudWatch::",
            "AWS::Config::", "AWS::KMS::", "AWS::S3::", "AWS::Organizations::", "AWS::DynamoDB::")

types = sorted(t for t in M.get_resource_types(REGION) if t.startswith("AWS::"))
schemas = {}
for t in types:
    if not t.startswith(FAMILIES):
        continue
    s = M.get_resource_schema(REGION, t)
    ro = {p.split("/")[2] for p in s.schema.get("readOnlyProperties", [])
          if p.count("/") == 2}
    schemas[t] = {
        "properties": sorted(p for p in s.schema.get("properties", {}) if p not in ro),
        "required": sorted(s.schema.get("required", [])),
        "attributes": sorted(s.get_atts),
    }
json.dump({
    "_provenance": "CloudFormation resource provider schemas for %s as bundled with "
                   "cfn-lint %s (https://github.com/aws-cloudformation/cfn-lint), "
                   "reduced by tests/data/cfn/generate.py" % (REGION, version("cfn-lint")),
    "types": types,
    "schemas": schemas,
}, sys.stdout, indent=0, sort_keys=True)
sys.stdout.write("\n")

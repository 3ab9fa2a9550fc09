#!/usr/bin/env python3
"""tests/integration/templates.py - the CloudFormation templates in examples/,
checked offline. TAP.

No AWS account and no linter are needed (cfn-lint runs too when installed):

- every template parses as YAML with the CloudFormation short-form tags
  (!Ref, !Sub, !GetAtt, !If, ... - an unknown tag is an error);
- its sections, parameters (defaults and realistic values against
  AllowedPattern, bad values refused), resource types (among the types
  CloudFormation knows: tests/data/cfn/resource-schemas.json), property names,
  required properties and Fn::GetAtt attributes; every Ref, GetAtt, Sub
  variable, condition and DependsOn resolves; no dependency cycle;
- the template is rendered for every combination of its parameters' choices
  (conditions evaluated, Fn::If and AWS::NoValue resolved, Fn::Sub
  substituted): every IAM policy document in every rendering is well formed
  (Version, Statement, Effect, Action, Principal, Condition operators; no
  wildcard action in an Allow; Resource "*" only for actions that have no
  resource-level permissions; a public principal or an AWS service only with
  a condition that narrows it), JSON text policies included;
- what each organization template promises (examples/README.md): the worker
  role's name is region-unique and it trusts exactly the chosen platform (EC2,
  ECS, EKS Pod Identity, EKS IRSA); the dead-letter queue has its alarm; the
  shared ledger's table exists exactly when named (on-demand, TTL on the
  ledger's attribute, keyed as the worker reads it) and the worker may
  GetItem and PutItem on it and nothing else;
  nothing touches AWS Config's delivery channel; the forwarder's event pattern
  matches the EventBridge samples in tests/data (a change, an oversized
  change) and nothing else; names and ARNs agree across the templates;
- the CloudTrail event stream (EventStream, EventWorkers) exists exactly when
  asked for: forwarder rule and central (or default-bus) rule with the write
  API-call pattern (matching write calls, failed ones included, not reads,
  sign-ins or Config events), a topic only that rule may publish to, one
  events queue per worker subscribed to it alone (with its own dead-letter
  queue, never the Config queue's, with an alarm like the Config DLQ's that
  notifies the same topic), the worker reading those queues with
  exactly the four actions it needs and nothing on them else, an output per
  queue.
"""
import copy
import fnmatch
import glob
import itertools
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.environ.get("WC_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
EX = os.path.join(ROOT, "examples")
DATA = os.path.join(ROOT, "tests", "data")

try:
    import yaml
except ImportError:  # python3-yaml (scripts/deps)
    print("1..0 # SKIP python3-yaml not installed")
    sys.exit(0)


class Fail(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Fail(msg)


# ---- YAML with CloudFormation's short forms -----------------------------------------
SHORT = {"Ref": "Ref", "Condition": "Condition"}
for _f in ("Sub", "GetAtt", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split",
           "FindInMap", "ImportValue", "Base64", "Cidr", "GetAZs", "Length", "ToJsonString",
           "Contains", "EachMemberEquals", "EachMemberIn", "RefAll", "ValueOf", "ValueOfAll"):
    SHORT[_f] = "Fn::" + _f


class Loader(yaml.SafeLoader):
    pass


def _construct(loader, suffix, node):
    need(suffix in SHORT, f"unknown tag !{suffix} (line {node.start_mark.line + 1})")
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {SHORT[suffix]: value}


Loader.add_multi_constructor("!", _construct)


def _no_duplicates(loader, node, deep=False):
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    dup = {k for k in keys if isinstance(k, str) and keys.count(k) > 1}
    need(not dup, f"duplicate keys {sorted(dup)} (line {node.start_mark.line + 1})")
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


Loader.construct_mapping = _no_duplicates


def templates():
    out = []
    for path in sorted(glob.glob(os.path.join(EX, "*.yaml"))):
        with open(path) as f:
            if "AWSTemplateFormatVersion" in f.read():
                out.append(os.path.basename(path))
    return out


_cache = {}


def load(name):
    if name not in _cache:
        with open(os.path.join(EX, name)) as f:
            t = yaml.load(f, Loader=Loader)
        need(isinstance(t, dict), f"{name}: not a mapping")
        _cache[name] = t
    return copy.deepcopy(_cache[name])


with open(os.path.join(DATA, "cfn", "resource-schemas.json")) as _f:
    SPEC = json.load(_f)
KNOWN_TYPES = set(SPEC["types"])

PSEUDO = {"AWS::AccountId": "111122223333", "AWS::Region": "eu-west-1", "AWS::Partition": "aws",
          "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "whochanged",
          "AWS::StackId": "arn:aws:cloudformation:eu-west-1:111122223333:stack/whochanged/1",
          "AWS::NotificationARNs": [], "AWS::NoValue": None}
SECTIONS = {"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules",
            "Mappings", "Conditions", "Transform", "Resources", "Outputs"}
RESOURCE_KEYS = {"Type", "Properties", "Condition", "DependsOn", "DeletionPolicy",
                 "UpdateReplacePolicy", "Metadata", "CreationPolicy", "UpdatePolicy"}
PARAM_KEYS = {"Type", "Default", "Description", "AllowedValues", "AllowedPattern", "NoEcho",
              "MinLength", "MaxLength", "MinValue", "MaxValue", "ConstraintDescription"}
PARAM_TYPES = {"String", "Number", "CommaDelimitedList", "List<Number>"}
SUB_VAR = re.compile(r"\$\{([^}]*)\}")


def is_fn(v):
    return isinstance(v, dict) and len(v) == 1 and (
        next(iter(v)) == "Ref" or next(iter(v)).startswith("Fn::") or next(iter(v)) == "Condition")


# ---- static resolution: every reference names something -------------------------------
def sub_vars(text):
    return [m.group(1) for m in SUB_VAR.finditer(text) if not m.group(1).startswith("!")]


def check_refs(t, name):
    params = t.get("Parameters", {})
    res = t.get("Resources", {})
    conds = t.get("Conditions", {})
    maps = t.get("Mappings", {})
    problems = []

    def getatt_ok(where, logical, attr):
        if logical not in res:
            problems.append(f"{where}: GetAtt of unknown resource {logical}")
            return
        schema = SPEC["schemas"].get(res[logical].get("Type"))
        if schema is not None and attr not in schema["attributes"]:
            problems.append(f"{where}: {res[logical]['Type']} has no attribute {attr}")

    def walk(v, where, local=(), in_conditions=False):
        if isinstance(v, list):
            for x in v:
                walk(x, where, local, in_conditions)
            return
        if not isinstance(v, dict):
            return
        for k, x in v.items():
            if k == "Ref":
                ok = x in params or x in PSEUDO or (x in res and not in_conditions)
                if not ok:
                    problems.append(f"{where}: Ref {x} resolves to nothing")
            elif k == "Fn::GetAtt":
                need(isinstance(x, list) and len(x) == 2, f"{where}: GetAtt {x}")
                if in_conditions:
                    problems.append(f"{where}: GetAtt in a condition")
                getatt_ok(where, x[0], x[1])
            elif k == "Fn::Sub":
                text, var_map = (x, {}) if isinstance(x, str) else (x[0], x[1])
                walk(var_map, where, local, in_conditions)
                for var in sub_vars(text):
                    if var in var_map or var in params or var in PSEUDO or var in res:
                        continue
                    if "." in var and var.split(".", 1)[0] in res:
                        getatt_ok(where, *var.split(".", 1))
                        continue
                    problems.append(f"{where}: Sub ${{{var}}} resolves to nothing")
                continue
            elif k == "Fn::If":
                need(isinstance(x, list) and len(x) == 3, f"{where}: If needs 3 items")
                if x[0] not in conds:
                    problems.append(f"{where}: If on unknown condition {x[0]}")
                walk(x[1:], where, local, in_conditions)
                continue
            elif k == "Condition" and isinstance(x, str) and in_conditions:
                if x not in conds:
                    problems.append(f"{where}: unknown condition {x}")
            elif k == "Fn::FindInMap":
                if isinstance(x[0], str) and x[0] not in maps:
                    problems.append(f"{where}: unknown mapping {x[0]}")
            walk(x, where, local, in_conditions)

    for cname, c in conds.items():
        walk(c, f"Conditions.{cname}", in_conditions=True)
    for rname, rule in t.get("Rules", {}).items():
        walk(rule, f"Rules.{rname}", in_conditions=True)
    for rname, r in res.items():
        walk(r.get("Properties", {}), f"{rname}")
        if "Condition" in r and r["Condition"] not in conds:
            problems.append(f"{rname}: unknown condition {r['Condition']}")
        for d in (r.get("DependsOn") or []) if isinstance(r.get("DependsOn"), list) else \
                [r["DependsOn"]] if "DependsOn" in r else []:
            if d not in res:
                problems.append(f"{rname}: DependsOn unknown {d}")
    for oname, o in t.get("Outputs", {}).items():
        walk(o, f"Outputs.{oname}")
        if "Condition" in o and o["Condition"] not in conds:
            problems.append(f"Outputs.{oname}: unknown condition {o['Condition']}")
    need(not problems, "; ".join(problems))


def dependencies(t):
    """logical id -> the resources it refers to (Ref, GetAtt, Sub, DependsOn)."""
    res = t.get("Resources", {})
    deps = {}

    def collect(v, out):
        if isinstance(v, list):
            for x in v:
                collect(x, out)
        elif isinstance(v, dict):
            for k, x in v.items():
                if k == "Ref" and x in res:
                    out.add(x)
                elif k == "Fn::GetAtt":
                    out.add(x[0])
                elif k == "Fn::Sub":
                    text = x if isinstance(x, str) else x[0]
                    for var in sub_vars(text):
                        if var.split(".", 1)[0] in res:
                            out.add(var.split(".", 1)[0])
                    if not isinstance(x, str):
                        collect(x[1], out)
                    continue
                collect(x, out)

    for name, r in res.items():
        out = set()
        collect(r.get("Properties", {}), out)
        d = r.get("DependsOn", [])
        out |= set(d if isinstance(d, list) else [d])
        deps[name] = out
    return deps


def check_no_cycle(t):
    deps = dependencies(t)
    state = {}

    def visit(n, path):
        if state.get(n) == 1:
            raise Fail("dependency cycle: " + " -> ".join(path + [n]))
        if state.get(n) == 2:
            return
        state[n] = 1
        for m in deps.get(n, ()):
            visit(m, path + [n])
        state[n] = 2

    for n in deps:
        visit(n, [])


def check_structure(t, name):
    need(set(t) <= SECTIONS, f"unknown sections {sorted(set(t) - SECTIONS)}")
    need(t.get("AWSTemplateFormatVersion") == "2010-09-09", "AWSTemplateFormatVersion")
    need(isinstance(t.get("Description"), str) and t["Description"], "no Description")
    need(isinstance(t.get("Resources"), dict) and t["Resources"], "no Resources")
    for pname, p in t.get("Parameters", {}).items():
        need(re.fullmatch(r"[A-Za-z0-9]+", pname), f"parameter name {pname}")
        need(set(p) <= PARAM_KEYS, f"{pname}: unknown keys {sorted(set(p) - PARAM_KEYS)}")
        need(p.get("Type") in PARAM_TYPES or str(p.get("Type", "")).startswith("AWS::"),
             f"{pname}: Type {p.get('Type')}")
        need(p.get("Description"), f"{pname}: no Description")
        if "Default" in p and "AllowedValues" in p:
            need(p["Default"] in p["AllowedValues"], f"{pname}: Default not in AllowedValues")
        if "Default" in p and "AllowedPattern" in p and p["Type"] == "String":
            need(re.fullmatch(p["AllowedPattern"], p["Default"]),
                 f"{pname}: Default {p['Default']!r} does not match AllowedPattern")
    for rname, r in t["Resources"].items():
        need(re.fullmatch(r"[A-Za-z0-9]+", rname), f"resource name {rname}")
        need(set(r) <= RESOURCE_KEYS, f"{rname}: unknown keys {sorted(set(r) - RESOURCE_KEYS)}")
        typ = r.get("Type")
        need(typ in KNOWN_TYPES, f"{rname}: unknown resource type {typ}")
        schema = SPEC["schemas"].get(typ)
        props = r.get("Properties", {})
        need(isinstance(props, dict), f"{rname}: Properties is not a mapping")
        if schema is not None:
            extra = set(props) - set(schema["properties"])
            need(not extra, f"{rname} ({typ}): unknown or read-only properties {sorted(extra)}")
            missing = set(schema["required"]) - set(props)
            need(not missing, f"{rname} ({typ}): required properties missing {sorted(missing)}")
    for oname, o in t.get("Outputs", {}).items():
        need("Value" in o, f"output {oname} has no Value")
        need(set(o) <= {"Value", "Description", "Condition", "Export"}, f"output {oname} keys")


# ---- parameter samples: realistic values, and values that must be refused ------------
GOOD = {
    "OrganizationId": ["o-a1b2c3d4e5", "o-exampleorgid11"],
    "EksOidcProvider": ["oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"],
    "ConfigBucketName": ["aws-controltower-logs-222233334444-eu-west-1", "my-config-bucket"],
    "ConfigBucketPrefix": ["o-a1b2c3d4e5/", "config/o-a1b2c3d4e5/"],
    "ConfigBucketKmsKeyArn": ["arn:aws:kms:eu-west-1:222233334444:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
    "TopicArnPatterns": ["arn:aws:sns:*:111122223333:whochanged-config"],
    "AlarmTopicArn": ["arn:aws:sns:eu-west-1:111122223333:oncall"],
    "CentralTargetArn": ["arn:aws:events:eu-west-1:111122223333:event-bus/whochanged",
                         "arn:aws:sqs:eu-west-1:111122223333:whochanged-central-Queue-AbC123dEf"],
    "WorkerRoleArn": ["arn:aws:iam::111122223333:role/whochanged-worker-eu-west-1"],
    "ExternalId": ["0123456789abcdef"],
    "CentralQueueArn": ["arn:aws:sqs:eu-west-1:111122223333:whochanged-central-Queue-AbC123dEf"],
    "ConfigRoleName": ["aws-controltower-ConfigRecorderRole"],
    "ExistingTopicArn": ["arn:aws:sns:eu-west-1:111122223333:config-topic"],
    "LedgerTableName": ["whochanged-ledger", "Who.Changed_ledger-2"],
}
BAD = {
    "OrganizationId": ["o-", "r-abcd", "O-A1B2C3D4E5", "111122223333"],
    "EksOidcProvider": ["https://oidc.eks.eu-west-1.amazonaws.com/id/X"],
    "ConfigBucketName": ["My_Bucket", "s3://my-config-bucket"],
    "ConfigBucketPrefix": ["o-a1b2c3d4e5"],
    "CentralTargetArn": ["arn:aws:sns:eu-west-1:111122223333:topic", "whochanged"],
    "WorkerRoleArn": ["arn:aws:iam::111122223333:user/alice", "whochanged-worker"],
    "CentralQueueArn": ["https://sqs.eu-west-1.amazonaws.com/111122223333/q"],
    "ExternalId": ["short"],
    "LedgerTableName": ["ab", "has space", "arn:aws:dynamodb:eu-west-1:111122223333:table/t"],
}


def param_choices(t, name):
    """Each parameter's values to render with: its AllowedValues, or for an
    optional one "" and a sample, or its Default, or (required) a sample."""
    out = {}
    for pname, p in t.get("Parameters", {}).items():
        if "AllowedValues" in p:
            out[pname] = list(p["AllowedValues"])
        elif p.get("Default") == "":
            need(pname in GOOD, f"{name}: no sample value for optional parameter {pname}")
            out[pname] = ["", GOOD[pname][0]]
        elif "Default" in p:
            out[pname] = [p["Default"]]
        else:
            need(pname in GOOD, f"{name}: no sample value for required parameter {pname}")
            out[pname] = [GOOD[pname][0]]
    if "CentralTargetArn" in out and "TargetType" in out:
        out["CentralTargetArn"] = ["(by TargetType)"]
    return out


def combos(t, name):
    choices = param_choices(t, name)
    keys = sorted(choices)
    for values in itertools.product(*(choices[k] for k in keys)):
        p = dict(zip(keys, values))
        if p.get("CentralTargetArn") == "(by TargetType)":
            p["CentralTargetArn"] = GOOD["CentralTargetArn"][1 if p["TargetType"] == "sqs" else 0]
        yield p


def check_parameter_samples(t, name):
    for pname, p in t.get("Parameters", {}).items():
        pat = p.get("AllowedPattern")
        if not pat:
            continue
        for v in GOOD.get(pname, []):
            need(re.fullmatch(pat, v), f"{pname}: realistic value {v!r} refused by {pat}")
        for v in BAD.get(pname, []):
            need(not re.fullmatch(pat, v), f"{pname}: bad value {v!r} accepted by {pat}")


# ---- rendering ----------------------------------------------------------------------
class Renderer:
    def __init__(self, t, params):
        self.t = t
        self.params = {}
        for pname, p in t.get("Parameters", {}).items():
            v = params[pname]
            if p["Type"] == "CommaDelimitedList":
                v = [x.strip() for x in v.split(",")] if isinstance(v, str) else v
            self.params[pname] = v
        self.res = t.get("Resources", {})
        self.conds = {}
        for c in t.get("Conditions", {}):
            self.cond(c)

    def cond(self, name):
        if name not in self.conds:
            self.conds[name] = bool(self.value(self.t["Conditions"][name]))
        return self.conds[name]

    def ref(self, x):
        if x in self.params:
            return self.params[x]
        if x in PSEUDO:
            return PSEUDO[x]
        need(x in self.res, f"Ref {x}")
        return self.physical(x)

    def physical(self, logical):
        typ = self.res[logical]["Type"]
        acct, region = PSEUDO["AWS::AccountId"], PSEUDO["AWS::Region"]
        props = self.res[logical].get("Properties", {})
        if typ == "AWS::SQS::Queue":
            return f"https://sqs.{region}.amazonaws.com/{acct}/{logical}"
        if typ == "AWS::SNS::Topic":
            return f"arn:aws:sns:{region}:{acct}:{self.value(props.get('TopicName', logical))}"
        if typ in ("AWS::IAM::Role", "AWS::Events::EventBus", "AWS::IAM::InstanceProfile"):
            return self.value(props.get("RoleName", props.get("Name", logical)))
        if typ == "AWS::DynamoDB::Table":
            return self.value(props.get("TableName", logical))
        return logical

    def getatt(self, logical, attr):
        typ = self.res[logical]["Type"]
        acct, region = PSEUDO["AWS::AccountId"], PSEUDO["AWS::Region"]
        props = self.res[logical].get("Properties", {})
        if typ == "AWS::SQS::Queue":
            return {"Arn": f"arn:aws:sqs:{region}:{acct}:{logical}", "QueueName": logical,
                    "QueueUrl": self.physical(logical)}[attr]
        if typ == "AWS::IAM::Role" and attr == "Arn":
            return f"arn:aws:iam::{acct}:role/{self.value(props.get('RoleName', logical))}"
        if typ == "AWS::DynamoDB::Table" and attr == "Arn":
            return f"arn:aws:dynamodb:{region}:{acct}:table/{self.physical(logical)}"
        if typ == "AWS::Events::EventBus" and attr == "Arn":
            return f"arn:aws:events:{region}:{acct}:event-bus/{self.value(props['Name'])}"
        if typ == "AWS::Events::Rule" and attr == "Arn":
            bus = props.get("EventBusName")
            name = self.value(props.get("Name", logical))
            if bus is None or self.value(bus) == "default":
                return f"arn:aws:events:{region}:{acct}:rule/{name}"
            return f"arn:aws:events:{region}:{acct}:rule/{self.value(bus)}/{name}"
        return f"arn:aws:{typ.split('::')[1].lower()}:{region}:{acct}:{logical}/{attr}"

    def sub(self, text, var_map):
        def one(m):
            var = m.group(1)
            if var.startswith("!"):
                return "${" + var[1:] + "}"
            if var in var_map:
                return str(self.value(var_map[var]))
            if var in self.params or var in PSEUDO or var in self.res:
                v = self.ref(var)
                need(isinstance(v, str), f"Sub ${{{var}}} is not a string")
                return v
            logical, attr = var.split(".", 1)
            return self.getatt(logical, attr)
        return SUB_VAR.sub(one, text)

    def value(self, v):
        if isinstance(v, list):
            out = [self.value(x) for x in v]
            return [x for x in out if x is not NOVALUE]
        if not isinstance(v, dict):
            return v
        if is_fn(v):
            (k, x), = v.items()
            if k == "Ref":
                r = self.ref(x)
                return NOVALUE if r is None else r
            if k == "Condition":
                return self.cond(x)
            if k == "Fn::If":
                return self.value(x[1] if self.cond(x[0]) else x[2])
            if k == "Fn::Equals":
                a, b = (self.value(y) for y in x)
                return a == b
            if k == "Fn::Not":
                return not self.value(x[0])
            if k == "Fn::And":
                return all(self.value(y) for y in x)
            if k == "Fn::Or":
                return any(self.value(y) for y in x)
            if k == "Fn::Join":
                return x[0].join(str(s) for s in self.value(x[1]))
            if k == "Fn::Split":
                return self.value(x[1]).split(x[0])
            if k == "Fn::Select":
                return self.value(x[1])[int(self.value(x[0]))]
            if k == "Fn::Sub":
                return self.sub(x, {}) if isinstance(x, str) else self.sub(x[0], x[1])
            if k == "Fn::GetAtt":
                return self.getatt(x[0], x[1])
            raise Fail(f"cannot render {k}")
        out = {}
        for k, x in v.items():
            y = self.value(x)
            if y is not NOVALUE:
                out[k] = y
        return out

    def rules_hold(self):
        for rule in self.t.get("Rules", {}).values():
            if "RuleCondition" in rule and not self.value(rule["RuleCondition"]):
                continue
            if not all(self.value(a["Assert"]) for a in rule["Assertions"]):
                return False
        return True

    def resources(self):
        out = {}
        for name, r in self.res.items():
            if "Condition" in r and not self.cond(r["Condition"]):
                continue
            out[name] = {"Type": r["Type"], "Properties": self.value(r.get("Properties", {}))}
        return out

    def outputs(self):
        return {k: self.value(o["Value"]) for k, o in self.t.get("Outputs", {}).items()
                if "Condition" not in o or self.cond(o["Condition"])}


NOVALUE = object()


def renderings(name):
    """(params, resources, outputs) for every combination the Rules allow."""
    t = load(name)
    out, refused = [], 0
    for p in combos(t, name):
        r = Renderer(t, p)
        if not r.rules_hold():
            refused += 1
            continue
        out.append((p, r.resources(), r.outputs()))
    need(out, f"{name}: no parameter combination passes the Rules")
    return out, refused


# ---- IAM policy documents ------------------------------------------------------------
# Actions IAM accepts only with Resource "*" (no resource-level permissions).
NO_RESOURCE_LEVEL = {"cloudtrail:LookupEvents", "config:GetResourceConfigHistory",
                     "config:BatchGetResourceConfig", "config:ListDiscoveredResources"}
TRUST_ACTIONS = {"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:TagSession",
                 "sts:AssumeRoleWithSAML", "sts:SetSourceIdentity"}
OPERATORS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
             "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
             "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
             "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
             "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress",
             "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null"}
# What narrows a grant to a public principal or an AWS service (confused deputy).
NARROWING = {"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:principalorgid",
             "aws:principalarn", "aws:sourceowner", "aws:principalaccount"}


def as_list(v):
    return v if isinstance(v, list) else [v]


def policy_docs(resources):
    """(where, kind, document) for every policy in rendered resources; kind is
    identity, trust or resource."""
    out = []
    for name, r in resources.items():
        p, typ = r["Properties"], r["Type"]
        if typ == "AWS::IAM::Role":
            out.append((f"{name}.AssumeRolePolicyDocument", "trust", p.get("AssumeRolePolicyDocument")))
            for pol in p.get("Policies", []):
                out.append((f"{name}.Policies.{pol.get('PolicyName')}", "identity", pol.get("PolicyDocument")))
        elif typ in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            out.append((name, "identity", p.get("PolicyDocument")))
        elif typ in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy", "AWS::S3::BucketPolicy"):
            out.append((name, "resource", p.get("PolicyDocument")))
        elif typ == "AWS::Events::EventBusPolicy":
            out.append((name, "resource", {"Version": "2012-10-17", "Statement": [p["Statement"]]}))
        elif typ == "AWS::KMS::Key":
            out.append((name, "resource", p.get("KeyPolicy")))
    return out


def check_policy(where, kind, doc):
    if isinstance(doc, str):  # JSON text (a !Sub'd trust policy, for instance)
        try:
            doc = json.loads(doc)
        except ValueError as e:
            raise Fail(f"{where}: policy text is not JSON: {e}")
    need(isinstance(doc, dict), f"{where}: not a policy document")
    need(set(doc) <= {"Version", "Statement", "Id"}, f"{where}: keys {sorted(doc)}")
    need(doc.get("Version") == "2012-10-17", f"{where}: Version must be 2012-10-17")
    sts = as_list(doc.get("Statement"))
    need(sts and all(isinstance(s, dict) for s in sts), f"{where}: Statement empty or malformed")
    sids = [s["Sid"] for s in sts if "Sid" in s]
    need(len(sids) == len(set(sids)), f"{where}: duplicate Sid")
    for s in sts:
        w = f"{where}[{s.get('Sid', '?')}]"
        keys = set(s)
        need(keys <= {"Sid", "Effect", "Principal", "Action", "Resource", "Condition"},
             f"{w}: keys {sorted(keys)} (no Not* - they widen a grant)")
        if kind in ("identity", "trust") and "Sid" in s:
            need(re.fullmatch(r"[A-Za-z0-9]+", s["Sid"]), f"{w}: IAM wants an alphanumeric Sid")
        need(s.get("Effect") in ("Allow", "Deny"), f"{w}: Effect {s.get('Effect')}")
        acts = as_list(s.get("Action", []))
        need(acts, f"{w}: no Action")
        for a in acts:
            need(isinstance(a, str) and re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9*]+", a), f"{w}: action {a!r}")
            if s["Effect"] == "Allow":
                need("*" not in a, f"{w}: wildcard action {a} in an Allow")
        cond = s.get("Condition", {})
        need(isinstance(cond, dict), f"{w}: Condition")
        cond_keys = set()
        for op, kv in cond.items():
            base = re.sub(r"^(ForAnyValue|ForAllValues):", "", op)
            base = base[:-len("IfExists")] if base.endswith("IfExists") else base
            need(base in OPERATORS, f"{w}: condition operator {op}")
            need(isinstance(kv, dict) and kv, f"{w}: {op} is empty")
            for k, v in kv.items():
                # service:key, or an OIDC issuer's host/path:claim
                need(re.fullmatch(r"[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)*:[A-Za-z0-9/_.:-]+", k),
                     f"{w}: condition key {k!r}")
                for x in as_list(v):
                    need(isinstance(x, (str, bool)) and x != "", f"{w}: {op}/{k} value {x!r}")
                cond_keys.add(k.lower())
        if kind == "identity":
            need("Principal" not in s, f"{w}: Principal in an identity policy")
            res = as_list(s.get("Resource", []))
            need(res, f"{w}: no Resource")
            for r in res:
                need(isinstance(r, str) and (r == "*" or r.startswith("arn:")), f"{w}: Resource {r!r}")
            if "*" in res and s["Effect"] == "Allow":
                need(set(acts) <= NO_RESOURCE_LEVEL,
                     f"{w}: Resource \"*\" for {sorted(set(acts) - NO_RESOURCE_LEVEL)}")
            continue
        principal = s.get("Principal")
        need(principal is not None, f"{w}: no Principal")
        need(principal == "*" or (isinstance(principal, dict) and
                                   set(principal) <= {"AWS", "Service", "Federated"}),
             f"{w}: Principal {principal!r}")
        public = principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS", [])))
        services = [] if principal == "*" else as_list(principal.get("Service", []))
        for svc in services:
            need(re.fullmatch(r"[a-z0-9.-]+\.amazonaws\.com", svc), f"{w}: service principal {svc}")
        for arn in [] if principal == "*" else as_list(principal.get("AWS", [])):
            need(arn == "*" or re.fullmatch(r"arn:aws[a-z-]*:(iam|sts)::\d{12}:.+|\d{12}", arn),
                 f"{w}: AWS principal {arn!r}")
        for arn in [] if principal == "*" else as_list(principal.get("Federated", [])):
            need(re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:(oidc|saml)-provider/.+", arn),
                 f"{w}: Federated principal {arn!r}")
        if kind == "trust":
            need("Resource" not in s, f"{w}: Resource in a trust policy")
            need(set(acts) <= TRUST_ACTIONS, f"{w}: trust actions {acts}")
            need(not public, f"{w}: a role anyone may assume")
        else:
            need("Resource" in s, f"{w}: no Resource")
            if s["Effect"] == "Allow" and (public or services):
                need(cond_keys & NARROWING,
                     f"{w}: Allow to {principal} without a narrowing condition "
                     f"({', '.join(sorted(NARROWING))})")


# ---- EventBridge patterns (the subset the templates use: exact values) ----------------
def pattern_matches(pattern, event):
    for k, want in pattern.items():
        if k not in event:
            return False
        got = event[k]
        if isinstance(want, dict):
            if not isinstance(got, dict) or not pattern_matches(want, got):
                return False
            continue
        need(isinstance(want, list) and all(isinstance(x, (str, int, float, bool)) for x in want),
             f"pattern {k}: only lists of exact values are understood here")
        values = got if isinstance(got, list) else [got]
        if not set(map(json.dumps, values)) & set(map(json.dumps, want)):
            return False
    return True


def sample(path):
    with open(os.path.join(DATA, path)) as f:
        return json.load(f)


EVENTBRIDGE_MATCH = [
    "aws-reference/samples/config/eventbridge-doc-config-configuration-item-change-efs.json",
    "aws-reference/samples/config/eventbridge-oversized-config-configuration-item-change.json",
]
EVENTBRIDGE_NO_MATCH = ["config/eventbridge-compliance-change.json", "config/eventbridge-not-config.json"]
# The event stream: CloudTrail's write calls (README "CloudTrail events as a second source").
API_CALL_MATCH = ["cloudtrail/eventbridge-api-call-authorize-sg.json",
                  "cloudtrail/eventbridge-api-call-failed.json"]
API_CALL_NO_MATCH = ["cloudtrail/eventbridge-api-call-read-only.json",
                     "cloudtrail/eventbridge-console-sign-in.json"]


def check_pattern(pattern, where):
    for f in EVENTBRIDGE_MATCH:
        need(pattern_matches(pattern, sample(f)), f"{where}: the pattern misses {f}")
    for f in EVENTBRIDGE_NO_MATCH + API_CALL_MATCH + API_CALL_NO_MATCH:
        need(not pattern_matches(pattern, sample(f)), f"{where}: the pattern matches {f}")


def check_api_call_pattern(pattern, where):
    for f in API_CALL_MATCH:
        need(pattern_matches(pattern, sample(f)), f"{where}: the pattern misses {f}")
    for f in API_CALL_NO_MATCH + EVENTBRIDGE_MATCH + EVENTBRIDGE_NO_MATCH:
        need(not pattern_matches(pattern, sample(f)), f"{where}: the pattern matches {f}")


def is_api_call_rule(rule):
    return rule["Type"] == "AWS::Events::Rule" and \
        pattern_matches(rule["Properties"]["EventPattern"], sample(API_CALL_MATCH[0]))


def config_rules(resources):
    """Every resource but the event stream's API-call rules."""
    return {k: v for k, v in resources.items() if not is_api_call_rule(v)}


# ---- helpers for the promises -----------------------------------------------------------
def of_type(resources, typ):
    return {k: v for k, v in resources.items() if v["Type"] == typ}


def one_of(resources, typ):
    found = of_type(resources, typ)
    need(len(found) == 1, f"expected one {typ}, found {sorted(found)}")
    return next(iter(found.items()))


def statements(doc):
    return as_list((json.loads(doc) if isinstance(doc, str) else doc)["Statement"])


def glob_match(pattern, text):  # IAM's ArnLike/StringLike: * and ?
    return fnmatch.fnmatchcase(text, pattern)


def no_config_resources(resources, where):
    touched = sorted(k for k, v in resources.items() if v["Type"].startswith("AWS::Config::"))
    need(not touched, f"{where}: touches AWS Config ({touched}): the delivery channel must stay")


def event_topics(resources):
    """The topics the API-call rules target (the event stream's fan-out)."""
    return {t["Arn"] for r in of_type(resources, "AWS::Events::Rule").values() if is_api_call_rule(r)
            for t in r["Properties"]["Targets"]}


def event_queues(resources):
    """Logical ids of the queues subscribed to the event stream's topic."""
    topics = event_topics(resources)
    return [s["Properties"]["Endpoint"].rsplit(":", 1)[1]
            for s in of_type(resources, "AWS::SNS::Subscription").values()
            if s["Properties"]["TopicArn"] in topics]


def the_queue(resources):
    """The Config queue: the one with a RedrivePolicy the event stream does not feed."""
    evq = set(event_queues(resources))
    qs = [k for k, v in of_type(resources, "AWS::SQS::Queue").items()
          if "RedrivePolicy" in v["Properties"] and k not in evq]
    need(len(qs) == 1, f"one queue with a RedrivePolicy, found {qs}")
    return qs[0]


def policy_of_queue(resources, q):
    found = [(k, v) for k, v in of_type(resources, "AWS::SQS::QueuePolicy").items()
             if res_url(q) in v["Properties"]["Queues"]]
    need(len(found) == 1 and found[0][1]["Properties"]["Queues"] == [res_url(q)],
         f"queue {q}: policies {[k for k, _ in found]} (want one, on it alone)")
    return found[0]


def check_queue_and_alarm(t, resources, where):
    q = the_queue(resources)
    qp = resources[q]["Properties"]
    dlq = t["Resources"][q]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    need(qp["RedrivePolicy"]["maxReceiveCount"] == 10, f"{where}: maxReceiveCount 10")
    need(qp.get("VisibilityTimeout") == 300 and qp.get("SqsManagedSseEnabled") is True,
         f"{where}: queue 300 s, SSE")
    need(resources[dlq]["Properties"].get("MessageRetentionPeriod") == 14 * 86400, f"{where}: DLQ 14 days")
    check_dlq_alarm(resources, dlq, where)
    return q, dlq


def alarms_on(resources, queue):
    """The alarms whose dimension is the QueueName of the queue (logical id)."""
    return {k: v for k, v in of_type(resources, "AWS::CloudWatch::Alarm").items()
            if {"Name": "QueueName", "Value": queue} in v["Properties"].get("Dimensions", [])}


def check_dlq_alarm(resources, dlq, where):
    """One alarm on the dead-letter queue dlq: more than 0 visible messages."""
    alarms = alarms_on(resources, dlq)
    need(len(alarms) == 1, f"{where}: alarms on {dlq}: {sorted(alarms)}, want one "
         f"(alarms: {sorted(of_type(resources, 'AWS::CloudWatch::Alarm'))})")
    ((name, alarm),) = alarms.items()
    a = alarm["Properties"]
    need(a["Namespace"] == "AWS/SQS" and a["MetricName"] == "ApproximateNumberOfMessagesVisible",
         f"{where}: {name} watches {a['Namespace']} {a['MetricName']}")
    need(a["Dimensions"] == [{"Name": "QueueName", "Value": dlq}],
         f"{where}: {name}'s dimensions are {a['Dimensions']}, not {dlq}'s QueueName alone")
    need(a["ComparisonOperator"] == "GreaterThanThreshold" and a["Threshold"] == 0,
         f"{where}: {name} fires on more than 0 messages")
    need(a.get("TreatMissingData") == "notBreaching", f"{where}: {name}: TreatMissingData notBreaching")
    return name, a


LEDGER_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem"}


def check_ledger(p, res, out, pol, where):
    """The shared ledger's table exactly when LedgerTableName names it, as
    aws/dynamodb_ledger.h reads it; the worker's DynamoDB grants on it alone."""
    tables = of_type(res, "AWS::DynamoDB::Table")
    want = bool(p["LedgerTableName"])
    need(bool(tables) == want, f"{where}: a ledger table iff LedgerTableName (with {p})")
    acts = {a for x in pol for a in as_list(x["Action"]) if a.startswith("dynamodb:")}
    need(acts == (LEDGER_ACTIONS if want else set()), f"{where}: DynamoDB grants {sorted(acts)}")
    need(("LedgerTable" in out) == want, f"{where}: LedgerTable output iff the table")
    if not want:
        return
    (t,) = tables.values()
    tp = t["Properties"]
    need(tp["TableName"] == p["LedgerTableName"] and out["LedgerTable"] == p["LedgerTableName"],
         f"{where}: table name {tp['TableName']}, output {out['LedgerTable']}")
    need(tp.get("BillingMode") == "PAY_PER_REQUEST", f"{where}: the ledger table is not on-demand")
    need(tp["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}] and
         tp["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}],
         f"{where}: the ledger's key must be pk, a string: {tp['KeySchema']}")
    need(tp.get("TimeToLiveSpecification") == {"AttributeName": "expires_at", "Enabled": True},
         f"{where}: TTL must be on expires_at: {tp.get('TimeToLiveSpecification')}")
    arn = f"arn:aws:dynamodb:eu-west-1:111122223333:table/{p['LedgerTableName']}"
    for x in pol:
        if set(as_list(x["Action"])) & LEDGER_ACTIONS:
            need(x["Resource"] == arn, f"{where}: DynamoDB grants on {x['Resource']}, not {arn}")


EVENT_QUEUE_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                       "sqs:GetQueueAttributes"}


def check_event_stream(p, res, out, pol, where, q, dlq, bus=None):
    """EventStream / EventWorkers: the API-call rule on the bus (bus None: the
    default bus), its topic, one events queue per worker and the worker's
    grants on them - all of it exactly when asked for, nothing else."""
    want = p["EventStream"] == "true"
    n = int(p["EventWorkers"]) if want else 0
    qarn = f"arn:aws:sqs:eu-west-1:111122223333:{q}"
    # the worker's SQS grants: one statement on the Config queue, one on the events queues
    sqs = [x for x in pol if any(a.startswith("sqs:") for a in as_list(x["Action"]))]
    on_config = [x for x in sqs if as_list(x["Resource"]) == [qarn]]
    on_events = [x for x in sqs if as_list(x["Resource"]) != [qarn]]
    need(len(on_config) == 1, f"{where}: {len(on_config)} statements on the Config queue")
    need(len(on_events) == (1 if want else 0),
         f"{where}: SQS grants on other queues {on_events} (with EventStream {p['EventStream']})")
    rules = {k: v for k, v in of_type(res, "AWS::Events::Rule").items() if is_api_call_rule(v)}
    need(len(rules) == (1 if want else 0), f"{where}: API-call rules {sorted(rules)} (with {p})")
    names = [k for k in ("EventTopicArn", "EventsDlqUrl", "EventsDlqAlarmName") if k in out] + \
        sorted(k for k in out if k.startswith("EventsQueueUrl"))
    # one alarm per dead-letter queue: the Config DLQ's, and the events DLQ's with the stream
    alarms = of_type(res, "AWS::CloudWatch::Alarm")
    need(len(alarms) == (2 if want else 1),
         f"{where}: alarms {sorted(alarms)} (with EventStream {p['EventStream']})")
    if not want:
        need(not names, f"{where}: event stream outputs {names} without EventStream")
        need(not event_queues(res) and len(of_type(res, "AWS::SQS::Queue")) == 2,
             f"{where}: queues {sorted(of_type(res, 'AWS::SQS::Queue'))} without EventStream")
        config_topics = {v["Properties"]["TopicArn"] for v in of_type(res, "AWS::SNS::Subscription").values()
                         if v["Properties"]["Endpoint"] == qarn}
        extra = [k for k, v in of_type(res, "AWS::SNS::Topic").items()
                 if f"arn:aws:sns:eu-west-1:111122223333:{v['Properties'].get('TopicName', k)}" not in config_topics]
        need(not extra, f"{where}: topics {extra} without EventStream")
        return
    ((rname, rule),) = rules.items()
    rp = rule["Properties"]
    check_api_call_pattern(rp["EventPattern"], f"{where} {rname}")
    if bus is None:
        need(rp.get("EventBusName", "default") == "default", f"{where}: {rname} not on the default bus")
        rule_arn = f"arn:aws:events:eu-west-1:111122223333:rule/{rname}"
    else:
        need(rp.get("EventBusName") == bus, f"{where}: {rname} not on the central bus {bus}")
        rule_arn = f"arn:aws:events:eu-west-1:111122223333:rule/{bus}/{rname}"
    need(len(rp["Targets"]) == 1, f"{where}: {rname} targets {rp['Targets']}")
    tarn = rp["Targets"][0]["Arn"]
    topics = {k: v for k, v in of_type(res, "AWS::SNS::Topic").items()
              if tarn == f"arn:aws:sns:eu-west-1:111122223333:{v['Properties'].get('TopicName', k)}"}
    need(len(topics) == 1, f"{where}: {rname} targets {tarn}, not a topic of the stack")
    ((tname, topic),) = topics.items()
    need("KmsMasterKeyId" not in topic["Properties"],
         f"{where}: an encrypted {tname} needs a key policy for events.amazonaws.com")
    tpols = [v["Properties"] for v in of_type(res, "AWS::SNS::TopicPolicy").values()
             if tarn in v["Properties"]["Topics"]]
    need(len(tpols) == 1 and tpols[0]["Topics"] == [tarn], f"{where}: policies of {tname}: {tpols}")
    allows = [x for x in tpols[0]["PolicyDocument"]["Statement"] if x["Effect"] == "Allow"]
    need(len(allows) == 1 and allows[0]["Principal"] == {"Service": "events.amazonaws.com"} and
         allows[0]["Action"] == "sns:Publish" and allows[0]["Resource"] == tarn and
         allows[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}},
         f"{where}: {tname} policy: events.amazonaws.com from {rule_arn} only, got {allows}")
    # one queue per worker, subscribed to the topic, fed by it alone
    subs = [v["Properties"] for v in of_type(res, "AWS::SNS::Subscription").values()
            if v["Properties"]["TopicArn"] == tarn]
    evq = event_queues(res)
    need(len(subs) == n and len(set(evq)) == n, f"{where}: {len(subs)} subscriptions to {tname}, "
         f"queues {evq}, want {n} (EventWorkers {p['EventWorkers']})")
    dlqs = set()
    for sp, eq in zip(subs, evq):
        need(sp["Protocol"] == "sqs", f"{where}: subscription protocol {sp['Protocol']}")
        need(eq not in (q, dlq), f"{where}: the Config queues subscribed to the event topic")
        qp = res[eq]["Properties"]
        need(qp.get("SqsManagedSseEnabled") is True, f"{where}: {eq} not encrypted")
        d = qp["RedrivePolicy"]["deadLetterTargetArn"].rsplit(":", 1)[1]
        need(d not in (q, dlq) and d in res, f"{where}: {eq} redrives to {d}, not an events DLQ")
        dlqs.add(d)
        _, qpol = policy_of_queue(res, eq)
        earn = f"arn:aws:sqs:eu-west-1:111122223333:{eq}"
        qallows = [x for x in qpol["Properties"]["PolicyDocument"]["Statement"] if x["Effect"] == "Allow"]
        need(len(qallows) == 1 and qallows[0]["Principal"] == {"Service": "sns.amazonaws.com"} and
             qallows[0]["Action"] == "sqs:SendMessage" and qallows[0]["Resource"] == earn and
             qallows[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": tarn}},
             f"{where}: {eq} policy: sns.amazonaws.com from {tarn} only, got {qallows}")
    need(len(of_type(res, "AWS::SQS::Queue")) == 2 + n + len(dlqs),
         f"{where}: queues {sorted(of_type(res, 'AWS::SQS::Queue'))}")
    # the events DLQ has its alarm, notifying where the Config DLQ's does
    need(len(dlqs) == 1, f"{where}: events queues redrive to {sorted(dlqs)}, want one DLQ")
    (edlq,) = dlqs
    ename, ea = check_dlq_alarm(res, edlq, where)
    ((_, calarm),) = alarms_on(res, dlq).items()
    ca = calarm["Properties"]
    for k in ("AlarmActions", "OKActions"):
        need(ea.get(k) == ca.get(k), f"{where}: {ename} {k} {ea.get(k)}, the DLQ alarm's {ca.get(k)}")
    need(out.get("EventsDlqUrl") == res_url(edlq) and out.get("EventsDlqAlarmName") == ename,
         f"{where}: EventsDlqUrl {out.get('EventsDlqUrl')}, EventsDlqAlarmName {out.get('EventsDlqAlarmName')}")
    # no API call reaches the Config queue
    _, cpol = policy_of_queue(res, q)
    need(not any(x.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn") in (tarn, rule_arn)
                 for x in cpol["Properties"]["PolicyDocument"]["Statement"]),
         f"{where}: the Config queue admits the event stream")
    # the worker reads them, with exactly what it needs
    (g,) = on_events
    need(set(as_list(g["Action"])) == EVENT_QUEUE_ACTIONS and "Condition" not in g,
         f"{where}: events queue grants {sorted(as_list(g['Action']))}, want {sorted(EVENT_QUEUE_ACTIONS)}")
    need(sorted(as_list(g["Resource"])) == sorted(f"arn:aws:sqs:eu-west-1:111122223333:{x}" for x in evq),
         f"{where}: events queue grants on {g['Resource']}, queues {evq}")
    # the outputs: the topic and each worker's events.queue_url
    urls = [out.get(f"EventsQueueUrl{i}") for i in range(1, n + 1)]
    need(sorted(urls, key=str) == sorted(res_url(x) for x in evq) and
         not any(k.startswith("EventsQueueUrl") and int(k[len("EventsQueueUrl"):]) > n for k in out),
         f"{where}: outputs {names} / {urls}, queues {evq}")
    need(out.get("EventTopicArn") == tarn, f"{where}: EventTopicArn {out.get('EventTopicArn')}")


def worker_actions():
    with open(os.path.join(EX, "iam-policy.json")) as f:
        return {a for s in json.load(f)["Statement"] for a in as_list(s["Action"])}


# ---- the checks ---------------------------------------------------------------------
def t_parse(name):
    t = load(name)
    check_structure(t, name)


def t_refs(name):
    t = load(name)
    check_refs(t, name)
    check_no_cycle(t)


def t_params(name):
    check_parameter_samples(load(name), name)


def t_policies(name):
    rs, _ = renderings(name)
    for p, resources, _ in rs:
        for where, kind, doc in policy_docs(resources):
            try:
                check_policy(where, kind, doc)
            except Fail as e:
                raise Fail(f"{e} (with {p})")
    return f"{len(rs)} renderings"


def t_central(_):
    name = "org-central.yaml"
    rs, refused = renderings(name)
    need(refused > 0, "the IRSA rule refused nothing: eks-irsa without EksOidcProvider must fail")
    seen = set()
    for p, res, out in rs:
        no_config_resources(res, name)
        q, dlq = check_queue_and_alarm(load(name), res, name)
        qarn = f"arn:aws:sqs:eu-west-1:111122223333:{q}"
        # the worker role: region-unique name, exactly the chosen platform
        _, role = one_of(res, "AWS::IAM::Role")
        rp = role["Properties"]
        need(rp["RoleName"] == f"{p['WorkerRoleName']}-eu-west-1", f"RoleName {rp['RoleName']}")
        trust = statements(rp["AssumeRolePolicyDocument"])
        need(len(trust) == 1, f"{p['WorkerPlatform']}: {len(trust)} trust statements, want 1")
        s = trust[0]
        plat = p["WorkerPlatform"]
        seen.add(plat)
        if plat == "ec2":
            need(s["Principal"] == {"Service": "ec2.amazonaws.com"}, f"ec2 trust {s}")
            need("WorkerInstanceProfile" in res, "ec2: no instance profile")
        elif plat == "ecs":
            need(s["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}, f"ecs trust {s}")
            need(s["Condition"]["StringEquals"]["aws:SourceAccount"] == "111122223333", "ecs: SourceAccount")
        elif plat == "eks-pod-identity":
            need(s["Principal"] == {"Service": "pods.eks.amazonaws.com"}, f"pod identity trust {s}")
            need(set(as_list(s["Action"])) == {"sts:AssumeRole", "sts:TagSession"},
                 "pod identity needs sts:AssumeRole and sts:TagSession")
            c = s["Condition"]["StringEquals"]
            need(c.get("aws:RequestTag/kubernetes-namespace") == p["EksNamespace"] and
                 c.get("aws:RequestTag/kubernetes-service-account") == p["EksServiceAccount"],
                 f"pod identity: not limited to the service account: {c}")
        else:
            prov = p["EksOidcProvider"]
            need(s["Principal"] == {"Federated": f"arn:aws:iam::111122223333:oidc-provider/{prov}"},
                 f"irsa principal {s['Principal']}")
            need(s["Action"] == "sts:AssumeRoleWithWebIdentity", "irsa action")
            need(s["Condition"]["StringEquals"] == {
                f"{prov}:sub": f"system:serviceaccount:{p['EksNamespace']}:{p['EksServiceAccount']}",
                f"{prov}:aud": "sts.amazonaws.com"}, f"irsa condition {s['Condition']}")
        if plat != "ec2":
            need("WorkerInstanceProfile" not in res, f"{plat}: an instance profile")
        # its grants: the worker's, scoped
        pol = [x for pol in rp["Policies"] for x in pol["PolicyDocument"]["Statement"]]
        acts = {a for x in pol for a in as_list(x["Action"])}
        want = worker_actions() - ({"s3:GetObject"} if not p["ConfigBucketName"] else set())
        if p["ConfigBucketName"] and p["ConfigBucketKmsKeyArn"]:
            want |= {"kms:Decrypt"}
        if not p["LedgerTableName"]:
            want -= LEDGER_ACTIONS
        need(acts == want, f"worker actions {sorted(acts ^ want)} differ (with {p})")
        check_ledger(p, res, out, pol, name)
        check_event_stream(p, res, out, pol, name, q, dlq, bus=p["EventBusName"])
        for x in pol:
            for a in as_list(x["Action"]):
                if a == "sts:AssumeRole":
                    need(x["Condition"]["StringEquals"]["aws:ResourceOrgID"] == p["OrganizationId"],
                         "AssumeRole not limited to the organization")
                if a == "s3:GetObject":
                    need(x["Resource"] == f"arn:aws:s3:::{out['AllowedBuckets']}",
                         f"s3:GetObject on {x['Resource']}, AllowedBuckets {out['AllowedBuckets']}")
                    need(glob_match(out["AllowedBuckets"],
                                    f"{p['ConfigBucketName']}/{p['ConfigBucketPrefix']}AWSLogs/"
                                    "222233334444/Config/eu-west-1/2025/1/2/OversizedChangeNotification/"
                                    "AWS::EC2::SecurityGroup/sg-1/x.json.gz"),
                         "AllowedBuckets does not match where Config puts oversized items")
        # the bus, its policy and its rule to the queue
        _, bus = one_of(res, "AWS::Events::EventBus")
        _, bp = one_of(res, "AWS::Events::EventBusPolicy")
        st = bp["Properties"]["Statement"]
        need(st["Action"] == "events:PutEvents" and st["Principal"] == "*" and
             st["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": p["OrganizationId"]}},
             f"bus policy {st}")
        rule_name, rule = one_of(config_rules(res), "AWS::Events::Rule")
        r = rule["Properties"]
        need(r["EventBusName"] == bus["Properties"]["Name"], "the rule is not on the central bus")
        check_pattern(r["EventPattern"], "CentralRule")
        need([x["Arn"] for x in r["Targets"]] == [qarn], f"rule targets {r['Targets']}")
        _, qpol = policy_of_queue(res, q)
        allows = [x for x in qpol["Properties"]["PolicyDocument"]["Statement"] if x["Effect"] == "Allow"]
        rule_arn = f"arn:aws:events:eu-west-1:111122223333:rule/{bus['Properties']['Name']}/{rule_name}"
        ev = [x for x in allows if x["Principal"] == {"Service": "events.amazonaws.com"}]
        need(len(ev) == 1 and ev[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}},
             f"queue policy: events.amazonaws.com not limited to the central rule: {ev}")
        sns = [x for x in allows if x["Principal"] == {"Service": "sns.amazonaws.com"}]
        need(bool(sns) == bool(p["TopicArnPatterns"]), "queue policy: SNS statement iff TopicArnPatterns")
        direct = [x for x in allows if x["Principal"] == {"AWS": "*"}]
        need(bool(direct) == (p["AllowDirectQueueTargets"] == "true"),
             "queue policy: forwarder roles iff AllowDirectQueueTargets")
        need(len(allows) == 1 + len(sns) + len(direct), f"queue policy: unexpected Allow {allows}")
        # outputs
        need(out["QueueUrl"] == res_url(q) and out["EventBusArn"].endswith(":event-bus/whochanged"),
             f"outputs {out}")
        need(out["ReaderRoleArnTemplate"] == f"arn:aws:iam::{{account_id}}:role/{p['ReaderRoleName']}",
             "ReaderRoleArnTemplate")
        for k, v in of_type(res, "AWS::CloudWatch::Alarm").items():
            a = v["Properties"]
            want_actions = [p["AlarmTopicArn"]] if p["AlarmTopicArn"] else None
            need(a.get("AlarmActions") == want_actions and a.get("OKActions") == want_actions,
                 f"{k}: AlarmActions/OKActions {a.get('AlarmActions')}/{a.get('OKActions')} "
                 f"with AlarmTopicArn {p['AlarmTopicArn']!r}")
    need(seen == {"ec2", "ecs", "eks-pod-identity", "eks-irsa"}, f"platforms rendered: {seen}")
    return f"{len(rs)} renderings, {refused} refused by the Rules"


def res_url(q):
    return f"https://sqs.eu-west-1.amazonaws.com/111122223333/{q}"


def t_forwarder(_):
    name = "org-forwarder.yaml"
    rs, refused = renderings(name)
    need(refused > 0, "EventStream=true with TargetType=sqs must be refused (API calls on the Config queue)")
    for p, res, out in rs:
        no_config_resources(res, name)
        need(set(r["Type"] for r in res.values()) == {"AWS::IAM::Role", "AWS::Events::Rule"},
             f"resources {sorted(res)}")
        rule_name, rule = one_of(config_rules(res), "AWS::Events::Rule")
        r = rule["Properties"]
        need(r.get("EventBusName", "default") == "default", "the rule must be on the default bus")
        check_pattern(r["EventPattern"], "ForwarderRule")
        _, role = one_of(res, "AWS::IAM::Role")
        rp = role["Properties"]
        need(rp["RoleName"] == f"{p['ForwarderRoleName']}-eu-west-1", f"RoleName {rp['RoleName']}")
        role_arn = f"arn:aws:iam::111122223333:role/{rp['RoleName']}"
        need(r["Targets"] == [{"Id": r["Targets"][0]["Id"], "Arn": p["CentralTargetArn"],
                               "RoleArn": role_arn}], f"targets {r['Targets']}")
        # EventStream: a second rule, write API calls, to the same bus through the same role
        api = {k: v for k, v in res.items() if is_api_call_rule(v)}
        need(len(api) == (1 if p["EventStream"] == "true" else 0), f"API-call rules {sorted(api)} (with {p})")
        rules = [r]
        for k, v in api.items():
            a = v["Properties"]
            need(p["TargetType"] == "event-bus", f"{k}: API calls sent to {p['CentralTargetArn']}")
            need(a.get("EventBusName", "default") == "default", f"{k} must be on the default bus")
            check_api_call_pattern(a["EventPattern"], k)
            need(a["Targets"] == [{"Id": a["Targets"][0]["Id"], "Arn": p["CentralTargetArn"],
                                   "RoleArn": role_arn}], f"{k} targets {a['Targets']}")
            need(a["Name"] != r["Name"], f"{k}: the two rules share a name")
            rules.append(a)
        (s,) = statements(rp["AssumeRolePolicyDocument"])
        need(s["Principal"] == {"Service": "events.amazonaws.com"}, "forwarder trust principal")
        arns = sorted(f"arn:aws:events:eu-west-1:111122223333:rule/{x['Name']}" for x in rules)
        got = s["Condition"]["ArnEquals"]["aws:SourceArn"]
        need(sorted(as_list(got)) == arns, f"the trust names {got}, the rules are {arns}")
        (g,) = [x for pol in rp["Policies"] for x in pol["PolicyDocument"]["Statement"]]
        want = "sqs:SendMessage" if p["TargetType"] == "sqs" else "events:PutEvents"
        need(g["Action"] == want and g["Resource"] == p["CentralTargetArn"],
             f"forwarder grant {g} (with {p})")
    return f"{len(rs)} renderings"


def t_reader(_):
    name = "org-reader-role.yaml"
    rs, _ = renderings(name)
    for p, res, out in rs:
        no_config_resources(res, name)
        _, role = one_of(res, "AWS::IAM::Role")
        rp = role["Properties"]
        need(rp["RoleName"] == p["ReaderRoleName"], "the reader role's name is the same everywhere")
        (s,) = statements(rp["AssumeRolePolicyDocument"])
        need(s["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}, f"principal {s['Principal']}")
        c = s["Condition"]
        need(c["ArnEquals"] == {"aws:PrincipalArn": p["WorkerRoleArn"]}, f"not the worker role: {c}")
        need(c["StringEquals"].get("aws:PrincipalOrgID") == p["OrganizationId"], "no aws:PrincipalOrgID")
        need(c["StringEquals"].get("sts:ExternalId", "") == p["ExternalId"], "sts:ExternalId iff ExternalId")
        acts = {a for pol in rp["Policies"] for x in pol["PolicyDocument"]["Statement"]
                for a in as_list(x["Action"])}
        reads = {a for a in acts if a.startswith("config:")}
        need("cloudtrail:LookupEvents" in acts and acts - reads == {"cloudtrail:LookupEvents"},
             f"reader actions {acts}")
        need(bool(reads) == (p["AllowConfigReads"] == "true"), "config reads iff AllowConfigReads")
    return f"{len(rs)} renderings"


def t_topic(_):
    name = "org-topic.yaml"
    rs, _ = renderings(name)
    for p, res, out in rs:
        no_config_resources(res, name)
        _, topic = one_of(res, "AWS::SNS::Topic")
        need("KmsMasterKeyId" not in topic["Properties"], "AWS Config cannot publish to an encrypted topic")
        _, pol = one_of(res, "AWS::SNS::TopicPolicy")
        allows = [x for x in pol["Properties"]["PolicyDocument"]["Statement"] if x["Effect"] == "Allow"]
        cfg = [x for x in allows if x["Principal"] == {"Service": "config.amazonaws.com"}]
        need(len(cfg) == 1 and cfg[0]["Action"] == "sns:Publish" and
             cfg[0]["Condition"] == {"StringEquals": {"aws:SourceOrgID": p["OrganizationId"]}},
             f"config.amazonaws.com statement {cfg}")
        roles = [x for x in allows if x is not cfg[0]]
        need(bool(roles) == bool(p["ConfigRoleName"]), "a role statement iff ConfigRoleName")
        for x in roles:
            need(x["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": p["OrganizationId"]},
                 "role statement without aws:PrincipalOrgID")
        _, sub = one_of(res, "AWS::SNS::Subscription")
        sp = sub["Properties"]
        need(sp["Protocol"] == "sqs" and sp["Endpoint"] == p["CentralQueueArn"] and
             sp["RawMessageDelivery"] is False, f"subscription {sp}")
    return f"{len(rs)} renderings"


def t_single(_):
    name = "cloudformation.yaml"
    t = load(name)
    need(t["Parameters"]["CreateDeliveryChannel"]["Default"] == "false",
         "CreateDeliveryChannel must default to false (a region has one channel, usually made already)")
    rs, _ = renderings(name)
    for p, res, out in rs:
        q, dlq = check_queue_and_alarm(t, res, name)
        _, role = one_of(res, "AWS::IAM::Role")
        need(role["Properties"]["RoleName"] == f"{p['WorkerRoleName']}-eu-west-1",
             "the worker role's name must be region-unique")
        dcs = of_type(res, "AWS::Config::DeliveryChannel")
        need(bool(dcs) == (p["CreateDeliveryChannel"] == "true"),
             "a delivery channel exactly when CreateDeliveryChannel=true")
        pol = [x for pl in role["Properties"]["Policies"] for x in pl["PolicyDocument"]["Statement"]]
        acts = {a for x in pol for a in as_list(x["Action"])}
        want = worker_actions() - (set() if p["LedgerTableName"] else LEDGER_ACTIONS)
        need(acts == want, f"worker actions {sorted(acts ^ want)} differ (with {p})")
        check_ledger(p, res, out, pol, name)
        check_event_stream(p, res, out, pol, name, q, dlq)
    with open(os.path.join(EX, "iam-reader-trust-policy.json")) as f:
        principal = json.load(f)["Statement"][0]["Principal"]["AWS"]
    need(principal.endswith(":role/whochanged-worker-eu-west-1"),
         f"iam-reader-trust-policy.json names {principal}, not the stack's region-unique role")
    return f"{len(rs)} renderings"


def t_across(_):
    """Names and ARNs one template hands to another agree."""
    central, fwd, reader, topic = (load(n) for n in ("org-central.yaml", "org-forwarder.yaml",
                                                      "org-reader-role.yaml", "org-topic.yaml"))
    cp = central["Parameters"]
    need(cp["ForwarderRoleName"]["Default"] == fwd["Parameters"]["ForwarderRoleName"]["Default"],
         "ForwarderRoleName defaults differ")
    need(cp["ReaderRoleName"]["Default"] == reader["Parameters"]["ReaderRoleName"]["Default"],
         "ReaderRoleName defaults differ")
    # central outputs -> the others' parameters
    for p, res, out in renderings("org-central.yaml")[0][:8]:
        pat = fwd["Parameters"]["CentralTargetArn"]["AllowedPattern"]
        for k in ("EventBusArn", "QueueArn"):
            need(re.fullmatch(pat, out[k]), f"central {k} {out[k]} refused by the forwarder")
        need(re.fullmatch(reader["Parameters"]["WorkerRoleArn"]["AllowedPattern"], out["WorkerRoleArn"]),
             f"WorkerRoleArn {out['WorkerRoleArn']} refused by the reader template")
        need(re.fullmatch(topic["Parameters"]["CentralQueueArn"]["AllowedPattern"], out["QueueArn"]),
             "QueueArn refused by the topic template")
        # the worker may assume the reader role of a member account
        (assume,) = [x for pol in one_of(res, "AWS::IAM::Role")[1]["Properties"]["Policies"]
                     for x in pol["PolicyDocument"]["Statement"] if x["Action"] == "sts:AssumeRole"]
        member_reader = out["ReaderRoleArnTemplate"].replace("{account_id}", "444455556666")
        need(glob_match(assume["Resource"], member_reader), f"{assume['Resource']} !~ {member_reader}")
    # forwarder role (in a member account) passes the central queue policy's direct statement
    p = next(p for p, _, _ in renderings("org-central.yaml")[0]
             if p["AllowDirectQueueTargets"] == "true" and p["EventStream"] == "true")
    res = Renderer(central, p).resources()
    (direct,) = [x for x in policy_of_queue(res, the_queue(res))[1]["Properties"]["PolicyDocument"]
                 ["Statement"] if x["Principal"] == {"AWS": "*"}]
    fp = next(p for p, _, _ in renderings("org-forwarder.yaml")[0] if p["TargetType"] == "sqs")
    fres = Renderer(fwd, fp).resources()
    fname = one_of(fres, "AWS::IAM::Role")[1]["Properties"]["RoleName"]
    need(glob_match(direct["Condition"]["ArnLike"]["aws:PrincipalArn"],
                    f"arn:aws:iam::444455556666:role/{fname}"), "the forwarder role is not admitted")
    # the event stream: off by default everywhere; the forwarder's API-call
    # rule feeds the central one, which passes on what it sends
    single = load("cloudformation.yaml")
    for t, n in ((central, "org-central.yaml"), (fwd, "org-forwarder.yaml"), (single, "cloudformation.yaml")):
        need(t["Parameters"]["EventStream"]["Default"] == "false", f"{n}: EventStream must default to false")
    fp = next(p for p, _, _ in renderings("org-forwarder.yaml")[0] if p["EventStream"] == "true")
    (fapi,) = [v for v in Renderer(fwd, fp).resources().values() if is_api_call_rule(v)]
    (capi,) = [v for v in res.values() if is_api_call_rule(v)]
    need(fapi["Properties"]["EventPattern"] == capi["Properties"]["EventPattern"],
         "the forwarder's and the central bus's API-call patterns differ")
    need(fapi["Properties"]["Targets"][0]["Arn"] == GOOD["CentralTargetArn"][0] and
         Renderer(central, p).outputs()["EventBusArn"].endswith(":event-bus/" + capi["Properties"]["EventBusName"]),
         "the forwarder's API calls do not reach the bus the central API-call rule is on")
    # org-topic's topics (any region) pass the central TopicArnPatterns sample
    tarn = Renderer(topic, next(p for p, _, _ in renderings("org-topic.yaml")[0])).ref("Topic")
    need(any(glob_match(pat, tarn.replace("eu-west-1", "us-east-1")) for pat in GOOD["TopicArnPatterns"]),
         f"{tarn} is not matched by TopicArnPatterns {GOOD['TopicArnPatterns']}")


def t_cfn_lint(name):
    exe = shutil.which("cfn-lint")
    if not exe:
        return "SKIP cfn-lint not installed"
    r = subprocess.run([exe, os.path.join(EX, name)], capture_output=True, text=True, timeout=180)
    need(r.returncode == 0, f"cfn-lint: {r.stdout}{r.stderr}")


# ---- run them -------------------------------------------------------------------------
def main():
    names = templates()
    checks = []
    for n in names:
        checks += [
            (f"{n}: parses (CloudFormation tags); sections, parameters, known resource types, "
             "properties", t_parse, n),
            (f"{n}: every Ref/GetAtt/Sub/condition/DependsOn resolves; no dependency cycle", t_refs, n),
            (f"{n}: realistic parameter values accepted, bad ones refused", t_params, n),
            (f"{n}: every IAM policy document well formed in every parameter combination",
             t_policies, n),
            (f"{n}: cfn-lint accepts it", t_cfn_lint, n),
        ]
    expected = {"cloudformation.yaml", "org-central.yaml", "org-forwarder.yaml",
                "org-reader-role.yaml", "org-topic.yaml"}
    checks += [
        ("single-account stack: CreateDeliveryChannel false, region-unique role, DLQ alarm, "
         "the worker's grants, the ledger table iff named, the event stream iff asked", t_single, None),
        ("org-central: queue, DLQ alarm, bus, rule, region-unique worker role per platform, "
         "the ledger table iff named, the event stream (topic, a queue per worker) iff asked",
         t_central, None),
        ("org-forwarder: Config change events (and with EventStream write API calls) to the "
         "central target, no Config resource", t_forwarder, None),
        ("org-reader-role: LookupEvents, trust limited to the worker role and the organization",
         t_reader, None),
        ("org-topic: config.amazonaws.com with aws:SourceOrgID, subscribed to the queue",
         t_topic, None),
        ("the templates agree on names and ARNs", t_across, None),
    ]
    print(f"1..{len(checks) + 1}")
    failed = 0
    ok = set(names) >= expected
    print(f"{'ok' if ok else 'not ok'} 1 - examples/ holds the templates {sorted(expected)}")
    if not ok:
        failed += 1
        print(f"# found {names}")
    for i, (desc, fn, arg) in enumerate(checks, start=2):
        try:
            note = fn(arg)
        except Fail as e:
            failed += 1
            print(f"not ok {i} - {desc}")
            for line in str(e).splitlines():
                print(f"# {line}")
            continue
        except Exception as e:  # a bug here, or a template shaped unexpectedly
            failed += 1
            print(f"not ok {i} - {desc}")
            print(f"# {type(e).__name__}: {e}")
            continue
        if isinstance(note, str) and note.startswith("SKIP"):
            print(f"ok {i} - {desc} # {note}")
        else:
            print(f"ok {i} - {desc}" + (f" ({note})" if note else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

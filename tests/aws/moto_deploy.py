"""Deploy a synthesized CDK template into a moto server: CloudFormation where moto can, the API where not.

moto's CloudFormation creates the VPC, IAM, S3, SQS, DynamoDB, Lambda, SNS and alarm
resources of the template, but not AWS Batch's, and a state machine it creates is never
executed. So the deployment has three steps:

1. a stack of every resource except those (:data:`API_TYPES`) and the resources that
   refer to them, with an output for each value they need from it;
2. the Batch compute environment, job queue and job definition and the state machine,
   created through their APIs from the template's properties, translated by the botocore
   model (``ContainerProperties.Environment[].Name`` -> ``containerProperties.environment[].name``)
   and with every ``Ref``/``Fn::GetAtt`` replaced by the created resource's value;
3. a second stack of the resources that referred to them (the state machine role's
   policy, the failed-executions alarm), with those references replaced the same way.

Any property or intrinsic function this does not know fails the deployment, naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

API_TYPES = ("AWS::Batch::ComputeEnvironment", "AWS::Batch::JobQueue", "AWS::Batch::JobDefinition",
             "AWS::StepFunctions::StateMachine")
"""Created through the API, in this order."""

PSEUDO = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws",
          "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": None}

# CloudFormation-only properties: how to replace a resource, not what it is
_CFN_ONLY = {"AWS::Batch::ComputeEnvironment": {"ReplaceComputeEnvironment", "UpdatePolicy"}}
# the API's name for a property whose name differs
_RENAMED = {"AWS::StepFunctions::StateMachine": {"DefinitionString": "definition", "StateMachineType": "type"}}

Leaf = tuple[str, str | None]
"""A reference: (logical id, attribute) for ``Fn::GetAtt``, (logical id, None) for ``Ref``."""


class DeployError(Exception):
    """The template holds something this deployer cannot translate (named in the message)."""


# ----------------------------------------------------------------------------- references
_SUB_VAR = re.compile(r"\$\{([^!}][^}]*)\}")


def leaves(obj: Any) -> Iterator[Leaf]:
    """Every resource reference in ``obj`` (pseudo parameters excluded)."""
    if isinstance(obj, dict):
        if len(obj) == 1:
            (k, v), = obj.items()
            if k == "Ref" and isinstance(v, str):
                if v not in PSEUDO:
                    yield (v, None)
                return
            if k == "Fn::GetAtt":
                parts = v.split(".", 1) if isinstance(v, str) else v
                yield (parts[0], parts[1])
                return
            if k == "Fn::Sub":
                text, variables = (v, {}) if isinstance(v, str) else v
                for name in _SUB_VAR.findall(text):
                    if name not in variables and name not in PSEUDO:
                        base, _, attr = name.partition(".")
                        yield (base, attr or None)
                yield from leaves(variables)
                return
        for v in obj.values():
            yield from leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from leaves(v)


def refers_to(resource: dict[str, Any]) -> set[str]:
    """Logical ids a resource needs: its references and its DependsOn."""
    deps = resource.get("DependsOn", [])
    return {k for k, _ in leaves(resource.get("Properties", {}))} | set([deps] if isinstance(deps, str) else deps)


def substitute(obj: Any, values: dict[Leaf, str]) -> Any:
    """``obj`` with each reference found in ``values`` replaced by its value; others left as they are."""
    if isinstance(obj, dict):
        if len(obj) == 1:
            (k, v), = obj.items()
            if k == "Ref" and (v, None) in values:
                return values[(v, None)]
            if k == "Fn::GetAtt":
                parts = v.split(".", 1) if isinstance(v, str) else v
                if (parts[0], parts[1]) in values:
                    return values[(parts[0], parts[1])]
            if k == "Fn::Sub":
                text, variables = (v, {}) if isinstance(v, str) else v

                def repl(m: re.Match) -> str:
                    base, _, attr = m.group(1).partition(".")
                    return values.get((base, attr or None), m.group(0)) if m.group(1) not in variables else m.group(0)

                text = _SUB_VAR.sub(repl, text)
                return {"Fn::Sub": text if isinstance(v, str) else [text, substitute(variables, values)]}
        return {k: substitute(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [substitute(v, values) for v in obj]
    return obj


def evaluate(obj: Any) -> Any:
    """Evaluate what is left after :func:`substitute`: pseudo parameters, Join, Sub, Select."""
    if isinstance(obj, list):
        return [evaluate(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (k, v), = obj.items()
        if k == "Ref":
            if v in PSEUDO:
                return PSEUDO[v]
            raise DeployError(f"unresolved reference {{'Ref': {v!r}}}")
        if k == "Fn::GetAtt":
            raise DeployError(f"unresolved reference {{'Fn::GetAtt': {v!r}}}")
        if k == "Fn::Join":
            sep, parts = v
            return sep.join(str(evaluate(p)) for p in evaluate(parts))
        if k == "Fn::Sub":
            text, variables = (v, {}) if isinstance(v, str) else v
            variables = {n: evaluate(x) for n, x in variables.items()}

            def repl(m: re.Match) -> str:
                name = m.group(1)
                if name in variables:
                    return str(variables[name])
                if name in PSEUDO:
                    return str(PSEUDO[name])
                raise DeployError(f"unresolved ${{{name}}} in Fn::Sub {text!r}")

            return _SUB_VAR.sub(repl, text)
        if k == "Fn::Select":
            index, items = v
            return evaluate(items)[int(evaluate(index))]
        if k.startswith("Fn::"):
            raise DeployError(f"intrinsic function {k} is not evaluated here")
    return {k: evaluate(v) for k, v in obj.items()}


# ----------------------------------------------------------------------------- translation
def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def to_api(value: Any, shape: Shape, where: str) -> Any:
    """A CloudFormation property value as the API's request value, following the botocore shape."""
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise DeployError(f"{where}: expected a mapping for {shape.name}")
        members = {_snake(m).replace("_", ""): m for m in shape.members}
        out = {}
        for k, v in value.items():
            m = members.get(_snake(k).replace("_", ""))
            if m is None:
                raise DeployError(f"{where}.{k}: no such member of {shape.name} (members: {', '.join(shape.members)})")
            out[m] = to_api(v, shape.members[m], f"{where}.{k}")
        return out
    if isinstance(shape, ListShape):
        return [to_api(v, shape.member, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(shape, MapShape):
        return {k: to_api(v, shape.value, f"{where}.{k}") for k, v in value.items()}
    if shape.type_name == "string" and shape.enum and isinstance(value, str):
        match = [e for e in shape.enum if e.lower() == value.lower()]
        return match[0] if match else value
    if shape.type_name in ("integer", "long"):
        return int(value)
    if shape.type_name == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return value


def api_request(client: Any, operation: str, type_: str, props: dict[str, Any], **fixed: Any) -> dict[str, Any]:
    """The request for ``operation`` from a resource's (evaluated) properties, plus ``fixed`` parameters."""
    shape = client.meta.service_model.operation_model(operation).input_shape
    renamed = _RENAMED.get(type_, {})
    props = {renamed.get(k, k): v for k, v in props.items() if k not in _CFN_ONLY.get(type_, ())}
    return dict(to_api(props, shape, type_), **fixed)


# ----------------------------------------------------------------------------- deployment
@dataclass
class Deployment:
    """What was created, by logical id; ``outputs`` are the template's own."""

    stack_name: str
    template: dict[str, Any]
    outputs: dict[str, str] = field(default_factory=dict)
    values: dict[Leaf, str] = field(default_factory=dict)
    """Ref and GetAtt values of every created resource that anything referred to."""
    via_api: dict[str, str] = field(default_factory=dict)
    """Logical id -> ARN of the resources created through the API."""
    stacks: tuple[str, ...] = ()

    def of_type(self, type_: str) -> list[str]:
        return [k for k, r in self.template["Resources"].items() if r["Type"] == type_]

    @property
    def state_machine_arn(self) -> str:
        (sm,) = self.of_type("AWS::StepFunctions::StateMachine")
        return self.via_api[sm]


def _api_order(resources: dict[str, dict[str, Any]], api: set[str]) -> list[str]:
    order: list[str] = []
    while len(order) < len(api):
        ready = sorted(k for k in api - set(order) if refers_to(resources[k]) & api <= set(order))
        if not ready:
            raise DeployError(f"circular references among {sorted(api - set(order))}")
        order += sorted(ready, key=lambda k: API_TYPES.index(resources[k]["Type"]))
    return order


def _create_stack(cfn: Any, name: str, template: dict[str, Any]) -> dict[str, str]:
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
        why = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events if "FAILED" in e["ResourceStatus"]]
        raise DeployError(f"stack {name}: {stack['StackStatus']} {why}")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _batch_service_role(iam: Any) -> str:
    """The service-linked role Batch creates in an account on first use (moto's Batch asks for one)."""
    found = iam.list_roles(PathPrefix="/aws-service-role/batch.amazonaws.com/")["Roles"]
    if found:
        return found[0]["Arn"]
    return iam.create_service_linked_role(AWSServiceName="batch.amazonaws.com")["Role"]["Arn"]


def deploy(session: Any, endpoint: str, stack_name: str, template: dict[str, Any]) -> Deployment:
    """Create ``template`` in the moto server at ``endpoint`` as described in the module docstring."""
    def client(name: str) -> Any:
        return session.client(name, endpoint_url=endpoint)

    cfn, batch, sfn, iam = client("cloudformation"), client("batch"), client("stepfunctions"), client("iam")
    resources: dict[str, dict[str, Any]] = template["Resources"]
    api = {k for k, r in resources.items() if r["Type"] in API_TYPES}
    after: set[str] = set()  # resources referring (directly or not) to the API-created ones
    while True:
        more = {k for k, r in resources.items() if k not in api | after and refers_to(r) & (api | after)}
        if not more:
            break
        after |= more
    first = {k: r for k, r in resources.items() if k not in api | after}
    needed = sorted({leaf for k in api | after for leaf in leaves(resources[k].get("Properties", {}))
                     if leaf[0] in first}, key=str)
    outputs = {k: o for k, o in template.get("Outputs", {}).items() if not refers_to({"Properties": o}) - set(first)}
    leaf_outputs = {f"Leaf{i}": {"Value": {"Ref": k} if a is None else {"Fn::GetAtt": [k, a]}}
                    for i, (k, a) in enumerate(needed)}
    # the CDK bootstrap version check (a Parameter read from SSM and a Rule) is about the
    # deploying account's bootstrap stack, not a resource of this one
    body = {"Resources": first, "Outputs": {**outputs, **leaf_outputs}}
    got = _create_stack(cfn, stack_name, body)
    dep = Deployment(stack_name, template, outputs={k: got[k] for k in outputs}, stacks=(stack_name,))
    dep.values = {leaf: got[f"Leaf{i}"] for i, leaf in enumerate(needed)}

    service_role = _batch_service_role(iam)
    for k in _api_order(resources, api):
        r = resources[k]
        props = evaluate(substitute(r.get("Properties", {}), dep.values))
        name = f"{stack_name}-{k}"
        if r["Type"] == "AWS::Batch::ComputeEnvironment":
            arn = batch.create_compute_environment(**api_request(
                batch, "CreateComputeEnvironment", r["Type"], props, computeEnvironmentName=name,
                serviceRole=service_role))["computeEnvironmentArn"]
            dep.values[(k, "ComputeEnvironmentArn")] = arn
        elif r["Type"] == "AWS::Batch::JobQueue":
            arn = batch.create_job_queue(**api_request(batch, "CreateJobQueue", r["Type"], props,
                                                       jobQueueName=name))["jobQueueArn"]
            dep.values[(k, "JobQueueArn")] = arn
        elif r["Type"] == "AWS::Batch::JobDefinition":
            arn = batch.register_job_definition(**api_request(batch, "RegisterJobDefinition", r["Type"], props,
                                                              jobDefinitionName=name))["jobDefinitionArn"]
        else:
            arn = sfn.create_state_machine(**api_request(sfn, "CreateStateMachine", r["Type"], props,
                                                         name=name))["stateMachineArn"]
            dep.values[(k, "Arn")] = arn
            dep.values[(k, "Name")] = name
        dep.values[(k, None)] = arn  # Ref of each of these types is its ARN
        dep.via_api[k] = arn

    if after:
        second = {k: substitute(resources[k], dep.values) for k in after}
        for k, r in second.items():
            if isinstance(r.get("DependsOn"), list):
                r["DependsOn"] = [d for d in r["DependsOn"] if d in after]
        _create_stack(cfn, f"{stack_name}-after", {"Resources": second})
        dep.stacks += (f"{stack_name}-after",)
    dep.outputs.update({k: evaluate(substitute(o, dep.values))["Value"] for k, o in template.get("Outputs", {}).items()
                        if k not in dep.outputs})
    return dep

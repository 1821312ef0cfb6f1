"""The run's Lambda functions (Enumerate, Verify, Summary): one container image from ``functions/``.

A zip cannot hold them: ``statscore``'s planning imports datacube, numba/llvmlite, pandas,
rasterio, shapely and pyproj, about 0.7 GB installed against Lambda's 250 MB unzipped limit
for a zip (du of the venv: llvmlite 173 MB, rasterio+libs 119, pandas 81, numpy+libs 66,
numba 34, pyproj+libs 35, sqlalchemy 24, zstandard 23 ...). A container image may be 10 GB.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .assets import CONTEXT_EXCLUDE, IGNORE_MODE, ROOT
from .settings import Settings

HANDLERS = {"Enumerate": "functions.handlers.enumerate", "Verify": "functions.handlers.verify",
            "Summary": "functions.handlers.summary"}


class RunFunctions(Construct):
    """Three functions sharing one image; each has its own role, granted in the Stack."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings, environment: dict[str, str],
                 log_groups: dict[str, logs.ILogGroup], vpc: ec2.IVpc | None = None,
                 vpc_subnets: ec2.SubnetSelection | None = None) -> None:
        super().__init__(scope, id)
        self.security_group: ec2.SecurityGroup | None = None
        if settings.dataset_source == "datacube":
            assert vpc is not None, "a datacube source needs the VPC"
            self.security_group = ec2.SecurityGroup(self, "DatabaseClients", vpc=vpc,
                                                    description="Run functions: out to the datacube database")
            if settings.db_security_group_id:
                db_sg = ec2.SecurityGroup.from_security_group_id(self, "Database", settings.db_security_group_id,
                                                                 mutable=True)
                db_sg.add_ingress_rule(self.security_group, ec2.Port.tcp(5432), "statscore run functions")
        self.functions: dict[str, lambda_.DockerImageFunction] = {}
        for name, handler in HANDLERS.items():
            role = iam.Role(self, f"{name}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                            description=f"statscore {name} function")
            log_groups[name].grant_write(role)
            if self.security_group is not None:
                _allow_vpc_networking(role)
            fn = lambda_.DockerImageFunction(
                self, name, role=role,
                code=lambda_.DockerImageCode.from_image_asset(
                    str(ROOT), file="functions/Dockerfile", cmd=[handler],
                    exclude=CONTEXT_EXCLUDE, ignore_mode=IGNORE_MODE),
                memory_size=settings.function_memory_mib,
                timeout=Duration.minutes(settings.function_timeout_minutes if name == "Enumerate" else 5),
                architecture=lambda_.Architecture.X86_64,
                environment=environment, log_group=log_groups[name],
                tracing=lambda_.Tracing.ACTIVE,
                vpc=vpc if self.security_group is not None else None,
                vpc_subnets=vpc_subnets if self.security_group is not None else None,
                security_groups=[self.security_group] if self.security_group is not None else None)
            self.functions[name] = fn

    @property
    def enumerate(self) -> lambda_.DockerImageFunction:
        return self.functions["Enumerate"]

    @property
    def verify(self) -> lambda_.DockerImageFunction:
        return self.functions["Verify"]

    @property
    def summary(self) -> lambda_.DockerImageFunction:
        return self.functions["Summary"]


def _allow_vpc_networking(role: iam.Role) -> None:
    """What AWSLambdaVPCAccessExecutionRole grants, inline: ENIs cannot be named before they exist."""
    role.add_to_policy(iam.PolicyStatement(
        actions=["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
                 "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
        resources=["*"]))


def function_environment(settings: Settings, *, table: str, queue_url: str, cache_bucket: str,
                         output_location: str) -> dict[str, str]:
    """Environment of the run functions: what ``statscore.orchestration.RunSettings.from_env`` reads."""
    env = {
        "TASK_TABLE": table, "QUEUE_URL": queue_url, "CACHE_BUCKET": cache_bucket,
        "CACHE_PREFIX": settings.cache_prefix, "OUTPUT_LOCATION": output_location,
        "GRID": settings.grid, "FREQUENCY": settings.frequency, "INPUT_PRODUCTS": settings.input_products,
        "DATASET_SOURCE": settings.dataset_source, "TASKS_PER_WORKER": str(settings.tasks_per_worker),
        "ARRAY_SIZE_CAP": str(settings.array_size_cap), "VERIFY_MAX_ROUNDS": str(settings.verify_max_rounds),
        "RUN_CONFIG": json.dumps(settings.run_config(output_location), sort_keys=True),
        "NUMBA_CACHE_DIR": "/tmp/numba",
    }
    if settings.stac_location:
        env["STAC_LOCATION"] = settings.stac_location
    if settings.dataset_source == "stac-api":
        env.update(STAC_API_URL=settings.stac_api_url or "", STAC_COLLECTIONS=",".join(settings.collections),
                   SOURCE_PROFILE=settings.profile, STAC_FILTER=json.dumps(settings.stac_filter or {}))
    if settings.db_secret_arn:
        env["DB_SECRET_ARN"] = settings.db_secret_arn
    return env

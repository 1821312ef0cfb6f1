"""The run's Lambda functions (Enumerate, Verify, Summary): one container image from ``functions/``.

A zip cannot hold them: ``statscore``'s planning imports datacube, numba/llvmlite, pandas,
rasterio, shapely and pyproj, about 0.7 GB installed against Lambda's 250 MB unzipped limit
for a zip (du of the venv: llvmlite 173 MB, rasterio+libs 119, pandas 81, numpy+libs 66,
numba 34, pyproj+libs 35, sqlalchemy 24, zstandard 23 ...). A container image may be 10 GB.
"""

from __future__ import annotations

import json

from aws_cdk import Aws, Duration, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .assets import CONTEXT_EXCLUDE, IGNORE_MODE, ROOT
from .settings import Settings

SSM_STANDARD_MAX = 4096
"""Bytes a Standard-tier SSM parameter holds; larger run configs use the Advanced tier (8 KB)."""

HANDLERS = {"Enumerate": "functions.handlers.enumerate", "Verify": "functions.handlers.verify",
            "Summary": "functions.handlers.summary"}


class RunFunctions(Construct):
    """Three functions sharing one image; each has its own role, granted in the Stack.

    The run config (plugin, product, cog options...) is an SSM parameter the functions read at
    start, not an environment variable: Lambda allows 4 KB for all variables together.
    """

    def __init__(self, scope: Construct, id: str, *, settings: Settings, environment: dict[str, str],
                 run_config: dict, log_groups: dict[str, logs.ILogGroup], vpc: ec2.IVpc | None = None,
                 vpc_subnets: ec2.SubnetSelection | None = None) -> None:
        super().__init__(scope, id)
        text = json.dumps(run_config, sort_keys=True)
        self.run_config = ssm.StringParameter(
            self, "RunConfig", string_value=text, description="statscore run config (JSON) of the run functions",
            parameter_name=f"/statscore/{Aws.STACK_NAME}/run-config", simple_name=False,  # where a user looks for it
            tier=ssm.ParameterTier.STANDARD if len(text.encode()) <= SSM_STANDARD_MAX else ssm.ParameterTier.ADVANCED)
        environment = dict(environment, RUN_CONFIG_PARAMETER=self.run_config.parameter_name)
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
            self.run_config.grant_read(role)
            if self.security_group is not None:
                _allow_vpc_networking(role)
            fn = lambda_.DockerImageFunction(
                self, name, role=role,
                code=lambda_.DockerImageCode.from_image_asset(
                    str(ROOT), file="functions/Dockerfile", cmd=[handler], platform=ecr_assets.Platform.LINUX_AMD64,
                    exclude=CONTEXT_EXCLUDE, ignore_mode=IGNORE_MODE),
                memory_size=settings.function_memory_mib,
                # Enumerate builds the task cache (datasets and all) in /tmp: 512 MB is too small for a continent
                ephemeral_storage_size=Size.mebibytes(settings.function_ephemeral_storage_mib if name == "Enumerate"
                                                      else 512),
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
    """Environment of the run functions: what ``statscore.orchestration.RunSettings.from_env`` reads
    (with RUN_CONFIG_PARAMETER, added by :class:`RunFunctions`)."""
    env = {
        "TASK_TABLE": table, "QUEUE_URL": queue_url, "CACHE_BUCKET": cache_bucket,
        "CACHE_PREFIX": settings.cache_prefix, "OUTPUT_LOCATION": output_location,
        "GRID": settings.grid, "FREQUENCY": settings.frequency, "INPUT_PRODUCTS": settings.input_products,
        "DATASET_SOURCE": settings.dataset_source, "TASKS_PER_WORKER": str(settings.tasks_per_worker),
        # no more workers than can run at once (Batch would hold the rest RUNNABLE until the queue is empty)
        "ARRAY_SIZE_CAP": str(settings.worker_cap), "VERIFY_MAX_ROUNDS": str(settings.verify_max_rounds),
        "TASK_TIMEOUT_SECONDS": str(settings.task_timeout_minutes * 60), "JOB_ATTEMPTS": str(settings.retry_attempts),
        "NUMBA_CACHE_DIR": "/tmp/numba",
        **settings.usage_environment(),
    }
    if settings.stac_location:
        env["STAC_LOCATION"] = settings.stac_location
    if settings.dataset_source == "stac-api":
        env.update(STAC_API_URL=settings.stac_api_url or "", STAC_COLLECTIONS=",".join(settings.collections),
                   SOURCE_PROFILE=settings.profile, STAC_FILTER=json.dumps(settings.stac_filter or {}),
                   PLAN_IN_BATCH_ABOVE_ITEMS=str(settings.plan_in_batch_above_items))
    if settings.db_secret_arn:
        env["DB_SECRET_ARN"] = settings.db_secret_arn
    if settings.request_payer:
        env["AWS_REQUEST_PAYER"] = "requester"  # STAC documents in a requester-pays bucket
    return env

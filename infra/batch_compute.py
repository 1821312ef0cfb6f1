"""AWS Batch on EC2: managed compute environment, job queue, worker job definition from ``batch_image/``."""

from __future__ import annotations

import json

from aws_cdk import Duration, Size
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from .assets import CONTEXT_EXCLUDE, IGNORE_MODE, ROOT
from .nag import acknowledge
from .settings import Settings


GDAL_ENV = {
    # an open reads the file, never lists its folder (an S3 LIST per COG, slow on large prefixes)
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # S3 answers 503 SlowDown and 500s under load: retry with backoff instead of failing the task
    "GDAL_HTTP_MAX_RETRY": "10",
    "GDAL_HTTP_RETRY_DELAY": "1",
}
"""GDAL's cloud settings for every worker (the defaults suit S3 COGs; not a setting)."""

ROOT_DEVICE = "/dev/xvda"
"""Root device of the ECS-optimized Amazon Linux 2023 AMI."""


class BatchCompute(Construct):
    """Workers as Batch jobs: each runs ``odc-stats run --from-sqs`` until the queue stays empty.

    Threads and memory limit of the worker are the job's vCPUs and memory (less 5% for the
    runtime), so one setting sizes both the container and the kernels' block budget.
    """

    def __init__(self, scope: Construct, id: str, *, settings: Settings, vpc: ec2.IVpc,
                 vpc_subnets: ec2.SubnetSelection, log_group: logs.ILogGroup, environment: dict[str, str]) -> None:
        super().__init__(scope, id)
        self.security_group = ec2.SecurityGroup(self, "Workers", vpc=vpc, description="statscore Batch workers",
                                                allow_all_outbound=True)
        # IMDSv2 only, hop limit 1: the ECS agent (host network) reaches the instance metadata, the
        # worker containers (bridge network, one hop more) cannot, so they use their job role only.
        # Batch merges this template with its own settings (AMI, instance profile, user data).
        self.launch_template = ec2.LaunchTemplate(
            self, "Instances", require_imdsv2=True, http_tokens=ec2.LaunchTemplateHttpTokens.REQUIRED,
            http_put_response_hop_limit=1, http_endpoint=True,
            block_devices=[ec2.BlockDevice(device_name=ROOT_DEVICE, volume=ec2.BlockDeviceVolume.ebs(
                settings.root_volume_gib, volume_type=ec2.EbsDeviceVolumeType.GP3, encrypted=True,
                delete_on_termination=True))])
        self.compute_environment = batch.ManagedEc2EcsComputeEnvironment(
            self, "Compute", vpc=vpc, vpc_subnets=vpc_subnets, security_groups=[self.security_group],
            instance_types=[ec2.InstanceType(t) for t in settings.instance_types],
            use_optimal_instance_classes=False,
            spot=settings.spot, spot_bid_percentage=settings.spot_bid_percentage if settings.spot else None,
            allocation_strategy=(batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED if settings.spot
                                 else batch.AllocationStrategy.BEST_FIT_PROGRESSIVE),
            minv_cpus=settings.min_vcpus, maxv_cpus=settings.max_vcpus, replace_compute_environment=False,
            launch_template=self.launch_template,
            images=[batch.EcsMachineImage(image_type=batch.EcsMachineImageType.ECS_AL2023)])
        acknowledge(self.compute_environment,
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]",
            reason="The ECS agent on Batch instances needs exactly this AWS-managed role; it carries no data access.")
        self.job_queue = batch.JobQueue(
            self, "Queue", priority=1,
            compute_environments=[batch.OrderedComputeEnvironment(compute_environment=self.compute_environment, order=1)])
        self.job_role = iam.Role(self, "JobRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
                                 description="statscore worker: tasks from SQS, rows in DynamoDB, products to S3")
        container_env = dict(environment, THREADS=str(settings.worker_threads), MEMORY=settings.worker_memory_limit)
        image = ecs.ContainerImage.from_asset(str(ROOT), file="batch_image/Dockerfile",
                                              platform=ecr_assets.Platform.LINUX_AMD64,
                                              exclude=CONTEXT_EXCLUDE, ignore_mode=IGNORE_MODE)
        self.container = batch.EcsEc2ContainerDefinition(
            self, "Container",
            image=image,
            cpu=settings.job_vcpus, memory=Size.mebibytes(settings.job_memory_mib),
            environment=container_env, job_role=self.job_role,
            logging=ecs.LogDriver.aws_logs(stream_prefix="worker", log_group=log_group))
        self.planner: batch.EcsJobDefinition | None = None
        """``stac-api``: the job that plans a run too large for Enumerate's Lambda (see :meth:`_planner`)."""
        self.planner_role: iam.Role | None = None
        if settings.dataset_source == "stac-api":
            self._planner(settings, log_group, image, {k: v for k, v in environment.items()
                                                       if k in ("AWS_REGION", "AWS_DEFAULT_REGION", "NUMBA_CACHE_DIR")})
        self.job_definition = batch.EcsJobDefinition(
            self, "Worker", container=self.container,
            retry_attempts=settings.retry_attempts,
            retry_strategies=[
                batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
                batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.CANNOT_PULL_CONTAINER),
                batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom(on_exit_code="*")),
            ],
            timeout=Duration.hours(settings.job_timeout_hours),
            propagate_tags=True)

    def _planner(self, settings: Settings, log_group: logs.ILogGroup, image: ecs.ContainerImage,
                 env: dict[str, str]) -> None:
        """The planner: the worker image running ``odc-stats save-tasks --stac-api ... s3://...db`` (the
        command comes from Enumerate, per run), writing the task cache where Enumerate then reads it."""
        self.planner_role = iam.Role(self, "PlannerRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
                                     description="statscore planner: a run's task cache to S3")
        self.planner_container = batch.EcsEc2ContainerDefinition(
            self, "PlannerContainer", image=image, command=["odc-stats", "save-tasks", "--help"],
            cpu=settings.plan_job_vcpus, memory=Size.mebibytes(settings.plan_job_memory_mib),
            environment=env, job_role=self.planner_role,
            logging=ecs.LogDriver.aws_logs(stream_prefix="planner", log_group=log_group))
        self.planner = batch.EcsJobDefinition(
            self, "Planner", container=self.planner_container, retry_attempts=settings.retry_attempts,
            retry_strategies=[
                batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
                batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.CANNOT_PULL_CONTAINER),
                batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom(on_exit_code="*")),
            ],
            timeout=Duration.hours(settings.job_timeout_hours), propagate_tags=True)

    @staticmethod
    def worker_environment(settings: Settings, *, region: str, queue_url: str, table: str,
                           run_config: dict) -> dict[str, str]:
        """What ``batch_image/entrypoint.sh``, boto3, GDAL and numba read (besides THREADS and MEMORY).

        The region is set explicitly: ECS on EC2 does not set it in the container (boto3 would
        raise NoRegionError, GDAL would sign for us-east-1).
        """
        env = {"QUEUE_URL": queue_url, "TASK_TABLE": table, "RUN_CONFIG": json.dumps(run_config, sort_keys=True),
               "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
               "NUMBA_CACHE_DIR": "/tmp/numba",
               # threadsafe: the loader threads launch parallel kernels at once (libgomp is in the image)
               "NUMBA_THREADING_LAYER": "omp",
               **GDAL_ENV}
        if settings.request_payer:
            env["AWS_REQUEST_PAYER"] = "requester"  # GDAL's /vsis3/ on requester-pays buckets
        return env

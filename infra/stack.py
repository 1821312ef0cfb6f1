"""The one Stack: composes the units and wires least-privilege grants between them."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from statscore.ops.preflight import PROBE_PREFIX
from statscore.tasktable import BY_RUN_INDEX

from .batch_compute import BatchCompute
from .enumerate_function import RunFunctions, function_environment
from .monitoring import Alarms, BatchJobEvents, LogGroups, RunDashboard
from .nag import acknowledge
from .network import Network
from .task_queue import TaskQueue
from .settings import Settings
from .state_machine import RunStateMachine
from .storage import Storage
from .task_table import TaskTable


PER_RUN_KEYS = ("Objects under this key prefix are created per run and per task; IAM cannot name them in advance. "
                "The grant stops at the prefix, and the actions are listed one by one.")
INPUT_BUCKETS = ("The input COGs of a run are many objects in buckets outside the stack (input_buckets); the grant is "
                 "read-only (s3:GetObject) and stops at the configured bucket or prefix.")
INPUT_KEYS = ("The input STAC/eo3 documents and their COGs are many and change as data arrives; the grant is "
              "read-only (s3:GetObject) and stops at the configured prefix.")


class StatsStack(Stack):
    """Everything one product needs: buckets, queue, task table, functions, Batch, state machine, alarms."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.settings = s = settings
        self.logs = LogGroups(self, "Logs", settings=s)
        self.storage = Storage(self, "Storage", settings=s)
        self.queue = TaskQueue(self, "Queue", settings=s)
        self.tasks = TaskTable(self, "TaskTable", settings=s)
        self.network = Network(self, "Network", settings=s, flow_log_group=self.logs["FlowLogs"])

        output_location = self.storage.output_location
        env = function_environment(s, table=self.tasks.table.table_name, queue_url=self.queue.queue.queue_url,
                                   cache_bucket=self.storage.caches.bucket_name, output_location=output_location)
        self.functions = RunFunctions(self, "Functions", settings=s, environment=env,
                                      run_config=s.run_config(output_location), log_groups=self.logs.groups,
                                      vpc=self.network.vpc if s.dataset_source == "datacube" else None,
                                      vpc_subnets=self.network.worker_subnets)
        self.batch = BatchCompute(
            self, "Batch", settings=s, vpc=self.network.vpc, vpc_subnets=self.network.worker_subnets,
            log_group=self.logs["Workers"],
            environment=BatchCompute.worker_environment(s, region=self.region, queue_url=self.queue.queue.queue_url,
                                                        table=self.tasks.table.table_name,
                                                        run_config=s.run_config(output_location)))
        self.run = RunStateMachine(
            self, "StateMachine", settings=s, enumerate_fn=self.functions.enumerate, verify_fn=self.functions.verify,
            summary_fn=self.functions.summary, job_queue=self.batch.job_queue,
            job_definition=self.batch.job_definition, log_group=self.logs["StateMachine"], planner=self.batch.planner)
        self.alarms = Alarms(self, "Alarms", settings=s, dead_letters=self.queue.dead_letters,
                             state_machine=self.run.state_machine, job_queue=self.batch.job_queue)
        self.job_events = BatchJobEvents(self, "BatchJobEvents", job_queue_arn=self.batch.job_queue.job_queue_arn,
                                         log_group=self.logs["BatchJobEvents"])
        self.dashboard = RunDashboard(self, "Dashboard", product=s.product_name, queue=self.queue.queue,
                                      dead_letters=self.queue.dead_letters, state_machine=self.run.state_machine,
                                      job_events=self.logs["BatchJobEvents"])
        self._grant()
        CfnOutput(self, "StateMachineArn", value=self.run.state_machine.state_machine_arn)
        CfnOutput(self, "OutputLocation", value=output_location)
        CfnOutput(self, "TaskTableName", value=self.tasks.table.table_name)
        CfnOutput(self, "QueueUrl", value=self.queue.queue.queue_url)
        CfnOutput(self, "DeadLetterQueueUrl", value=self.queue.dead_letters.queue_url)
        CfnOutput(self, "AlarmTopicArn", value=self.alarms.topic.topic_arn,
                  description="SNS topic of the alarms: subscribe to it (alarm_email does so at deploy)")

    def _grant(self) -> None:
        """Each principal gets the actions its code calls, on the resources (and key prefixes) it touches."""
        s = self.settings
        table, queue = self.tasks.table, self.queue.queue
        caches, outputs = self.storage.caches, self.storage.outputs
        enum_role, verify_role, summary_role = (self.functions.functions[n].role for n in ("Enumerate", "Verify", "Summary"))
        worker = self.batch.job_role
        by_run = f"{table.table_arn}/index/{BY_RUN_INDEX}"

        def rows(role: iam.IRole, *actions: str, index: bool = False) -> None:
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=[f"dynamodb:{a}" for a in actions], resources=[by_run] if index else [table.table_arn]))

        def objects(role: iam.IRole, bucket_arn: str, prefix: str, *actions: str, why: str = PER_RUN_KEYS) -> None:
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=[f"s3:{a}" for a in actions], resources=[f"{bucket_arn}/{prefix}*"]))
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{_nag_text(self, f'{bucket_arn}/{prefix}*')}]", why)

        def listing(role: iam.IRole, bucket_arn: str, prefix: str) -> None:
            role.add_to_principal_policy(iam.PolicyStatement(
                actions=["s3:ListBucket"], resources=[bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}}))

        # Enumerate: which tasks are DONE, PENDING rows, enqueue, upload the cache and the manifest
        rows(enum_role, "BatchGetItem", "BatchWriteItem")
        queue.grant_send_messages(enum_role)
        objects(enum_role, caches.bucket_arn, s.cache_prefix, "GetObject", "PutObject")
        out_actions = ("PutObject", "PutObjectAcl") if s.s3_acl is not None else ("PutObject",)
        # ... and, before anything, a probe object written with the ACL and deleted (fail before spending)
        objects(enum_role, outputs.bucket_arn, f"{s.output_prefix}{PROBE_PREFIX}", *out_actions, "DeleteObject",
                why="Enumerate checks that the output location takes a write with the configured ACL before it "
                    "enqueues anything: one uniquely named probe object under this prefix, deleted at once.")
        # Verify: the run's rows (GSI), rows back to PENDING, re-enqueue
        rows(verify_role, "Query", index=True)
        rows(verify_role, "UpdateItem")
        queue.grant_send_messages(verify_role)
        # Summary: the run's rows, the run summary, the product's STAC collection
        rows(summary_role, "Query", index=True)
        objects(summary_role, caches.bucket_arn, s.cache_prefix, "PutObject")
        objects(summary_role, outputs.bucket_arn, s.output_prefix, *out_actions)
        # Workers: lease tasks, update their own row, read caches, write (and clean up) products
        queue.grant_consume_messages(worker)
        rows(worker, "GetItem", "UpdateItem")
        objects(worker, caches.bucket_arn, s.cache_prefix, "GetObject")
        objects(worker, outputs.bucket_arn, s.output_prefix, "GetObject", "DeleteObject", *out_actions)
        listing(worker, outputs.bucket_arn, s.output_prefix)
        # The planner (stac-api): the run's task cache, CSV and GeoJSONs under the run's prefix (HeadObject first)
        if self.batch.planner_role is not None:
            objects(self.batch.planner_role, caches.bucket_arn, s.cache_prefix, "GetObject", "PutObject")

        if s.dataset_source == "stac":
            bucket, _, prefix = s.stac_location.removeprefix("s3://").partition("/")
            fixed = prefix.split("*", 1)[0]
            docs = f"arn:{self.partition}:s3:::{bucket}"
            for role in (enum_role, worker):  # workers read the COGs the documents point to
                objects(role, docs, fixed, "GetObject", why=INPUT_KEYS)
            listing(enum_role, docs, fixed)
        elif s.dataset_source == "datacube":  # stac-api: Enumerate reads the API over HTTPS, no AWS grant
            enum_role.add_to_principal_policy(iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[s.db_secret_arn]))
        # input_buckets: the COGs (public sentinel-cogs, dea-public-data, requester-pays usgs-landsat, or a
        # datacube index's locations). Reading another account's bucket needs both its bucket policy and
        # an allow here. Requester pays needs no other action, only the header (AWS_REQUEST_PAYER).
        for item in s.input_buckets:
            bucket, _, prefix = item.removeprefix("s3://").partition("/")
            arn = f"arn:{self.partition}:s3:::{bucket}"
            for role in (enum_role, worker):  # Enumerate may read documents there too
                objects(role, arn, prefix, "GetObject", why=INPUT_BUCKETS)
                listing(role, arn, prefix)  # a missing object is a 404 (named), not a 403
        if s.input_kms_key_arns:
            for role in (enum_role, worker):
                role.add_to_principal_policy(iam.PolicyStatement(actions=["kms:Decrypt"],
                                                                 resources=list(s.input_kms_key_arns)))
        self._acknowledge_service_wildcards()

    def _acknowledge_service_wildcards(self) -> None:
        xray = ("Lambda active tracing and Step Functions X-Ray tracing need xray:PutTraceSegments/"
                "PutTelemetryRecords, which accept no resource other than '*'.")
        for fn in self.functions.functions.values():
            acknowledge(fn.role, "AwsSolutions-IAM5[Resource::*]", xray + (
                " In a VPC, ec2:CreateNetworkInterface and friends also need '*' (the ENIs do not exist yet)."
                if self.settings.dataset_source == "datacube" else ""))
        acknowledge(self.batch.container, "AwsSolutions-IAM5[Resource::*]",
                    "The ECS execution role needs ecr:GetAuthorizationToken, which only accepts '*'; its "
                    "image pull actions are limited to the asset repository.")
        if self.batch.planner is not None:
            acknowledge(self.batch.planner_container, "AwsSolutions-IAM5[Resource::*]",
                        "The ECS execution role needs ecr:GetAuthorizationToken, which only accepts '*'; its "
                        "image pull actions are limited to the asset repository.")
        sm_role = self.run.state_machine.role
        acknowledge(sm_role, "AwsSolutions-IAM5[Resource::*]",
                    "Step Functions logging to CloudWatch Logs (logs:CreateLogDelivery, ...), X-Ray tracing and "
                    "batch:DescribeJobs (which the .sync Batch integration polls) accept only '*' as resource "
                    "(AWS documentation for state machine logging and the Batch service authorization reference).")
        acknowledge(sm_role, "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:"
                             "<AWS::AccountId>:job/*]",
                    "Stopping an execution terminates its Batch jobs (batch:TerminateJob); their ids exist only once "
                    "submitted, so the grant names the jobs of this account and region.")
        for fn in self.functions.functions.values():
            acknowledge(sm_role, f"AwsSolutions-IAM5[Resource::<{self.get_logical_id(fn.node.default_child)}.Arn>:*]",
                        "CDK's LambdaInvoke grants invoke on the function and its versions/aliases (ARN:*); "
                        "the function itself is named exactly.")
        acknowledge(sm_role, "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:"
                             "<AWS::AccountId>:job-definition/*]",
                    "CDK's BatchSubmitJob grants batch:SubmitJob on job definitions of this account and region: "
                    "each deploy registers a new revision of the worker definition, so the ARN is not fixed; "
                    "the job queue is named exactly.")


def _nag_text(stack: Stack, value: str) -> str:
    """A resource string as cdk-nag prints it in finding ids (``<LogicalId.Arn>`` for tokens)."""
    resolved = stack.resolve(value)
    if isinstance(resolved, str):
        return resolved
    parts = resolved.get("Fn::Join", ["", []])[1]
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
        elif "Fn::GetAtt" in p:
            out.append(f"<{p['Fn::GetAtt'][0]}.{p['Fn::GetAtt'][1]}>")
        elif "Ref" in p:
            out.append(f"<{p['Ref']}>")
    return "".join(out)

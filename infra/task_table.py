"""DynamoDB: one row per task (state, attempts, reason, timings, output URI)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from statscore.tasktable import BY_RUN_ATTRIBUTES, BY_RUN_INDEX

from .settings import Settings


class TaskTable(Construct):
    """Partition key ``task_id`` (``2019--P1Y/49/24``): one row per task across runs, so a re-run
    skips tasks already DONE. GSI ``by_run`` (``run_id``, ``task_id``) lets Verify read one run."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings) -> None:
        super().__init__(scope, id)
        self.table = dynamodb.Table(
            self, "Tasks",
            partition_key=dynamodb.Attribute(name="task_id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True),
            removal_policy=RemovalPolicy.RETAIN)
        self.table.add_global_secondary_index(
            index_name=BY_RUN_INDEX,
            partition_key=dynamodb.Attribute(name="run_id", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="task_id", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=list(BY_RUN_ATTRIBUTES))

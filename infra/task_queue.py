"""SQS: the task queue the workers lease from, and its dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .nag import acknowledge
from .settings import Settings


class TaskQueue(Construct):
    """Queue with visibility = the worker's lease and a redrive to a DLQ after ``queue_max_receives``."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings) -> None:
        super().__init__(scope, id)
        self.dead_letters = sqs.Queue(
            self, "DeadLetters", retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True)
        acknowledge(self.dead_letters,
            id="AwsSolutions-SQS3",
            reason="This is the dead-letter queue; poison tasks stop here for redrive-queue after a fix.")
        self.queue = sqs.Queue(
            self, "Tasks", visibility_timeout=Duration.seconds(settings.lease_seconds),
            retention_period=Duration.days(14), encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=settings.queue_max_receives))

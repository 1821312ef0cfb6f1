"""Log groups with retention, alarms (DLQ depth, failed executions, workers stuck RUNNABLE)
notifying an SNS topic, and the run dashboard (queue, tasks, seconds per task, Batch jobs by
state, executions)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_batch as batch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .settings import Settings


class LogGroups(Construct):
    """Every log group of the stack, created here so retention is set in one place."""

    NAMES = ("Enumerate", "Verify", "Summary", "Workers", "StateMachine", "FlowLogs", "BatchJobEvents")

    def __init__(self, scope: Construct, id: str, *, settings: Settings) -> None:
        super().__init__(scope, id)
        retention = _retention(settings.log_retention_days)
        self.groups: dict[str, logs.LogGroup] = {
            n: logs.LogGroup(self, n, retention=retention, removal_policy=RemovalPolicy.DESTROY) for n in self.NAMES}

    def __getitem__(self, name: str) -> logs.LogGroup:
        return self.groups[name]


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY, 3: logs.RetentionDays.THREE_DAYS, 5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS, 90: logs.RetentionDays.THREE_MONTHS, 120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS, 180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS, 545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS, 1827: logs.RetentionDays.FIVE_YEARS, 3653: logs.RetentionDays.TEN_YEARS,
}


def _retention(days: int) -> logs.RetentionDays:
    """CloudWatch accepts only some retention periods: name them when the setting is another."""
    if days not in _RETENTION:
        from statscore.errors import ConfigError

        raise ConfigError(f"setting 'log_retention_days' = {days}: CloudWatch accepts {sorted(_RETENTION)}")
    return _RETENTION[days]


class Alarms(Construct):
    """Alarms an operator acts on: a task in the DLQ, an execution that failed, timed out or was
    aborted, workers that cannot start (jobs stuck RUNNABLE at the head of the job queue)."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings, dead_letters: sqs.IQueue,
                 state_machine: sfn.StateMachine, job_queue: batch.IJobQueue) -> None:
        super().__init__(scope, id)
        # A customer-managed key: CloudWatch cannot publish to a topic under the AWS-managed alias/aws/sns
        # (its key policy cannot be changed to let cloudwatch.amazonaws.com use it). The SnsTopic target
        # below adds the same grant for events.amazonaws.com.
        self.key = kms.Key(self, "TopicKey", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY,
                           description="statscore alarm topic: CloudWatch alarms publish with it")
        self.key.add_to_resource_policy(iam.PolicyStatement(
            sid="CloudWatchAlarmsPublish", principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"]))  # "*" = this key, in a key policy
        self.topic = sns.Topic(self, "Topic", enforce_ssl=True, master_key=self.key)
        if settings.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        action = cw_actions.SnsAction(self.topic)
        self.dlq_depth = cw.Alarm(
            self, "DeadLetters", alarm_description="Tasks reached the dead-letter queue (poison input or repeated failure).",
            metric=dead_letters.metric_approximate_number_of_messages_visible(period=Duration.minutes(5), statistic="Maximum"),
            threshold=1, evaluation_periods=1, comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING)
        self.failed_executions = cw.Alarm(
            self, "FailedExecutions", alarm_description="A run failed, timed out or was aborted.",
            metric=cw.MathExpression(
                expression="failed + timedout + aborted", period=Duration.minutes(5),
                using_metrics={"failed": state_machine.metric_failed(statistic="Sum"),
                               "timedout": state_machine.metric_timed_out(statistic="Sum"),
                               "aborted": state_machine.metric_aborted(statistic="Sum")}),
            threshold=1, evaluation_periods=1, comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING)
        # Stuck RUNNABLE: AWS Batch sends "Batch Job Queue Blocked" events to EventBridge when the job at
        # the head of a queue cannot start (instance types unavailable, vCPU quota, max_vcpus below the job's,
        # a job bigger than any instance...), with the reason in detail.statusReason. This rule matches
        # them for our queue and sends each (with the reason) to the topic; EventBridge counts its matches in
        # AWS/Events MatchedEvents (dimension RuleName), which the alarm watches.
        self.blocked_rule = events.Rule(
            self, "QueueBlocked", description="statscore: a worker job is stuck RUNNABLE at the head of the queue",
            event_pattern=events.EventPattern(source=["aws.batch"], detail_type=["Batch Job Queue Blocked"],
                                              detail={"jobQueue": [job_queue.job_queue_arn]}))
        self.blocked_rule.add_target(targets.SnsTopic(self.topic, message=events.RuleTargetInput.from_text(
            f"statscore: worker job {events.EventField.from_path('$.detail.jobName')} is stuck RUNNABLE in "
            f"{events.EventField.from_path('$.detail.jobQueue')}: {events.EventField.from_path('$.detail.statusReason')}")))
        self.stuck_runnable = cw.Alarm(
            self, "WorkersStuckRunnable",
            alarm_description="Batch workers cannot start: a job is stuck RUNNABLE at the head of the queue (see the "
                              "job's statusReason: instance capacity, vCPU quota, max_vcpus or job size).",
            metric=cw.Metric(namespace="AWS/Events", metric_name="MatchedEvents",
                             dimensions_map={"RuleName": self.blocked_rule.rule_name},
                             statistic="Sum", period=Duration.minutes(5)),
            threshold=1, evaluation_periods=1, comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING)
        for alarm in (self.dlq_depth, self.failed_executions, self.stuck_runnable):
            alarm.add_alarm_action(action)


class BatchJobEvents(Construct):
    """Batch job state changes of the workers' job queue, kept in a log group (an EventBridge rule):
    Batch publishes no job-count metrics, its events are how job states are observed."""

    def __init__(self, scope: Construct, id: str, *, job_queue_arn: str, log_group: logs.ILogGroup) -> None:
        super().__init__(scope, id)
        self.log_group = log_group
        # EventBridge writes to CloudWatch Logs under the log group's resource policy
        self.policy = logs.ResourcePolicy(self, "Delivery", policy_statements=[iam.PolicyStatement(
            principals=[iam.ServicePrincipal("events.amazonaws.com"), iam.ServicePrincipal("delivery.logs.amazonaws.com")],
            actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn])])
        self.rule = events.CfnRule(
            self, "Rule", description="statscore: Batch job state changes of the workers' job queue",
            event_pattern={"source": ["aws.batch"], "detail-type": ["Batch Job State Change"],
                           "detail": {"jobQueue": [job_queue_arn]}},
            targets=[events.CfnRule.TargetProperty(id="JobEventsLog", arn=log_group.log_group_arn)])
        self.rule.node.add_dependency(self.policy)


TASK_METRICS = ("TasksDone", "TasksFailed", "TasksSkipped", "TaskSeconds")
"""The workers' metrics (statscore.ops.usage.METRICS_NAMESPACE, dimension Product), from their EMF log lines."""
JOBS_BY_STATE_QUERY = (
    "fields @timestamp, detail.jobId, detail.status",
    "filter not ispresent(detail.arrayProperties.size)",  # array children and plain jobs, not the array parents
    "stats latest(detail.status) as state by detail.jobId",
    "stats count(*) as jobs by state",
)


class RunDashboard(Construct):
    """One CloudWatch dashboard for a run: queue depth and dead letters, tasks done/failed and
    seconds per task (the workers' EMF metrics), Batch jobs by state, executions by outcome.
    (No alarm-status widget: the alarms' thresholds are drawn on the graphs they watch.)"""

    def __init__(self, scope: Construct, id: str, *, product: str, queue: sqs.IQueue, dead_letters: sqs.IQueue,
                 state_machine: sfn.StateMachine, job_events: logs.ILogGroup) -> None:
        from statscore.ops.usage import METRICS_NAMESPACE

        super().__init__(scope, id)
        minute = Duration.minutes(1)

        def task_metric(name: str, statistic: str, label: str) -> cw.Metric:
            return cw.Metric(namespace=METRICS_NAMESPACE, metric_name=name, dimensions_map={"Product": product},
                             statistic=statistic, period=minute, label=label)

        widgets: list[list[cw.IWidget]] = [
            [cw.GraphWidget(title="Task queue", width=12, left=[
                queue.metric_approximate_number_of_messages_visible(period=minute, statistic="Maximum", label="waiting"),
                queue.metric_approximate_number_of_messages_not_visible(period=minute, statistic="Maximum",
                                                                        label="in progress")]),
             cw.GraphWidget(title="Dead-letter queue", width=12, left=[
                 dead_letters.metric_approximate_number_of_messages_visible(period=minute, statistic="Maximum",
                                                                            label="dead letters")],
                 left_annotations=[cw.HorizontalAnnotation(value=1, label="alarm (DeadLetters)")])],
            [cw.GraphWidget(title="Tasks per minute", width=12, stacked=True, left=[
                task_metric("TasksDone", "Sum", "done"), task_metric("TasksFailed", "Sum", "failed"),
                task_metric("TasksSkipped", "Sum", "already done")]),
             cw.GraphWidget(title="Seconds per task", width=12, left=[
                 task_metric("TaskSeconds", "Average", "mean"), task_metric("TaskSeconds", "p90", "p90"),
                 task_metric("TaskSeconds", "Maximum", "max")])],
            [cw.LogQueryWidget(title="Batch jobs by state (workers)", width=12, log_group_names=[job_events.log_group_name],
                               query_lines=list(JOBS_BY_STATE_QUERY), view=cw.LogQueryVisualizationType.TABLE),
             cw.GraphWidget(title="Executions", width=12, left=[
                 state_machine.metric_started(statistic="Sum", period=minute, label="started"),
                 state_machine.metric_succeeded(statistic="Sum", period=minute, label="succeeded"),
                 state_machine.metric_failed(statistic="Sum", period=minute, label="failed"),
                 state_machine.metric_timed_out(statistic="Sum", period=minute, label="timed out"),
                 state_machine.metric_aborted(statistic="Sum", period=minute, label="aborted")])],
        ]
        self.dashboard = cw.Dashboard(self, "Dashboard", default_interval=Duration.hours(6), widgets=widgets)

"""Step Functions: Enumerate (-> the planner as a Batch job -> Enumerate again, for a large stac-api run)
-> Batch workers (array job, .sync) -> Verify (loop while retries remain) -> Summary.

The state carried between steps stays small (counts, ids, a manifest location, at most
``FAILED_TILES_SHOWN`` tile names): never the task list, whatever the size of the run.
Only plain ``$.key`` paths are used (moto's Step Functions mis-evaluates ``$[0].x``), so
the same definition runs in a local moto server.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_batch as batch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from .settings import Settings

WORKER_JOB_NAME = "statscore-workers"
PLANNER_JOB_NAME = "statscore-planner"


class RunStateMachine(Construct):
    """One execution = one run over the requested period (input ``{"year": 2019}`` etc.)."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings, enumerate_fn: lambda_.IFunction,
                 verify_fn: lambda_.IFunction, summary_fn: lambda_.IFunction, job_queue: batch.IJobQueue,
                 job_definition: batch.IJobDefinition, log_group: logs.ILogGroup,
                 planner: batch.IJobDefinition | None = None) -> None:
        super().__init__(scope, id)

        def invoke(name: str, fn: lambda_.IFunction, payload: sfn.TaskInput) -> tasks.LambdaInvoke:
            # the handler's return value becomes the state: a few counts and ids
            return tasks.LambdaInvoke(self, name, lambda_function=fn, payload=payload, output_path="$.Payload",
                                      retry_on_service_exceptions=True)

        enumerate_ = invoke("Enumerate", enumerate_fn, sfn.TaskInput.from_object({
            "request": sfn.JsonPath.entire_payload, "run_id": sfn.JsonPath.execution_name}))
        run_workers = tasks.BatchSubmitJob(
            self, "Run workers", job_name=WORKER_JOB_NAME, job_queue_arn=job_queue.job_queue_arn,
            job_definition_arn=job_definition.job_definition_arn,
            array_size=sfn.JsonPath.number_at("$.array_size"),
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            result_path=sfn.JsonPath.DISCARD,
            # per run, from Enumerate/Verify (statscore.orchestration.worker_timeouts): each worker runs its
            # share of the tasks one after the other, so the limit grows with the tasks per worker. CDK
            # renders it as each job attempt's AttemptDurationSeconds (the job definition's own timeout,
            # job_timeout_hours, applies only to jobs submitted by hand); the execution's run_timeout_days
            # bounds the whole run, RUNNABLE waits included.
            task_timeout=sfn.Timeout.at("$.workers_timeout_seconds"))
        verify = invoke("Verify", verify_fn, sfn.TaskInput.from_json_path_at("$"))
        # a failed array job (some worker exited non-zero) is not a failed run: Verify decides from the rows
        run_workers.add_catch(verify, errors=["States.ALL"], result_path="$.workers_error")
        summary = invoke("Summary", summary_fn, sfn.TaskInput.from_json_path_at("$"))
        succeeded = sfn.Succeed(self, "Run succeeded")
        failed = sfn.Fail(self, "Run failed", error="TasksFailed", cause_path=sfn.JsonPath.string_at("$.cause"))

        outcome = (sfn.Choice(self, "All tasks done?")
                   .when(sfn.Condition.string_equals("$.verdict", "done"), succeeded)
                   .otherwise(failed))
        summary.next(outcome)
        # the cap is enforced here too, whatever a function returns: Batch refuses > 10,000 children
        capped = (sfn.Choice(self, "More workers than the cap?")
                  .when(sfn.Condition.number_greater_than("$.array_size", settings.worker_cap),
                        sfn.Pass(self, "Cap workers", result=sfn.Result.from_number(settings.worker_cap),
                                 result_path="$.array_size").next(run_workers))
                  .otherwise(run_workers))
        verdict = (sfn.Choice(self, "Retry?")
                   .when(sfn.Condition.string_equals("$.verdict", "retry"), capped)
                   .otherwise(summary))
        run_workers.next(verify)
        verify.next(verdict)
        work = (sfn.Choice(self, "Work to do?")
                .when(sfn.Condition.number_greater_than("$.array_size", 0), capped)
                .otherwise(summary))
        if planner is None:
            definition = enumerate_.next(work)
        else:
            # stac-api: Enumerate counts the matched items first; above plan_in_batch_above_items it returns
            # the planner's command instead of planning, the same planner runs as one Batch job writing the
            # task cache to S3, and Enumerate continues from that cache (the request plus "cache")
            plan_job = tasks.BatchSubmitJob(
                self, "Plan in Batch", job_name=PLANNER_JOB_NAME, job_queue_arn=job_queue.job_queue_arn,
                job_definition_arn=planner.job_definition_arn,
                container_overrides=tasks.BatchContainerOverrides(command=sfn.JsonPath.list_at("$.plan.command")),
                integration_pattern=sfn.IntegrationPattern.RUN_JOB, result_path=sfn.JsonPath.DISCARD,
                task_timeout=sfn.Timeout.duration(Duration.hours(settings.job_timeout_hours)))
            enumerate_plan = invoke("Enumerate the Batch plan", enumerate_fn, sfn.TaskInput.from_object({
                "request": sfn.JsonPath.object_at("$.planned_request"), "run_id": sfn.JsonPath.execution_name}))
            plan_job.next(enumerate_plan)
            enumerate_plan.next(work)
            definition = enumerate_.next(sfn.Choice(self, "Plan in Batch?")
                                         .when(sfn.Condition.boolean_equals("$.plan_in_batch", True), plan_job)
                                         .otherwise(work))

        self.state_machine = sfn.StateMachine(
            self, "Run", definition_body=sfn.DefinitionBody.from_chainable(definition),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            timeout=Duration.days(settings.run_timeout_days))
        # .sync on Batch: Step Functions describes the job while it runs and terminates it when the
        # execution is stopped, times out or fails (CDK grants SubmitJob and the events rule only)
        stack = Stack.of(self)
        self.state_machine.add_to_role_policy(iam.PolicyStatement(
            actions=["batch:DescribeJobs"], resources=["*"]))  # DescribeJobs takes no resource
        self.state_machine.add_to_role_policy(iam.PolicyStatement(
            actions=["batch:TerminateJob"],
            resources=[stack.format_arn(service="batch", resource="job", resource_name="*")]))

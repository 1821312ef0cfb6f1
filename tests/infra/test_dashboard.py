"""The run dashboard and the Batch job events behind it, as synthesised (issue 14, must-show 6).

cdk-nag and cfn-lint run over the same template in test_stack.py."""

from __future__ import annotations

import json
from typing import Any

from cdk_support import Synth, cdk_context

S = cdk_context()["statscore"]


def _body(synth: Synth) -> dict[str, Any]:
    """The dashboard body with CloudFormation references replaced by their logical ids."""
    body = synth.one("AWS::CloudWatch::Dashboard")["DashboardBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]

    def text(p: Any) -> str:
        if isinstance(p, str):
            return p
        if "Ref" in p:
            return f"<{p['Ref']}>"
        if "Fn::GetAtt" in p:
            return f"<{p['Fn::GetAtt'][0]}.{p['Fn::GetAtt'][1]}>"
        raise AssertionError(f"unexpected token in the dashboard body: {p}")

    return json.loads("".join(text(p) for p in parts))


def _widget(body: dict[str, Any], title: str) -> dict[str, Any]:
    found = [w for w in body["widgets"] if w["properties"].get("title") == title]
    assert len(found) == 1, [w["properties"].get("title") for w in body["widgets"]]
    return found[0]["properties"]


def _metrics(props: dict[str, Any]) -> list[list[Any]]:
    return props["metrics"]


def _logical(synth: Synth, type_: str, contains: str = "") -> str:
    (name,) = [k for k, v in synth.template["Resources"].items() if v["Type"] == type_ and contains in k]
    return name


def test_dashboard_has_one_widget_per_view(synth: Synth) -> None:
    body = _body(synth)
    titles = [w["properties"].get("title") for w in body["widgets"]]
    assert titles == ["Task queue", "Dead-letter queue", "Tasks per minute", "Seconds per task",
                      "Batch jobs by state (workers)", "Executions"]


def test_queue_widgets_show_depth_in_flight_and_dead_letters(synth: Synth) -> None:
    body = _body(synth)
    queues = {k: v for k, v in synth.resources("AWS::SQS::Queue").items()}
    main = next(k for k, v in queues.items() if "RedrivePolicy" in v["Properties"])
    dlq = next(k for k in queues if k != main)
    depth = _metrics(_widget(body, "Task queue"))
    assert [m[1] for m in depth] == ["ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible"]
    assert all(m[0] == "AWS/SQS" and m[3] == f"<{main}.QueueName>" for m in depth)
    (dead,) = _metrics(_widget(body, "Dead-letter queue"))
    assert dead[:4] == ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"<{dlq}.QueueName>"]
    # the DeadLetters alarm's threshold, drawn
    threshold = next(a["Properties"]["Threshold"] for a in synth.resources("AWS::CloudWatch::Alarm").values()
                     if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible")
    assert _widget(body, "Dead-letter queue")["annotations"]["horizontal"][0]["value"] == threshold


def test_task_widgets_read_the_workers_emf_metrics(synth: Synth) -> None:
    from statscore.ops.usage import METRICS_NAMESPACE

    body = _body(synth)
    tasks = _metrics(_widget(body, "Tasks per minute"))
    assert [m[:4] for m in tasks] == [[METRICS_NAMESPACE, n, "Product", S["product"]["name"]]
                                      for n in ("TasksDone", "TasksFailed", "TasksSkipped")]
    assert {m[4]["stat"] for m in tasks} == {"Sum"}
    seconds = _metrics(_widget(body, "Seconds per task"))
    assert {m[1] for m in seconds} == {"TaskSeconds"} and [m[4].get("stat", "Average") for m in seconds] == ["Average", "p90",
                                                                                             "Maximum"]


def test_batch_jobs_by_state_come_from_the_job_queue_events(synth: Synth) -> None:
    body = _body(synth)
    props = _widget(body, "Batch jobs by state (workers)")
    group = _logical(synth, "AWS::Logs::LogGroup", "BatchJobEvents")
    assert f"<{group}>" in props["query"]
    assert "stats latest(detail.status) as state by detail.jobId" in props["query"]
    assert "stats count(*) as jobs by state" in props["query"]
    (rule,) = [r for r in synth.resources("AWS::Events::Rule").values()
               if r["Properties"]["EventPattern"].get("detail-type") == ["Batch Job State Change"]]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.batch"]
    assert pattern["detail"]["jobQueue"] == [{"Fn::GetAtt": [_logical(synth, "AWS::Batch::JobQueue"), "JobQueueArn"]}]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [group, "Arn"]}
    # EventBridge may write to the group: the resource policy names the group and the service
    (policy,) = synth.resources("AWS::Logs::ResourcePolicy").values()
    doc = json.dumps(policy["Properties"]["PolicyDocument"])
    assert "events.amazonaws.com" in doc and group in doc and "logs:PutLogEvents" in doc


def test_execution_widget(synth: Synth) -> None:
    body = _body(synth)
    execs = _metrics(_widget(body, "Executions"))
    machine = _logical(synth, "AWS::StepFunctions::StateMachine")
    assert [m[1] for m in execs] == ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed",
                                     "ExecutionsTimedOut", "ExecutionsAborted"]
    assert all(m[0] == "AWS/States" and m[3] == f"<{machine}>" for m in execs)

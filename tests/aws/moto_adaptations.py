"""The few changes to moto 5.2.5's internals that let a state machine run real code in a moto server.

Without Docker, moto runs no Lambda and no Batch code: a Lambda invoke echoes its payload
and a Batch job is marked SUCCEEDED at once. And its Step Functions port forgets to
translate the PascalCase parameters of ``batch:submitJob.sync`` into the API's camelCase,
and its CloudFormation drops an image function's ``ImageConfig`` (where its handler is).
Each patch below says why it exists. They are tied to moto's internals, so the version is
pinned: on another version this module fails at import instead of running something else.

:func:`apply` is called by the server launcher (``tests/aws/moto_server.py``) before it
serves. What runs stands in for the two container images:

* a Lambda invoke runs the deployed function's handler (the image's ``Command``, e.g.
  ``functions.handlers.enumerate``) in a fresh Python process, with the function's
  environment and the local endpoint, from ``code_root`` (the image's contents);
* a Batch job runs the worker image's entrypoint (``batch_image/entrypoint.sh``, which
  execs ``odc-stats run --from-sqs``, or the job's ``odc-stats ...`` command: the planner)
  once per array index with ``AWS_BATCH_JOB_ARRAY_INDEX`` and the job definition's
  environment, statscore from ``code_root``, all children at once, each in its own
  ``TMPDIR``; the job's status follows their exit codes.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import moto

MOTO_VERSION = "5.2.5"
if moto.__version__ != MOTO_VERSION:  # the patches reach into this version's internals
    raise ImportError(f"tests/aws/moto_adaptations.py is written against moto {MOTO_VERSION}, "
                      f"found {moto.__version__}: re-check each patch against its source, then update the pin")

REGION = "us-east-1"
ACCOUNT = "123456789012"
"""moto's default account: ARNs the tests build use it."""


@dataclass(frozen=True)
class Runtime:
    """Where the stand-ins for the images run and how they reach the moto server."""

    port: int
    code_root: Path
    """The repository root: what the images copy (``functions/``, ``statscore``)."""
    batch_entrypoint: Path
    """The worker image's ENTRYPOINT as a local file (``batch_image/entrypoint.sh``)."""
    workdir: Path
    """Logs and per-job temporary folders."""

    def aws_env(self) -> dict[str, str]:
        """What AWS gives a function or a container (region, role credentials), pointed at the server.

        GDAL reads the input COGs through /vsis3 and knows no AWS_ENDPOINT_URL: it gets
        the same endpoint in its own terms.
        """
        return {**endpoint_env(self.port), "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}

    def base_env(self, tmpdir: Path) -> dict[str, str]:
        """A clean process environment: the interpreter's bin folder first (``odc-stats``, ``python``)."""
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")])
        return {"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), "LANG": os.environ.get("LANG", "C.UTF-8"),
                "TMPDIR": str(tmpdir), **self.aws_env()}


def endpoint_env(port: int) -> dict[str, str]:
    """The moto server as the endpoint of boto3 (AWS_ENDPOINT_URL) and of GDAL's /vsis3 (which knows
    no AWS_ENDPOINT_URL: the same endpoint in its own terms), with test credentials. No region: that is
    the deployment's to set (the images' tests check that the job definition does)."""
    return {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_S3_ENDPOINT": f"127.0.0.1:{port}", "AWS_HTTPS": "NO", "AWS_VIRTUAL_HOSTING": "FALSE"}


def log(line: str) -> None:
    print(f"[moto-adaptations] {line}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- Step Functions
def _patch_batch_integration_normalisation() -> None:
    """``batch:submitJob.sync``: translate parameters and responses against the botocore shapes.

    Why: moto's Step Functions parser (ported from LocalStack) left ``_normalise_parameters``
    and ``_normalise_response`` empty, so the state machine's ``JobName``/``JobQueue``/
    ``ArrayProperties`` reach boto3's ``submit_job`` as they are (an unknown ``JobName``
    error), and the ``.sync`` poller reads ``JobId`` from a response that says ``jobId``.
    Step Functions on AWS converts both ways by the service's API model; so does this.
    """
    import botocore.session
    from botocore import xform_name
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch import (
        StateTaskServiceBatch,
    )

    def operation(self: Any, service: str | None, action: str | None) -> Any:
        model = botocore.session.get_session().get_service_model(self._get_boto_service_name(service))
        wanted = xform_name(action) if action else self._get_boto_service_action()
        for name in model.operation_names:
            if xform_name(name) == wanted:
                return model.operation_model(name)
        raise KeyError(f"{model.service_name} has no operation {wanted}")

    def normalise_parameters(self: Any, parameters: dict, boto_service_name: str | None = None,
                             service_action_name: str | None = None) -> None:
        self._to_boto_request(parameters, operation(self, boto_service_name, service_action_name).input_shape)

    def normalise_response(self: Any, response: Any, boto_service_name: str | None = None,
                           service_action_name: str | None = None) -> None:
        self._from_boto_response(response, operation(self, boto_service_name, service_action_name).output_shape)

    StateTaskServiceBatch._normalise_parameters = normalise_parameters
    StateTaskServiceBatch._normalise_response = normalise_response


# ----------------------------------------------------------------------------- Lambda
_LAMBDA_RUNTIME = """
import importlib, json, sys, traceback
handler, event_path, result_path = sys.argv[1:4]
module, _, name = handler.rpartition(".")
with open(event_path) as f:
    event = json.load(f)
try:
    out = {"result": getattr(importlib.import_module(module), name)(event, None)}
except Exception as e:
    out = {"error": {"errorMessage": str(e), "errorType": type(e).__name__,
                     "stackTrace": traceback.format_exc().splitlines()}}
with open(result_path, "w") as f:
    json.dump(out, f)
"""
"""The part of the Lambda runtime interface a handler sees: event in, return value or error out."""


def _patch_lambda_cfn_image_config() -> None:
    """Keep ``ImageConfig`` and ``PackageType`` of a function created by CloudFormation.

    Why: moto's ``LambdaFunction.create_from_cloudformation_json`` copies a fixed list of
    properties that leaves them out, so an image function loses its handler (the CDK
    puts it in ``ImageConfig.Command``).
    """
    from moto.awslambda.models import ImageConfig, LambdaFunction

    original = LambdaFunction.create_from_cloudformation_json.__func__

    def create(cls: type, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
               region_name: str, **kwargs: Any) -> Any:
        fn = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        props = cloudformation_json["Properties"]
        fn.image_config = ImageConfig(props.get("ImageConfig", {}))
        fn.package_type = props.get("PackageType", fn.package_type)
        return fn

    LambdaFunction.create_from_cloudformation_json = classmethod(create)


def _patch_lambda_invoke(rt: Runtime) -> None:
    """Run the function's handler for real, as a subprocess, instead of echoing the payload.

    Why: without Docker moto's Lambda ("simple" backend) returns the request body (even for
    a function that does not exist). This runs the handler the deployment names with the
    function's environment, its timeout, and the local endpoint; an exception becomes
    an ``Unhandled`` function error whose ``errorType`` Step Functions matches, as on AWS.
    """
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
               response_headers: Any) -> bytes:
        fn = self.get_function(function_name, qualifier)
        handler = (fn.image_config.cmd or [None])[0] if fn.package_type == "Image" else fn.handler
        if not handler:
            raise ValueError(f"function {fn.function_name}: no handler (ImageConfig.Command or Handler)")
        with tempfile.TemporaryDirectory(prefix="lambda-", dir=rt.workdir) as tmp:
            event, result = Path(tmp, "event.json"), Path(tmp, "result.json")
            event.write_bytes(body if isinstance(body, bytes) else (body or "{}").encode())
            env = dict(rt.base_env(Path(tmp)), **fn.environment_vars, PYTHONPATH=str(rt.code_root),
                       AWS_LAMBDA_FUNCTION_NAME=fn.function_name,
                       AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(fn.memory_size))
            log(f"lambda {fn.function_name}: {handler}")
            try:
                proc = subprocess.run([sys.executable, "-c", _LAMBDA_RUNTIME, handler, str(event), str(result)],
                                      cwd=rt.code_root, env=env, capture_output=True, text=True,
                                      timeout=int(fn.timeout))
                out = json.loads(result.read_text()) if result.exists() else None
            except subprocess.TimeoutExpired:
                proc, out = None, {"error": {"errorMessage": f"Task timed out after {fn.timeout} seconds",
                                             "errorType": "Sandbox.Timedout"}}
        if proc is not None:
            logs = Path(rt.workdir, f"lambda-{fn.function_name}.log")
            with logs.open("a") as f:
                f.write(f"--- {handler} exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
        if out is None:
            out = {"error": {"errorMessage": f"Runtime exited with error: exit status {proc.returncode}",
                             "errorType": "Runtime.ExitError"}}
        if "error" in out:
            log(f"lambda {fn.function_name}: {out['error']['errorType']}: {out['error']['errorMessage']}")
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(out["error"]).encode()
        return json.dumps(out["result"]).encode()

    LambdaSimpleBackend.invoke = invoke


# ----------------------------------------------------------------------------- Batch
def _patch_batch_submit(rt: Runtime) -> None:
    """Run the worker image's entrypoint per array child instead of marking the job SUCCEEDED.

    Why: without Docker moto's Batch ("simple" backend) marks every job SUCCEEDED inside
    ``submit_job``. This registers the parent and its children as moto does, returns at
    once, and runs the children concurrently in a thread, as Batch runs them on its
    instances: entrypoint + the job definition's (or override's) command, the job
    definition's environment plus the overrides, ``AWS_BATCH_JOB_ID`` and
    ``AWS_BATCH_JOB_ARRAY_INDEX``. A child ends SUCCEEDED on exit 0 and FAILED otherwise
    (or when it outlives the job timeout); the parent is SUCCEEDED only when all are.
    """
    from moto.batch.exceptions import ClientException
    from moto.batch.models import Job
    from moto.batch_simple.models import BatchSimpleBackend

    def submit_job(self: Any, job_name: str, job_def_id: str, job_queue: str, array_properties: dict[str, Any],
                   depends_on: list[dict[str, str]] | None = None, container_overrides: dict[str, Any] | None = None,
                   eks_properties_override: dict[str, Any] | None = None, timeout: dict[str, int] | None = None,
                   parameters: dict[str, str] | None = None, tags: dict[str, str] | None = None) -> tuple[str, str, str]:
        job_def = self.get_job_definition(job_def_id)
        if job_def is None:
            raise ClientException(f"Job definition {job_def_id} does not exist")
        queue = self.get_job_queue(job_queue)
        if queue is None:
            raise ClientException(f"Job queue {job_queue} does not exist")
        common = dict(log_backend=self.logs_backend, container_overrides=container_overrides,
                      eks_properties_override=eks_properties_override, depends_on=depends_on,
                      all_jobs=self._jobs, timeout=timeout, parameters=parameters)
        job = Job(job_name, job_def, queue, self, array_properties=array_properties, tags=tags, **common)
        children: list[tuple[Job, int | None]] = []
        if "size" in array_properties:
            for i in range(int(array_properties["size"])):
                child = Job(job_name, job_def, queue, self, array_properties={"statusSummary": {}, "index": i},
                            provided_job_id=f"{job.job_id}:{i}", **common)
                children.append((child, i))
            job._child_jobs = [c for c, _ in children]
        else:
            children.append((job, None))
        for j in [job] + [c for c, _ in children if c is not job]:
            self.backend._jobs[j.job_id] = j
            j.job_started_at = datetime.datetime.now()
            j.log_stream_name = j._stream_name
        for c, _ in children:
            c._start_attempt()
        threading.Thread(target=_run_job, args=(rt, job, children, container_overrides or {}),
                         name=f"batch-{job.job_id}", daemon=True).start()
        return job_name, job.job_id, job.arn

    BatchSimpleBackend.submit_job = submit_job


def _run_job(rt: Runtime, job: Any, children: list[tuple[Any, int | None]], overrides: dict[str, Any]) -> None:
    props = job.job_definition.container_properties or {}
    env_def = {e["name"]: e["value"] for e in props.get("environment", [])}
    env_def.update({e["name"]: e["value"] for e in overrides.get("environment", [])})
    command = overrides.get("command") or props.get("command") or []
    argv = [str(rt.batch_entrypoint), *command]  # Docker: CMD (the job's command) follows the ENTRYPOINT
    duration = (job.timeout or job.job_definition.timeout or {}).get("attemptDurationSeconds")
    procs = []
    for child, index in children:
        tmp = Path(tempfile.mkdtemp(prefix=f"batch-{child.job_id.replace(':', '-')}-", dir=rt.workdir))
        # the image's statscore is the code under test (as for the functions), not whatever the venv installed
        env = dict(rt.base_env(tmp), **env_def, PYTHONPATH=str(rt.code_root), AWS_BATCH_JOB_ID=child.job_id,
                   AWS_BATCH_JQ_NAME=job.job_queue.name)
        if index is not None:
            env["AWS_BATCH_JOB_ARRAY_INDEX"] = str(index)
        out = (tmp / "output.log").open("w")
        log(f"batch {child.job_id}: {' '.join(argv)} (log {tmp / 'output.log'})")
        procs.append((child, subprocess.Popen(argv, cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT), out))
    ok = True
    for child, proc, out in procs:
        try:
            code = proc.wait(timeout=duration)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
            child.job_stopped_reason = "Job attempt duration exceeded timeout"
        except Exception:
            log(traceback.format_exc())
            code = -1
        out.close()
        child.exit_code = code
        log(f"batch {child.job_id}: exit {code}")
        ok = ok and code == 0
        child._mark_stopped(success=code == 0)
    job._mark_stopped(success=ok)  # the array parent; a no-op for a single job (its own child)


# ----------------------------------------------------------------------------- SQS
def patch_sqs_send() -> None:
    """Sending to a standard queue without counting the queue.

    moto's ``send_message`` reads ``queue.attributes`` to see whether a FIFO queue
    deduplicates by content, and that property counts every message in the queue (visible,
    in flight, delayed) on each read: sending 30,000 messages costs 30,000^2/2 visibility
    checks, about 0.5 s per batch of 10 by the 2,000th message. For a standard queue the
    answer is always "no", so while a message is sent to one, ``attributes`` skips the
    counts. Everything else (get_queue_attributes' counts included) is moto's own. Used by
    the enumerate benchmark and scale test (benchmarks/bench_enumerate.py) and by
    :func:`apply`.
    """
    from moto.sqs import models

    sending = threading.local()
    attributes = models.Queue.attributes.fget
    send_message = models.SQSBackend.send_message

    def light_attributes(queue: Any) -> dict[str, Any]:
        if getattr(sending, "on", False) and not queue.fifo_queue:
            return {}  # standard queue: no ContentBasedDeduplication, no need to count the messages
        return attributes(queue)

    def send_message_counting_nothing(self: Any, *args: Any, **kw: Any) -> Any:
        sending.on = True
        try:
            return send_message(self, *args, **kw)
        finally:
            sending.on = False

    models.Queue.attributes = property(light_attributes)  # type: ignore[method-assign,assignment]
    models.SQSBackend.send_message = send_message_counting_nothing  # type: ignore[method-assign]


# ----------------------------------------------------------------------------- all
def apply(rt: Runtime) -> None:
    """Patch moto in this process (the server's), before it serves."""
    rt.workdir.mkdir(parents=True, exist_ok=True)
    _patch_batch_integration_normalisation()
    _patch_lambda_cfn_image_config()
    _patch_lambda_invoke(rt)
    _patch_batch_submit(rt)
    patch_sqs_send()

"""Issue 14, must-show 5: a bad ``cog_opts``, an output location that cannot be written (a
missing bucket, a bucket policy denying PutObject, a path under a file) and an invalid
``plugin_config`` stop ``odc-stats run`` and a ``run --from-sqs`` worker before any task:
one line each, no product written, and the worker takes no message (the queue still holds
them, never received, and a worker with the fixed config then does them all).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import yaml
from click.testing import CliRunner

from statscore.cli import main

BIN = Path(sys.executable).parent
TIMES: dict[str, float] = {}


def _config(path: Path, location: str, **extra) -> Path:
    cfg = {"plugin": "pq", "output_location": location, "threads": 1, "s3_acl": "public-read",
           "job_queue_max_lease": 30, "renew_safety_margin": 5, "future_poll_interval": 1, **extra}
    path.write_text(yaml.safe_dump(cfg))
    return path


def _odc_stats(*args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    r = subprocess.run([str(BIN / "odc-stats"), *args], capture_output=True, text=True, timeout=300, env=env)
    return r, time.monotonic() - t0


def _publish(planned, queue, n: int = 3) -> None:
    r = CliRunner().invoke(main, ["publish-tasks", planned.url, queue.name, f":{n}"])
    assert r.exit_code == 0, r.output


def _policy_denying_put(bucket: str) -> None:
    boto3.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))


def _keys(bucket: str) -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]


BAD = {
    # name: (config changes, what the one line must say)
    "cog_opts compression": ({"cog_opts": {"compress": "jpeg"}}, "cog_opts (band 'total', uint16): GDAL cannot write it"),
    "cog_opts level": ({"cog_opts": {"zlevel": 15}}, "GDAL rejects a creation option: '15' is an unexpected value for ZLEVEL"),
    "plugin_config": ({"plugin_config": {"filters": {"clear_2_5": [["openning", 2]]}}},
                      "plugin_config of plugin 'pq': unknown mask filter operation 'openning'"),
    "missing bucket": ({"output_location": "s3://no-such-bucket-statscore/out"},
                       "output location s3://no-such-bucket-statscore/out: cannot write with ACL public-read (NoSuchBucket"),
}


def _env(aws_env) -> dict:
    import os

    return {**os.environ, **aws_env}


@pytest.mark.parametrize("case", list(BAD) + ["access denied"])
def test_run_stops_before_any_task(planned, bucket, tmp_path, aws_env, case):
    changes, needle = BAD.get(case, ({}, f"output location s3://{bucket}/out: cannot write with ACL public-read (403"))
    if case == "access denied":
        _policy_denying_put(bucket)
    cfg = _config(tmp_path / "run.yaml", f"s3://{bucket}/out", **changes)
    r, secs = _odc_stats("run", str(planned.db), "--config", str(cfg), env=_env(aws_env))
    TIMES[f"run: {case}"] = secs
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.strip().count("\n") == 0 and needle in r.stderr, r.stderr  # one line, naming the input
    assert r.stdout == ""  # no task line: nothing was computed
    assert _keys(bucket) == []


def test_run_to_a_path_under_a_file_stops_before_any_task(planned, tmp_path, aws_env):
    (tmp_path / "file").write_text("not a folder")
    cfg = _config(tmp_path / "run.yaml", (tmp_path / "file" / "out").as_uri())
    r, secs = _odc_stats("run", str(planned.db), "--config", str(cfg), env=_env(aws_env))
    TIMES["run: local path under a file"] = secs
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == f"Error: output location {(tmp_path / 'file' / 'out').as_uri()}: cannot write (Not a directory)"


def test_run_with_a_cache_that_does_not_open_stops_before_any_task(planned, bucket, tmp_path, aws_env):
    (tmp_path / "broken.db").write_bytes(b"not an lmdb file")
    cfg = _config(tmp_path / "run.yaml", f"s3://{bucket}/out")
    r, _ = _odc_stats("run", str(tmp_path / "broken.db"), "--config", str(cfg), env=_env(aws_env))
    assert r.returncode == 1 and r.stdout == "" and r.stderr.count("\n") == 1, r.stderr
    assert "broken.db" in r.stderr


@pytest.mark.parametrize("case", list(BAD) + ["access denied"])
def test_worker_stops_before_taking_a_message(planned, queue, bucket, tmp_path, aws_env, case):
    _publish(planned, queue, 3)
    changes, needle = BAD.get(case, ({}, f"output location s3://{bucket}/out: cannot write with ACL public-read (403"))
    if case == "access denied":
        _policy_denying_put(bucket)
    cfg = _config(tmp_path / "run.yaml", f"s3://{bucket}/out", **changes)
    r, secs = _odc_stats("run", "--from-sqs", queue.name, "--config", str(cfg), env=_env(aws_env))
    TIMES[f"worker: {case}"] = secs
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and needle in r.stderr, r.stderr
    assert r.stdout == ""
    # every message is still waiting, none in flight, none in the dead-letter queue ...
    assert queue.counts() == (3, 0) and queue.counts(queue.dlq_url) == (0, 0)
    # ... and none was ever received: the first receive now is each message's first
    msgs = boto3.client("sqs").receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                               AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert len(msgs) == 3 and {m["Attributes"]["ApproximateReceiveCount"] for m in msgs} == {"1"}
    assert _keys(bucket) == []


def test_the_fixed_config_then_does_every_message(planned, queue, bucket, tmp_path, aws_env):
    _publish(planned, queue, 3)
    bad = _config(tmp_path / "bad.yaml", f"s3://{bucket}/out", cog_opts={"zlevel": 15})
    r, _ = _odc_stats("run", "--from-sqs", queue.name, "--config", str(bad), env=_env(aws_env))
    assert r.returncode == 1 and queue.counts() == (3, 0)
    good = _config(tmp_path / "good.yaml", f"s3://{bucket}/out")
    r, _ = _odc_stats("run", "--from-sqs", queue.name, "--config", str(good), env=_env(aws_env))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "3 messages: 3 done" in r.stdout
    assert queue.counts() == (0, 0) and queue.counts(queue.dlq_url) == (0, 0)
    items = [k for k in _keys(bucket) if k.endswith(".stac-item.json")]
    assert len(items) == 3 and not any(".statscore-probe" in k for k in _keys(bucket))


@pytest.fixture(scope="module", autouse=True)
def _print_times():
    yield
    if TIMES:
        print("\nfail before spending: seconds from start to exit")
        for k, v in TIMES.items():
            print(f"  {k:<40} {v:5.1f}")

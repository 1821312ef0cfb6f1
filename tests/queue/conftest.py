"""Fixtures for the SQS work-queue tests: a moto server over HTTP on 127.0.0.1, a small
cache of real tasks uploaded to its S3, fresh queues (with a dead-letter queue) per test,
and ``odc-stats run --from-sqs`` workers as separate processes."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from statscore.cli import main
from statscore.sampledata import generate_scenes, write_products

from sqs_support import RECOVERY, Worker

@pytest.fixture(scope="session")
def planned(tmp_path_factory, aws_env):
    """Ten days of 32-px S2 scenes, a cache of tasks on a coarse grid, uploaded to moto S3."""
    import boto3

    root = tmp_path_factory.mktemp("sqs")
    write_products(root / "products")
    recs = generate_scenes(root / "data", product="s2_l2a", start="2020-01-01", end="2020-01-10", size_px=32)
    db = root / "tasks.db"
    r = CliRunner().invoke(main, ["save-tasks", "--grid", "au_extended_s2_80", "--temporal-range", "2020-01--P1M",
                                  "--frequency", "all", "--input-products", f"{root}/data/**/*.stac-item.json", str(db)])
    assert r.exit_code == 0, r.output
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="caches")
    s3.upload_file(str(db), "caches", "sqs/tasks.db")
    return root, db, "s3://caches/sqs/tasks.db", recs


@dataclass
class Queues:
    name: str
    url: str
    dlq_name: str
    dlq_url: str
    bucket: str

    def counts(self, url: str | None = None) -> tuple[int, int]:
        import boto3

        a = boto3.client("sqs").get_queue_attributes(QueueUrl=url or self.url, AttributeNames=["All"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])

    def bodies(self, url: str) -> list[str]:
        """Drain ``url`` (short lease) and return the bodies; the messages come back after 1 s."""
        import boto3

        sqs = boto3.client("sqs")
        out = []
        while True:
            m = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=1,
                                    WaitTimeSeconds=0).get("Messages", [])
            if not m:
                return out
            out += [x["Body"] for x in m]

    def stac_items(self) -> dict[str, int]:
        """STAC item key -> number of versions written (the bucket is versioned)."""
        import boto3

        vs = boto3.client("s3").list_object_versions(Bucket=self.bucket).get("Versions", [])
        out: dict[str, int] = {}
        for v in vs:
            if v["Key"].endswith(".stac-item.json"):
                out[v["Key"]] = out.get(v["Key"], 0) + 1
        return out

    def keys(self) -> list[str]:
        import boto3

        return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=self.bucket).get("Contents", [])]


@pytest.fixture
def queues(aws_env, request) -> Queues:
    """A fresh work queue whose dead-letter queue takes a message after ``max_receives``
    (``@pytest.mark.parametrize('queues', [n], indirect=True)``; default 2), and a versioned bucket."""
    import boto3

    max_receives = getattr(request, "param", 2)
    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    tag = uuid.uuid4().hex[:8]
    dlq_url = sqs.create_queue(QueueName=f"stats-{tag}-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=f"stats-{tag}", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": arn, "maxReceiveCount": str(max_receives)})})["QueueUrl"]
    bucket = f"out-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return Queues(f"stats-{tag}", url, f"stats-{tag}-dlq", dlq_url, bucket)


@pytest.fixture
def workers(aws_env, tmp_path):
    """``start(queue, config, *args)`` -> :class:`Worker`; every worker is killed at teardown."""
    started: list[Worker] = []

    def start(queue: str, config: Path, *args: str) -> Worker:
        w = Worker(aws_env, queue, config, tmp_path, *args)
        started.append(w)
        return w

    yield start
    for w in started:
        w.kill()


@pytest.fixture(scope="session", autouse=True)
def _recovery_table():
    """Print the measured fault-recovery times at the end (``-s`` shows them)."""
    yield
    if RECOVERY:
        print("\nSQS fault recovery (seconds):")
        for k, v in RECOVERY.items():
            print(f"  {k:<60} {v:6.1f}")

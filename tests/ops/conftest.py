"""Fixtures for the operations tests (statscore.ops): a small planned cache of real scenes,
on disk and on the session's moto S3, and fresh SQS queues with a dead-letter queue."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from statscore.cli import main
from statscore.sampledata import generate_scenes, write_products


@dataclass(frozen=True)
class Planned:
    root: Path
    db: Path
    """The cache on disk."""
    url: str
    """The same cache on the moto server's S3."""
    stac: str
    """Glob of the scenes' STAC items."""


@pytest.fixture(scope="session")
def planned(tmp_path_factory, aws_env) -> Planned:
    """Five days of 32 px Sentinel-2 scenes, their tasks on au_extended_s2_80 (a coarse grid: quick tasks)."""
    import boto3

    root = tmp_path_factory.mktemp("ops")
    write_products(root / "products")
    generate_scenes(root / "data", product="s2_l2a", start="2020-01-01", end="2020-01-05", size_px=32)
    db = root / "tasks.db"
    stac = f"{root}/data/**/*.stac-item.json"
    r = CliRunner().invoke(main, ["save-tasks", "--grid", "au_extended_s2_80", "--temporal-range", "2020-01--P1M",
                                  "--frequency", "all", "--input-products", stac, str(db)])
    assert r.exit_code == 0, r.output
    bucket = f"ops-caches-{uuid.uuid4().hex[:6]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.upload_file(str(db), bucket, "tasks.db")
    return Planned(root, db, f"s3://{bucket}/tasks.db", stac)


@dataclass(frozen=True)
class Queue:
    name: str
    url: str
    dlq_url: str

    def counts(self, url: str | None = None) -> tuple[int, int]:
        """(visible, in flight) messages."""
        import boto3

        a = boto3.client("sqs").get_queue_attributes(QueueUrl=url or self.url, AttributeNames=["All"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def queue(aws_env) -> Queue:
    """A fresh queue whose dead-letter queue takes a message after 3 receives."""
    import boto3

    sqs = boto3.client("sqs")
    tag = uuid.uuid4().hex[:8]
    dlq_url = sqs.create_queue(QueueName=f"ops-{tag}-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=f"ops-{tag}", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": arn, "maxReceiveCount": "3"})})["QueueUrl"]
    return Queue(f"ops-{tag}", url, dlq_url)


@pytest.fixture
def bucket(aws_env) -> str:
    import boto3

    name = f"ops-out-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name

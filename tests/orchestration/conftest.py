"""Fixtures for the run orchestration tests: the session's moto server over HTTP, a few
days of sample STAC items on disk, and per test a fresh deployment on moto (task table
shaped as the stack's, queue, cache and output buckets) with its :class:`RunSettings`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest

from statscore.orchestration import Clients, RunSettings
from statscore.sampledata import generate_scenes
from statscore.tasktable import DynamoTaskTable
from tests.task_table_support import create_task_table


@pytest.fixture(scope="session")
def stac_items(tmp_path_factory) -> str:
    """Seven Sentinel-2 STAC items of early January 2020 (16 px COGs): 48 annual tasks on au_extended_s2_80."""
    root = tmp_path_factory.mktemp("orchestration")
    generate_scenes(root / "data", product="s2_l2a", start="2020-01-01", end="2020-01-05", size_px=16,
                    formats=("stac",))
    return f"{root}/data/**/*.stac-item.json"


@dataclass
class Deployment:
    """What the stack would create, on the moto server, and the functions' view of it."""

    cfg: RunSettings
    clients: Clients
    table: DynamoTaskTable
    output_bucket: str

    def with_settings(self, **kw: Any) -> Deployment:
        return replace(self, cfg=replace(self.cfg, **kw))

    def queued(self) -> int:
        a = self.clients.sqs.get_queue_attributes(QueueUrl=self.cfg.queue_url,
                                                  AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"])

    def s3_json(self, url: str) -> Any:
        import json

        bucket, _, key = url.removeprefix("s3://").partition("/")
        return json.loads(self.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


@pytest.fixture
def deployment(aws_env, stac_items) -> Deployment:
    tag = uuid.uuid4().hex[:8]
    clients = Clients(s3=boto3.client("s3"), sqs=boto3.client("sqs"), dynamodb=boto3.client("dynamodb"))
    create_task_table(clients.dynamodb, f"tasks-{tag}")
    queue_url = clients.sqs.create_queue(QueueName=f"run-{tag}")["QueueUrl"]
    for b in (f"caches-{tag}", f"products-{tag}"):
        clients.s3.create_bucket(Bucket=b)
    cfg = RunSettings(table=f"tasks-{tag}", queue_url=queue_url, cache_bucket=f"caches-{tag}",
                      output_location=f"s3://products-{tag}/stats", grid="au_extended_s2_80",
                      stac_location=stac_items, run_config={"product": {"name": "ga_s2_test", "version": "1.0.0"},
                                                            "plugin": "pq"})
    return Deployment(cfg, clients, DynamoTaskTable(cfg.table, clients.dynamodb), f"products-{tag}")

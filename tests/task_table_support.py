"""The task table as infra/task_table.py deploys it, created on a moto server: shared by the
queue and orchestration tests and the enumerate benchmark."""

from __future__ import annotations

from typing import Any

from statscore.tasktable import BY_RUN_ATTRIBUTES, BY_RUN_INDEX


def create_task_table(client: Any, name: str) -> None:
    """Key ``task_id``, GSI ``by_run`` (run_id, task_id) projecting what the run functions read."""
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "task_id", "AttributeType": "S"},
                              {"AttributeName": "run_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{
            "IndexName": BY_RUN_INDEX,
            "KeySchema": [{"AttributeName": "run_id", "KeyType": "HASH"},
                          {"AttributeName": "task_id", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "INCLUDE",
                           "NonKeyAttributes": list(BY_RUN_ATTRIBUTES)}}])

"""The SQS work queue: task messages in odc-stats' format and a small adapter over boto3.

A message body is odc-stats' JSON ``{"filedb": CACHE_URL, "tile_idx": "2015--P1Y/49/24"}``,
so queues filled by odc-stats and statscore are interchangeable. The adapter exposes only
what a worker needs (send in batches of 10, receive one message with a lease, extend or
release the lease, delete) plus dead-letter redrive. boto3 reads ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_SQS`` itself, so the same code talks to AWS or a local endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import InputError, SourceError
from .task import TileIdx, parse_task, render_task

__all__ = ["Message", "SQSQueue", "open_queue", "sqs_client", "task_message", "parse_task_message", "redrive",
           "BATCH_SIZE", "MODES", "message_mode"]

BATCH_SIZE = 10
"""SQS accepts at most 10 entries per SendMessageBatch / DeleteMessageBatch."""


MODES = ("update",)
"""Values of a message's optional ``mode``: ``update`` recomputes the task only if its inputs changed."""


def task_message(tile: tuple[str, int, int], filedb: str, mode: str | None = None) -> str:
    """The JSON body odc-stats puts on the queue for one task of the cache ``filedb``; ``mode``
    (statscore's, see :data:`MODES`) is an extra key odc-stats workers ignore."""
    doc = {"filedb": filedb, "tile_idx": render_task(tile)}
    if mode:
        doc["mode"] = mode
    return json.dumps(doc)


def message_mode(body: str) -> str:
    """The message's ``mode`` (empty when it has none); :class:`InputError` for an unknown one."""
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, TypeError):
        raise InputError(f"message body is not JSON: {_clip(body)!r}") from None
    mode = doc.get("mode", "") if isinstance(doc, dict) else ""
    if mode and mode not in MODES:
        raise InputError(f"message mode {mode!r} is not one of {', '.join(MODES)}: {_clip(body)!r}")
    return str(mode or "")


def parse_task_message(body: str) -> tuple[TileIdx, str]:
    """``(tile, filedb)`` from a message body; :class:`InputError` (one line) when malformed."""
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, TypeError):
        raise InputError(f"message body is not JSON: {_clip(body)!r}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("filedb"), str) or not isinstance(doc.get("tile_idx"), str):
        raise InputError(f"message body needs string keys 'filedb' and 'tile_idx': {_clip(body)!r}")
    if not doc["filedb"]:
        raise InputError(f"message body has an empty 'filedb': {_clip(body)!r}")
    return parse_task(doc["tile_idx"]), doc["filedb"]


def _clip(text: Any, n: int = 120) -> str:
    s = str(text)
    return s if len(s) <= n else s[: n - 3] + "..."


def sqs_client() -> Any:
    """A boto3 SQS client; boto3 itself honours ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_SQS``."""
    import boto3

    return boto3.client("sqs")


@dataclass(frozen=True)
class Message:
    """One received message; ``receipt`` is the handle that owns its current lease."""

    id: str
    body: str
    receipt: str
    receive_count: int = 1
    """How many times SQS has delivered it (1 on the first delivery)."""


class SQSQueue:
    """One SQS queue, named by its name or URL."""

    def __init__(self, name_or_url: str, client: Any = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        self.client = client if client is not None else sqs_client()
        if name_or_url.startswith(("https://", "http://")):
            self.url = name_or_url
            try:
                self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])
            except ClientError as e:
                raise InputError(f"queue {name_or_url}: {_aws_reason(e)}") from None
            except BotoCoreError as e:
                raise SourceError(f"queue {name_or_url}: cannot reach SQS ({e})") from None
        else:
            try:
                self.url = self.client.get_queue_url(QueueName=name_or_url)["QueueUrl"]
            except ClientError as e:
                raise InputError(f"queue {name_or_url!r}: {_aws_reason(e)}") from None
            except BotoCoreError as e:
                raise SourceError(f"queue {name_or_url!r}: cannot reach SQS ({e})") from None
        self.name = self.url.rstrip("/").rsplit("/", 1)[-1]

    def __repr__(self) -> str:
        return f"SQSQueue({self.name!r})"

    def send(self, bodies: Iterable[str]) -> int:
        """Send bodies in batches of 10; returns how many were sent. A rejected entry is an error."""
        sent = 0
        for batch in _batches(bodies, BATCH_SIZE):
            entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(batch)]
            rr = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
            failed = rr.get("Failed") or []
            if failed:
                f = failed[0]
                raise SourceError(f"queue {self.name}: {len(failed)} of {len(batch)} messages rejected after "
                                  f"{sent} sent ({f.get('Code')}: {f.get('Message')})")
            sent += len(batch)
        return sent

    def receive(self, visibility_timeout: int, wait_seconds: int = 1) -> Message | None:
        """One message leased for ``visibility_timeout`` s, waiting up to ``wait_seconds`` (long poll)."""
        rr = self.client.receive_message(QueueUrl=self.url, MaxNumberOfMessages=1,
                                         VisibilityTimeout=int(visibility_timeout),
                                         WaitTimeSeconds=int(max(0, min(20, wait_seconds))),
                                         MessageSystemAttributeNames=["ApproximateReceiveCount"])
        msgs = rr.get("Messages") or []
        if not msgs:
            return None
        m = msgs[0]
        count = int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1))
        return Message(m["MessageId"], m.get("Body", ""), m["ReceiptHandle"], count)

    def extend(self, msg: Message, seconds: int) -> None:
        """Keep the lease: the message stays invisible for ``seconds`` from now."""
        self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=msg.receipt,
                                              VisibilityTimeout=int(seconds))

    def release(self, msg: Message) -> None:
        """Give the message back at once (visibility 0) so another worker, or the DLQ, takes it."""
        self.extend(msg, 0)

    def delete(self, msg: Message) -> None:
        """The task is finished: remove the message for good."""
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=msg.receipt)

    def attributes(self) -> dict[str, str]:
        return self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["All"])["Attributes"]

    def counts(self) -> tuple[int, int]:
        """Approximate (visible, in-flight) message counts."""
        a = self.attributes()
        return int(a.get("ApproximateNumberOfMessages", 0)), int(a.get("ApproximateNumberOfMessagesNotVisible", 0))


def _aws_reason(e: Any) -> str:
    err = e.response.get("Error", {})
    code = err.get("Code", "")
    if "NonExistentQueue" in code or code == "QueueDoesNotExist":
        return "no such queue"
    return f"{code}: {err.get('Message', '')}".strip(": ")


def _batches(items: Iterable[Any], n: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for it in items:
        batch.append(it)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


def open_queue(name_or_url: str) -> SQSQueue:
    """The queue by name or URL; an unknown queue is an :class:`InputError` naming it."""
    return SQSQueue(name_or_url)


def redrive(dlq: SQSQueue, queue: SQSQueue, *, lease: int = 60) -> int:
    """Move every message of ``dlq`` to ``queue`` (receive 10, send 10, then delete those 10).

    A message is deleted from the dead-letter queue only after the send succeeded, so a
    crash can duplicate a message but never lose one. Returns how many were moved.
    """
    moved = 0
    while True:
        rr = dlq.client.receive_message(QueueUrl=dlq.url, MaxNumberOfMessages=BATCH_SIZE,
                                        VisibilityTimeout=lease, WaitTimeSeconds=1)
        msgs = rr.get("Messages") or []
        if not msgs:
            return moved
        queue.send(m.get("Body", "") for m in msgs)
        dlq.client.delete_message_batch(QueueUrl=dlq.url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
        moved += len(msgs)

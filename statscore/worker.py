"""``run --from-sqs``: a worker that takes tasks from an SQS queue and never loses or doubles one.

One message at a time is leased for ``job_queue_max_lease`` s. The task runs in a child
process (kept between tasks, replaced when it is killed) so this process stays free to
renew the lease before ``renew_safety_margin`` runs out, touch the heartbeat file every
``future_poll_interval`` s, cancel the task past ``max_processing_time`` and answer
SIGTERM. Success, or output already present, deletes the message; any failure releases
it (visibility 0) so it is retried at once and, after the queue's ``maxReceiveCount``,
moved to the dead-letter queue by SQS itself. Outputs are written STAC item last, so a
worker killed mid-task leaves nothing that looks complete and the retry redoes it.

With a task table (:class:`~statscore.tasktable.TaskRows`, the run's DynamoDB table on AWS)
the worker also records each task it takes: RUNNING with its worker id, then DONE with the
STAC item URL and seconds, or FAILED with a one-line reason and seconds; both with what the
task used (CPU and wall seconds, peak memory, bytes read, observations: :mod:`statscore.ops.usage`). The message stays
the unit of work: a row write that fails is logged and the task goes on, and the table's
conditional writes never turn a DONE row back.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from .config import RunConfig
from .errors import InputError, SourceError, StatsError
from .run import TaskOutcome, TaskReader, _child, cpu_and_memory, output_product
from .sqs import Message, SQSQueue, message_mode, parse_task_message
from .task import TileIdx, render_task
from .tasktable import TaskRows

__all__ = ["CacheFetcher", "WorkerSummary", "run_worker", "worker_id"]

_log = logging.getLogger(__name__)

_TICK = 0.2
"""Seconds between checks of the running task (lease, deadline, stop request)."""
_INTERRUPT_GRACE = 5.0
"""Seconds a task gets to clean up its partial outputs after SIGINT before it is killed."""


class CacheFetcher:
    """Task caches by URL: an ``s3://`` cache is downloaded once per worker and reused."""

    def __init__(self) -> None:
        self._dir: str | None = None
        self._paths: dict[str, str] = {}

    def local(self, url: str) -> str:
        """A local path for the cache ``url`` (local paths are used as they are)."""
        if url in self._paths:
            return self._paths[url]
        u = urlparse(url)
        if u.scheme == "s3":
            path = self._download(url, u.netloc, u.path.lstrip("/"))
        elif u.scheme in ("", "file"):
            path = u.path if u.scheme == "file" else url
        else:
            raise InputError(f"cache {url}: expected a local path or an s3:// URL")
        self._paths[url] = path
        return path

    def _download(self, url: str, bucket: str, key: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        from .outputs import s3_client
        from .outputs.store import is_not_found, s3_error_code

        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="statscore-caches-")
        folder = tempfile.mkdtemp(dir=self._dir)  # one folder per URL: same names never clash
        dest = os.path.join(folder, os.path.basename(key) or "cache.db")
        try:
            s3_client().download_file(bucket, key, dest + ".part")
        except ClientError as e:
            why = "not found on S3" if is_not_found(e) else f"cannot download ({s3_error_code(e)})"
            raise InputError(f"cache {url}: {why}") from None
        except BotoCoreError as e:
            raise SourceError(f"cache {url}: cannot download ({e})") from None
        os.replace(dest + ".part", dest)
        _log.info("fetched cache %s -> %s", url, dest)
        return dest

    def close(self) -> None:
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self._paths.clear()


def _task_loop(conn) -> None:  # pragma: no cover - runs in the child process
    """Child process: run the tasks sent over ``conn`` one by one (see ``run._child``)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _exit_with_parent()
    try:
        while True:
            args = conn.recv()
            if args is None:
                return
            _child(conn, *args)
    except (KeyboardInterrupt, EOFError):
        pass  # interrupted by the worker: write_task_outputs removed what it had written


def _exit_with_parent() -> None:  # pragma: no cover - runs in the child process
    """A worker killed with SIGKILL must not leave its task running (and writing) unsupervised."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


class _TaskProcess:
    """A child process that runs one task at a time; replaced after it is killed."""

    def __init__(self) -> None:
        self.proc: Any = None
        self.conn: Any = None

    def submit(self, args: tuple) -> None:
        if self.proc is None or not self.proc.is_alive():
            ctx = mp.get_context("spawn")
            self.conn, child = ctx.Pipe(duplex=True)
            self.proc = ctx.Process(target=_task_loop, args=(child,), daemon=True)
            self.proc.start()
            child.close()
        self.conn.send(args)

    def result(self, timeout: float) -> tuple[str, Any] | None:
        """``(status, payload)`` when the task ended within ``timeout`` s; ``None`` otherwise."""
        try:
            if self.conn.poll(timeout):
                return self.conn.recv()
        except (EOFError, OSError):
            pass
        if not self.proc.is_alive():
            return ("failed", f"task process died (exit code {self.proc.exitcode})")
        return None

    def interrupt(self) -> None:
        """Stop the task now: SIGINT (partial outputs are removed), then SIGKILL after a grace period."""
        if self.proc is None or not self.proc.is_alive():
            return
        os.kill(self.proc.pid, signal.SIGINT)
        self.proc.join(_INTERRUPT_GRACE)
        self.kill()

    def kill(self) -> None:
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(5)
        self.proc = None

    def close(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            try:
                self.conn.send(None)
                self.proc.join(5)
            except OSError:
                pass
        self.kill()


@dataclass
class WorkerSummary:
    """What one worker did: counts by outcome, and whether it stopped on a signal."""

    done: int = 0
    skipped: int = 0
    unchanged: int = 0
    """Update mode: products whose input fingerprint matched (nothing recomputed)."""
    failed: int = 0
    released: int = 0
    """Messages given back unfinished because the worker was asked to stop."""
    stopped_by_signal: bool = False
    outcomes: list[TaskOutcome] = field(default_factory=list)


class _Stop:
    """SIGTERM/SIGINT set a flag; the loop finishes or releases the current message and exits."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _Stop:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.requested = True
        _log.warning("received %s: releasing the current task and stopping", signal.Signals(signum).name)

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def worker_id(env: dict[str, str] | None = None) -> str:
    """Who ran a task, for its row: ``<Batch job id>:<array index>`` on AWS Batch, else ``<host>:<pid>``."""
    env = dict(os.environ) if env is None else env
    job = env.get("AWS_BATCH_JOB_ID", "")
    if job:
        index = env.get("AWS_BATCH_JOB_ARRAY_INDEX", "")
        return job if not index or job.endswith(f":{index}") else f"{job}:{index}"  # array children: id is parent:index
    return f"{socket.gethostname()}:{os.getpid()}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _Rows:
    """The worker's writes to the task table. A write that fails (throttling, network, IAM)
    is logged and the worker goes on: the SQS message, not the row, decides what is retried,
    and the next Verify reads whatever state the row was left in."""

    def __init__(self, rows: TaskRows | None, worker: str) -> None:
        self.rows, self.worker = rows, worker

    def running(self, tile: TileIdx) -> None:
        self._write("mark_running", tile, worker=self.worker)

    def done(self, tile: TileIdx, output_uri: str, seconds: float, usage: dict[str, Any] | None = None) -> None:
        self._write("mark_done", tile, output_uri=output_uri, seconds=seconds, usage=usage)

    def failed(self, tile: TileIdx, reason: str, seconds: float, usage: dict[str, Any] | None = None) -> None:
        self._write("mark_failed", tile, reason=_one_line(reason), seconds=seconds, usage=usage)

    def _write(self, op: str, tile: TileIdx, **kw: Any) -> None:
        if self.rows is None:
            return
        task_id = render_task(tile)
        try:
            changed = getattr(self.rows, op)(task_id, **kw)
        except Exception as e:  # noqa: BLE001 - the message carries the task; the row is a record
            _log.warning("%s: task table %s failed (%s); going on", task_id, op, _one_line(str(e)))
            return
        if not changed:  # DONE already (another worker) or no row (queued without Enumerate)
            _log.debug("%s: task table %s left the row as it was", task_id, op)


def run_worker(
    queue: SQSQueue,
    plugin: Any,
    cfg: RunConfig,
    *,
    plugin_name: str,
    location: str,
    idle_timeout: float = 0.0,
    failure_log: str | None = None,
    on_outcome: Callable[[TaskOutcome], None] | None = None,
    rows: TaskRows | None = None,
    worker: str | None = None,
) -> WorkerSummary:
    """Process messages of ``queue`` until it stays empty for ``idle_timeout`` s or SIGTERM.

    Every received message ends deleted (done or already present) or released (failed,
    malformed, or stopped), never kept beyond its lease by a live worker. With ``rows``
    each task's row records RUNNING (by ``worker``, default :func:`worker_id`), then DONE
    or FAILED.
    """
    lease = int(cfg.job_queue_max_lease)
    if lease <= cfg.renew_safety_margin:
        raise InputError(f"job_queue_max_lease={lease} must exceed renew_safety_margin={cfg.renew_safety_margin}")
    cpus, _ = cpu_and_memory()
    threads = cpus if cfg.threads in (-1, 0) else cfg.threads
    product = output_product(cfg, plugin, location)
    fetcher = CacheFetcher()
    readers: dict[str, TaskReader] = {}
    child = _TaskProcess()
    summary = WorkerSummary()
    record = _Rows(rows, worker or worker_id())

    def report(oc: TaskOutcome, msg: Message, filedb: str = "") -> None:
        summary.outcomes.append(oc)
        if oc.status == "failed":
            summary.failed += 1
            _record_failure(failure_log, queue, msg, oc, filedb)
        elif oc.status in ("done", "skipped", "unchanged"):
            setattr(summary, oc.status, getattr(summary, oc.status) + 1)
        else:
            summary.released += 1
        if on_outcome is not None:
            on_outcome(oc)

    idle_since = time.monotonic()
    try:
        with _Stop() as stop:
            while not stop.requested:
                _heartbeat(cfg.heartbeat_filepath)
                waited = time.monotonic() - idle_since
                t_lease = time.monotonic()
                msg = queue.receive(lease, wait_seconds=max(1, min(5, idle_timeout - waited)))
                if msg is None:
                    if time.monotonic() - idle_since >= idle_timeout:
                        _log.info("queue %s stayed empty for %.0f s: exiting", queue.name, idle_timeout)
                        break
                    continue
                if stop.requested:
                    queue.release(msg)
                    break
                _handle_message(queue, msg, t_lease, lease, cfg, product, plugin_name, location, threads,
                                fetcher, readers, child, stop, report, record, plugin)
                idle_since = time.monotonic()
            summary.stopped_by_signal = stop.requested
    finally:
        child.close()
        fetcher.close()
    return summary


class _Lease:
    """Keeps a received message invisible while we work on it: a thread extends the lease by
    ``lease`` s whenever fewer than ``margin`` s are left, from receipt (cache download and
    task setup included) until the message is deleted or released."""

    def __init__(self, queue: SQSQueue, msg: Message, t_lease: float, lease: int, margin: float,
                 poll_interval: float, heartbeat: str | None) -> None:
        import threading

        self.queue, self.msg, self.lease, self.margin = queue, msg, lease, margin
        self.deadline = t_lease + lease
        self.poll_interval, self.heartbeat = poll_interval, heartbeat
        self.renewals = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"lease-{msg.id[:8]}")
        self._thread.start()

    def _run(self) -> None:
        next_beat = 0.0
        while not self._stop.wait(_TICK):
            now = time.monotonic()
            if now + self.margin >= self.deadline:
                try:
                    self.queue.extend(self.msg, self.lease)
                    self.deadline = now + self.lease
                    self.renewals += 1
                except Exception as e:  # noqa: BLE001 - keep working; outputs are idempotent
                    _log.warning("message %s: could not extend the lease (%s)", self.msg.id, e)
                    self.deadline = now + self.margin + self.poll_interval  # retry later, not every tick
            if now >= next_beat:
                _heartbeat(self.heartbeat)
                next_beat = now + max(_TICK, self.poll_interval)

    def end(self, action: Callable[[Message], None], tile: TileIdx | None) -> None:
        """Stop renewing, then delete or release the message (once)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        _settle(action, self.msg, tile)


def _handle_message(queue: SQSQueue, msg: Message, t_lease: float, lease: int, cfg: RunConfig, product: Any,
                    plugin_name: str, location: str, threads: int, fetcher: CacheFetcher,
                    readers: dict[str, TaskReader], child: _TaskProcess, stop: _Stop,
                    report: Callable[..., None], record: _Rows, plugin: Any = None) -> None:
    from .outputs import is_task_done, stac_item_url
    from .run import check_mode, is_unchanged

    held = _Lease(queue, msg, t_lease, lease, cfg.renew_safety_margin, cfg.future_poll_interval,
                  cfg.heartbeat_filepath)
    t0 = time.monotonic()
    tile: TileIdx | None = None
    filedb = ""
    try:
        tile, filedb = parse_task_message(msg.body)
        if message_mode(msg.body) == "update" and not cfg.update:
            cfg = cfg.model_copy(update={"update": True})  # the execution asked for an update
        check_mode(cfg)
        record.running(tile)
        path = fetcher.local(filedb)
        if path not in readers:
            readers[path] = TaskReader(path)
        reader = readers[path]
        task = reader.load_task(tile, product, cfg.resolution, cfg.dataset_filters)
        done = is_task_done(task)
        unchanged = done and cfg.update and plugin is not None and is_unchanged(task, plugin, cfg)
    except StatsError as e:
        held.end(queue.release, tile)
        what = f"message {msg.id}" + (f" ({render_task(tile)})" if tile else "")
        _log.debug("%s: %s; released (receive %d)", what, e, msg.receive_count)
        seconds = time.monotonic() - t0
        if tile is not None:
            record.failed(tile, str(e), seconds)
        report(TaskOutcome(tile or ("?", 0, 0), "failed", reason=f"{what}: {e}", seconds=seconds), msg, filedb)
        return
    except BaseException:
        held.end(queue.release, tile)
        raise

    if unchanged:
        record.done(tile, stac_item_url(task), time.monotonic() - t0)
        held.end(queue.delete, tile)
        report(TaskOutcome(tile, "unchanged", reason="inputs unchanged (same input fingerprint)",
                           seconds=time.monotonic() - t0), msg)
        return
    if done and not cfg.overwrite and not cfg.update:
        record.done(tile, stac_item_url(task), time.monotonic() - t0)  # the row before the message: never lost
        held.end(queue.delete, tile)
        report(TaskOutcome(tile, "skipped", reason="output already present", seconds=time.monotonic() - t0), msg)
        return

    try:
        child.submit((reader.path, tile, plugin_name, dict(cfg.plugin_config), cfg.model_dump_json(), location,
                      threads, cfg.resolution))
        while True:
            res = child.result(_TICK)
            now = time.monotonic()
            if res is not None:
                status, payload, *rest = res
                usage = rest[0] if rest else None  # what the task used, measured in the child
                if status == "done":
                    record.done(tile, stac_item_url(task), now - t0, usage)
                    held.end(queue.delete, tile)
                    report(TaskOutcome(tile, "done", files=list(payload), seconds=now - t0, usage=usage), msg)
                else:
                    record.failed(tile, str(payload), now - t0, usage)
                    held.end(queue.release, tile)
                    report(TaskOutcome(tile, "failed", reason=str(payload), seconds=now - t0, usage=usage), msg, filedb)
                return
            if stop.requested:
                child.interrupt()
                record.failed(tile, "stopped by signal; the message was released for another worker",
                              time.monotonic() - t0)
                held.end(queue.release, tile)
                report(TaskOutcome(tile, "released", reason="stopped by signal", seconds=time.monotonic() - t0), msg)
                return
            if cfg.max_processing_time > 0 and now - t0 > cfg.max_processing_time:
                child.interrupt()
                why = f"cancelled after max_processing_time={cfg.max_processing_time} s"
                record.failed(tile, why, now - t0)
                held.end(queue.release, tile)
                report(TaskOutcome(tile, "failed", seconds=now - t0, reason=why), msg, filedb)
                return
    except BaseException:
        child.kill()
        held.end(queue.release, tile)
        raise


def _settle(action: Callable[[Message], None], msg: Message, tile: TileIdx | None) -> None:
    """Delete or release; a lost lease only means another worker will see the message again."""
    try:
        action(msg)
    except Exception as e:  # noqa: BLE001 - the message comes back after its lease anyway
        _log.warning("%s: could not %s message %s (%s); it returns after its lease",
                     render_task(tile) if tile else "-", action.__name__, msg.id, e)


def _record_failure(path: str | None, queue: SQSQueue, msg: Message, oc: TaskOutcome, filedb: str) -> None:
    """Append one JSON line per failure: which message and task, and why."""
    if not path:
        return
    rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "queue": queue.name, "message_id": msg.id,
           "receive_count": msg.receive_count, "filedb": filedb,
           "tile_idx": render_task(oc.tile) if oc.tile[0] != "?" else None, "reason": oc.reason}
    with open(path, "a", encoding="utf8") as f:
        f.write(json.dumps(rec) + "\n")


def _heartbeat(path: str | None) -> None:
    if path:
        with open(path, "a", encoding="utf8"):
            os.utime(path, None)

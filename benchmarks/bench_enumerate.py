"""Enumerate at continental scale: 30,000 tasks through the Enumerate step against a local
endpoint (a moto server in its own process, over HTTP).

The run's task cache is built the way save-tasks builds it, from a real plan: a year's
worth of synthetic Sentinel-2 footprints over Australia binned monthly on
``au_extended_s2_20`` (statscore's binning), the first 30,000 tasks kept, written by
statscore's :class:`~statscore.cache.CacheWriter` with each task's dataset ids. The
dataset documents themselves are left out: Enumerate reads only the task list, and
planning 30,000 tasks from documents is save-tasks' own benchmark. The execution input
names that cache (``{"cache": "s3://..."}``), as a user re-running a plan would.

Enumerate runs in a fresh process, as in a Lambda: its wall time and peak resident
memory (``ru_maxrss``, what Lambda reports as Max Memory Used) are measured, and every
call it makes is checked against AWS's limits as botocore sends it: SendMessageBatch
<= 10 entries, BatchWriteItem <= 25 requests, BatchGetItem <= 100 keys; the returned
state must stay far below Step Functions' 256 KB and ``array_size`` within the cap and
Batch's 10,000.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

N_TASKS = 30_000
GRID = "au_extended_s2_20"
FREQUENCY = "monthly"
STATE_MAX = 256 * 1024
"""Step Functions' payload limit (bytes)."""
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


# ---------------------------------------------------------------------------- the cache
def continental_cache(path: str, n_tasks: int = N_TASKS) -> int:
    """Write a task cache of ``n_tasks`` real tasks (see the module docstring); returns the count."""
    import numpy as np

    from statscore.binning import bin_datasets
    from statscore.cache import CacheWriter
    from statscore.grid import parse_grid
    from statscore.sampledata import synthetic_footprints

    grid_name, gs = parse_grid(GRID)
    # ~9,000 tiles of Australia a month: four months are enough for 30,000 monthly tasks
    fp = synthetic_footprints(max(2_000, n_tasks * 11 // 8), product="s2_l2a", region="australia",
                              start="2020-01-01")
    crs = np.array([f"EPSG:{e}" for e in fp.epsg], dtype=object)
    plan = bin_datasets(gs, fp.geometry, crs, fp.datetime, FREQUENCY)
    if len(plan.tasks) < n_tasks:
        raise RuntimeError(f"the sample plan has {len(plan.tasks)} tasks, fewer than {n_tasks}")
    ids = [uuid.UUID(str(i)) for i in fp.ids]
    tasks = {t: [ids[j] for j in m] for t, m in zip(plan.tasks[:n_tasks], plan.members[:n_tasks])}
    config = {"grid": grid_name, "freq": FREQUENCY, "query": {"product": "ga_s2am_ard_3"}}
    writer = CacheWriter(path, grid_name, gs, config, first=[])
    writer.add_tasks(tasks)
    writer.close()
    return len(tasks)


# ---------------------------------------------------------------------------- the endpoint
def serve(port: int) -> None:
    """``moto_server`` on 127.0.0.1:``port``, with its SQS able to take 30,000 messages
    (``tests/aws/moto_adaptations.patch_sqs_send``; everything else is moto's own)."""
    import moto.server

    from tests.aws.moto_adaptations import patch_sqs_send

    patch_sqs_send()
    moto.server.main(["-H", "127.0.0.1", "-p", str(port)])


@dataclass
class MotoServer:
    """:func:`serve` in its own process, so its work does not share our GIL or our memory figure."""

    proc: subprocess.Popen
    endpoint: str

    @classmethod
    def start(cls, timeout: float = 60) -> MotoServer:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        root = str(Path(__file__).resolve().parent.parent)
        proc = subprocess.Popen([sys.executable, "-c", f"from benchmarks.bench_enumerate import serve; serve({port})"],
                                cwd=root, env={**os.environ, "PYTHONPATH": root},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return cls(proc, f"http://127.0.0.1:{port}")
            except OSError:
                if proc.poll() is not None or time.monotonic() - t0 > timeout:
                    proc.kill()
                    raise RuntimeError(f"moto server on port {port} did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def _clients(endpoint: str) -> dict[str, Any]:
    """boto3 clients as the function makes them (default configuration), pointed at ``endpoint``."""
    import boto3

    kw = dict(endpoint_url=endpoint, region_name=AWS_ENV["AWS_DEFAULT_REGION"],
              aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"], aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"])
    return {n: boto3.client(n, **kw) for n in ("s3", "sqs", "dynamodb")}


def deploy(endpoint: str, cache_path: str, tag: str = "scale") -> dict[str, Any]:
    """Table (as infra/task_table.py), queue and cache bucket on ``endpoint``; the cache uploaded.

    Returns the settings for :class:`~statscore.orchestration.RunSettings` and the cache URL.
    """
    from tests.task_table_support import create_task_table

    c = _clients(endpoint)
    table = f"tasks-{tag}"
    create_task_table(c["dynamodb"], table)
    queue_url = c["sqs"].create_queue(QueueName=f"run-{tag}")["QueueUrl"]
    bucket = f"caches-{tag}"
    c["s3"].create_bucket(Bucket=bucket)
    c["s3"].upload_file(cache_path, bucket, f"plans/{os.path.basename(cache_path)}")
    settings = {"table": table, "queue_url": queue_url, "cache_bucket": bucket, "grid": GRID, "frequency": FREQUENCY,
                "stac_location": "s3://unused/**/*.stac-item.json", "tasks_per_worker": 20, "array_size_cap": 500}
    return {"settings": settings, "cache": f"s3://{bucket}/plans/{os.path.basename(cache_path)}"}


# ---------------------------------------------------------------------------- the measurement
@dataclass
class EnumerateMeasurement:
    """What one Enumerate call did and cost."""

    seconds: float
    cpu_seconds: float
    """CPU time of the enumerate process itself (ours: the rest of ``seconds`` is waiting for the endpoint)."""
    rss_before_mb: float
    """Peak resident memory after imports and clients, before the call (a Lambda's cold start)."""
    rss_peak_mb: float
    """Peak resident memory of the process at the end (Lambda's Max Memory Used)."""
    state: dict[str, Any]
    state_bytes: int
    calls: dict[str, list[int]] = field(default_factory=dict)
    """Operation -> the size of each request (entries, requests or keys)."""


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM (Linux keeps ``ru_maxrss`` across exec, so a
    spawned child would report its parent's peak); ``ru_maxrss`` elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sizes(params: dict[str, Any], op: str) -> int:
    if op == "SendMessageBatch":
        return len(params["Entries"])
    items = next(iter(params["RequestItems"].values()))
    return len(items) if op == "BatchWriteItem" else len(items["Keys"])


def _child() -> None:
    """A fresh process: import, make clients, run Enumerate once, report as JSON on stdout.

    Its arguments come as JSON on stdin: ``endpoint``, ``settings``, ``run_id``, ``event``.
    """
    import threading

    from statscore.orchestration import Clients, RunSettings, enumerate_run

    args = json.load(sys.stdin)
    c = _clients(args["endpoint"])
    calls: dict[str, list[int]] = defaultdict(list)
    lock = threading.Lock()

    def record(op: str):
        def hook(params: dict[str, Any], **_: Any) -> None:
            with lock:
                calls[op].append(_sizes(params, op))
        return hook

    for svc, op in (("sqs", "SendMessageBatch"), ("dynamodb", "BatchWriteItem"), ("dynamodb", "BatchGetItem")):
        c[svc].meta.events.register(f"provide-client-params.{svc}.{op}", record(op))
    cfg = RunSettings(**args["settings"])
    rss0 = peak_rss_mb()
    t0, cpu0 = time.perf_counter(), time.process_time()
    state = enumerate_run(args["run_id"], args["event"], cfg, Clients(**c), log=lambda m: None)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    json.dump(asdict(EnumerateMeasurement(seconds, cpu, rss0, peak_rss_mb(), state, len(json.dumps(state).encode()),
                                          dict(calls))), sys.stdout)


def measure_enumerate(endpoint: str, settings: dict[str, Any], run_id: str, event: dict[str, Any],
                      timeout: float = 600) -> EnumerateMeasurement:
    """Run Enumerate in a fresh process against ``endpoint`` and measure it."""
    root = str(Path(__file__).resolve().parent.parent)
    args = json.dumps({"endpoint": endpoint, "settings": settings, "run_id": run_id, "event": event})
    done = subprocess.run([sys.executable, "-c", "from benchmarks.bench_enumerate import _child; _child()"],
                          input=args, capture_output=True, text=True, timeout=timeout, cwd=root,
                          env={**os.environ, "PYTHONPATH": root})
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the enumerate process failed (exit code {done.returncode}): {last}")
    return EnumerateMeasurement(**json.loads(done.stdout))


def report(m: EnumerateMeasurement, n_tasks: int) -> str:
    calls = ", ".join(f"{op} {len(v):,d} calls (max {max(v)})" for op, v in sorted(m.calls.items()) if v)
    return (f"enumerate {n_tasks:,d} tasks: {m.seconds:.1f} s ({m.cpu_seconds:.1f} s CPU in the enumerate process), peak RSS {m.rss_peak_mb:.0f} MB "
            f"({m.rss_before_mb:.0f} MB after imports); state {m.state_bytes:,d} bytes, "
            f"array_size {m.state['array_size']}; {calls}")


def main(quick: bool = False) -> None:
    n = 3_000 if quick else N_TASKS
    tmp = tempfile.mkdtemp(prefix="bench-enumerate-")
    server = MotoServer.start()
    try:
        t0 = time.perf_counter()
        path = os.path.join(tmp, f"{GRID}_2020.db")
        continental_cache(path, n)
        print(f"task cache of {n:,d} tasks written in {time.perf_counter() - t0:.1f} s "
              f"({os.path.getsize(path) / 1e6:.1f} MB)")
        d = deploy(server.endpoint, path)
        m = measure_enumerate(server.endpoint, d["settings"], "bench-run", {"cache": d["cache"]})
        print(report(m, n))
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)

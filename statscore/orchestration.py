"""A run on AWS, step by step: enumerate tasks, verify them, summarise. Called by the Lambda handlers.

Each step takes and returns the small state the state machine carries (ids, counts, the
manifest location, a verdict), never the task list: a continent is ~30,000 tasks and a
Step Functions payload is at most 256 KB. The lists live on S3 (manifest) and in the task
table. Settings come from the environment the CDK constructs set (:meth:`RunSettings.from_env`).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .errors import BudgetExceeded, ConfigError, InputError, SourceError, suggest
from .period import Period
from .task import TileRange, parse_task, parse_tile_range, render_task
from .tasktable import DynamoTaskTable, TaskRows, TaskState, chunks

__all__ = ["RunSettings", "RunRequest", "enumerate_run", "verify_run", "summarise_run", "array_size",
           "SQS_BATCH_MAX", "FAILED_TILES_SHOWN", "BATCH_ARRAY_MAX", "worker_timeouts", "plan_in_batch"]

SQS_BATCH_MAX = 10
"""SendMessageBatch: at most 10 messages per call."""
FAILED_TILES_SHOWN = 50
"""Most tile names carried in the state (and the Fail cause); the summary on S3 has them all."""
BATCH_ARRAY_MIN = 2
"""AWS Batch array jobs have at least 2 children."""
BATCH_ARRAY_MAX = 10_000
"""... and at most 10,000."""
DATASET_SOURCES = ("stac", "datacube", "stac-api")


@dataclass(frozen=True)
class RunSettings:
    """The deployment's settings as the functions see them (environment set by infra/)."""

    table: str
    queue_url: str
    cache_bucket: str
    cache_prefix: str = "caches/"
    output_location: str = ""
    grid: str = "au_extended_s2_20"
    frequency: str = "annual"
    input_products: str = ""
    dataset_source: str = "stac"
    stac_location: str = ""
    db_secret_arn: str = ""
    stac_api: dict[str, Any] = field(default_factory=dict)
    """``stac-api``: url, collections, profile, filter (STAC_API_URL, STAC_COLLECTIONS, SOURCE_PROFILE, STAC_FILTER)."""
    tasks_per_worker: int = 20
    array_size_cap: int = 500
    verify_max_rounds: int = 2
    task_timeout_seconds: int = 3600
    """The longest one task may take: a worker's job timeout is its share of the tasks times this."""
    job_attempts: int = 1
    """Attempts Batch makes of each worker job (its retry strategy)."""
    run_config: dict[str, Any] = field(default_factory=dict)
    worker_threads: int = 0
    """Threads of a worker (the job's vCPUs), for estimates; 0: the run config's ``threads``, else 1."""
    worker_price: dict[str, Any] = field(default_factory=dict)
    """What a worker-hour costs (:class:`statscore.ops.prices.WorkerPrice` fields); empty: no cost."""
    runtime_model: dict[str, Any] = field(default_factory=dict)
    """Runtime model coefficients (as ``odc-stats calibrate`` writes); empty: the one shipped."""
    plan_in_batch_above_items: int | None = None
    """``stac-api``: above this many matched items the plan is made by a Batch job (PLAN_IN_BATCH_ABOVE_ITEMS);
    None: always by Enumerate."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RunSettings:
        """The settings from ``env`` (default ``os.environ``); :class:`ConfigError` naming the variable."""
        env = os.environ if env is None else env
        missing = [k for k in ("TASK_TABLE", "QUEUE_URL", "CACHE_BUCKET") if not env.get(k)]
        if missing:
            raise ConfigError(f"environment: {', '.join(missing)} not set (the CDK stack sets them)")
        source = env.get("DATASET_SOURCE", "stac")
        if source not in DATASET_SOURCES:
            raise ConfigError(f"environment: DATASET_SOURCE={source!r} is not one of {', '.join(DATASET_SOURCES)}"
                              f"{suggest(source, DATASET_SOURCES)}")
        where, text = "RUN_CONFIG", env.get("RUN_CONFIG")
        if text is None and env.get("RUN_CONFIG_PARAMETER"):
            # Lambda allows 4 KB for all variables together: the stack keeps the run config in SSM
            where, text = f"SSM parameter {env['RUN_CONFIG_PARAMETER']}", _ssm_parameter(env["RUN_CONFIG_PARAMETER"])
        try:
            run_config = json.loads(text or "{}")
        except json.JSONDecodeError as e:
            raise ConfigError(f"environment: {where} is not JSON ({e})") from None
        if not isinstance(run_config, dict):
            raise ConfigError(f"environment: {where} must be a JSON object (the run config)")
        usage = {k: _env_json(env, k) for k in ("WORKER_PRICE", "RUNTIME_MODEL")}
        return cls(table=env["TASK_TABLE"], queue_url=env["QUEUE_URL"], cache_bucket=env["CACHE_BUCKET"],
                   cache_prefix=env.get("CACHE_PREFIX", "caches/"), output_location=env.get("OUTPUT_LOCATION", ""),
                   grid=env.get("GRID", cls.grid), frequency=env.get("FREQUENCY", cls.frequency),
                   input_products=env.get("INPUT_PRODUCTS", ""), dataset_source=source,
                   stac_location=env.get("STAC_LOCATION", ""), db_secret_arn=env.get("DB_SECRET_ARN", ""),
                   stac_api=_stac_api_env(env) if source == "stac-api" else {},
                   tasks_per_worker=_env_int(env, "TASKS_PER_WORKER", 20, 1),
                   array_size_cap=_env_int(env, "ARRAY_SIZE_CAP", 500, BATCH_ARRAY_MIN, BATCH_ARRAY_MAX),
                   verify_max_rounds=_env_int(env, "VERIFY_MAX_ROUNDS", 2, 0),
                   task_timeout_seconds=_env_int(env, "TASK_TIMEOUT_SECONDS", 3600, 60),
                   job_attempts=_env_int(env, "JOB_ATTEMPTS", 1, 1, 10),
                   run_config=run_config, worker_threads=_env_int(env, "WORKER_THREADS", 0, 0),
                   worker_price=usage["WORKER_PRICE"], runtime_model=usage["RUNTIME_MODEL"],
                   plan_in_batch_above_items=(_env_int(env, "PLAN_IN_BATCH_ABOVE_ITEMS", 0, 0)
                                              if env.get("PLAN_IN_BATCH_ABOVE_ITEMS") else None))


def _env_json(env: Mapping[str, str], key: str) -> dict[str, Any]:
    try:
        value = json.loads(env.get(key) or "{}")
    except json.JSONDecodeError as e:
        raise ConfigError(f"environment: {key} is not JSON ({e})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"environment: {key} must be a JSON object")
    return value


def _ssm_parameter(name: str) -> str:
    """The value of an SSM parameter (the run config the stack stores); ConfigError naming it if unreadable."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return boto3.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    except (BotoCoreError, ClientError) as e:
        raise ConfigError(f"environment: RUN_CONFIG_PARAMETER {name!r} cannot be read ({e})") from None


def _stac_api_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The ``stac-api`` source's settings from the environment (the CDK stack sets them)."""
    if not env.get("STAC_API_URL") or not env.get("STAC_COLLECTIONS"):
        raise ConfigError("environment: DATASET_SOURCE=stac-api needs STAC_API_URL and STAC_COLLECTIONS")
    try:
        flt = json.loads(env.get("STAC_FILTER") or "{}")
    except json.JSONDecodeError as e:
        raise ConfigError(f"environment: STAC_FILTER is not JSON ({e})") from None
    return {"url": env["STAC_API_URL"], "collections": [c for c in env["STAC_COLLECTIONS"].split(",") if c],
            "profile": env.get("SOURCE_PROFILE", "earth-search-s2-l2a"), "filter": flt or None}


def _env_int(env: Mapping[str, str], key: str, default: int, lo: int, hi: int | None = None) -> int:
    text = env.get(key, str(default))
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"environment: {key}={text!r} is not a whole number") from None
    if value < lo or (hi is not None and value > hi):
        bounds = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise ConfigError(f"environment: {key}={value} must be {bounds}")
    return value


REQUEST_KEYS = ("year", "temporal_range", "tiles", "input_products", "frequency", "cache", "plugin_config", "mode",
                "max_cost", "planned")


@dataclass(frozen=True)
class RunRequest:
    """An execution's input: ``{"year": 2019}`` or ``{"temporal_range": "2019--P1Y"}``, optionally
    ``tiles`` ("x0:x1,y0:y1"), ``input_products``, ``frequency``, or ``cache`` (an existing
    s3:// task cache to run instead of planning); ``mode: "update"`` queues every task, DONE
    ones too, and the workers recompute only those whose inputs changed; ``max_cost`` (US
    dollars): Enumerate enqueues nothing when the estimate is higher. ``planned`` is set by the
    state machine, not by users: ``cache`` is where this run's Batch planner wrote its plan, and
    no object there means it found no tasks (save-tasks writes no cache then)."""

    temporal_range: Period | None = None
    tiles: TileRange | None = None
    input_products: str | None = None
    frequency: str | None = None
    cache: str | None = None
    mode: str | None = None
    max_cost: float | None = None
    planned: bool = False

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> RunRequest:
        if not isinstance(event, Mapping):
            raise ConfigError("execution input: expected a JSON object such as {\"year\": 2019}")
        for k in event:
            if k not in REQUEST_KEYS:
                raise ConfigError(f"execution input: unknown key {k!r}{suggest(k, REQUEST_KEYS)}; "
                                  f"valid keys: {', '.join(REQUEST_KEYS)}")
        if "plugin_config" in event:
            raise ConfigError("execution input: plugin_config is a deployment setting (cdk.json), "
                              "since the workers' image runs one product")
        if "year" in event and "temporal_range" in event:
            raise ConfigError("execution input: give one of 'year' or 'temporal_range', not both")
        period = None
        if "year" in event:
            try:
                period = Period.from_year(int(event["year"]))
            except (TypeError, ValueError):
                raise ConfigError(f"execution input: year {event['year']!r} is not a year") from None
        elif "temporal_range" in event:
            period = Period.parse(str(event["temporal_range"]))
        cache = event.get("cache")
        if cache is not None and not str(cache).startswith("s3://"):
            raise ConfigError(f"execution input: cache {cache!r} must be an s3:// URL of a task cache (.db)")
        if period is None and cache is None:
            raise ConfigError("execution input: needs 'year' or 'temporal_range' (or an existing 'cache')")
        from .sqs import MODES

        mode = event.get("mode")
        if mode is not None and mode not in MODES:
            raise ConfigError(f"execution input: mode {mode!r} is not one of {', '.join(MODES)}"
                              f"{suggest(str(mode), MODES)}")
        max_cost = event.get("max_cost")
        if max_cost is not None:
            if isinstance(max_cost, bool) or not isinstance(max_cost, (int, float)) or not math.isfinite(max_cost) \
                    or max_cost < 0:
                raise ConfigError(f"execution input: max_cost {max_cost!r} must be a number of US dollars >= 0")
            max_cost = float(max_cost)
        return cls(temporal_range=period, tiles=parse_tile_range(event["tiles"]) if event.get("tiles") else None,
                   input_products=event.get("input_products"), frequency=event.get("frequency"),
                   cache=str(cache) if cache is not None else None, mode=mode, max_cost=max_cost,
                   planned=event.get("planned") is True)


def array_size(tasks: int, tasks_per_worker: int, cap: int) -> int:
    """Workers to start: one per ``tasks_per_worker`` tasks, at least 2 and at most ``cap`` and
    10,000 (Batch's array limits); 0: none."""
    if tasks <= 0:
        return 0
    return max(BATCH_ARRAY_MIN, min(cap, BATCH_ARRAY_MAX, math.ceil(tasks / max(1, tasks_per_worker))))


JOB_TIMEOUT_MIN = 600
"""Shortest time given to a worker's share of the tasks (a worker's start-up takes minutes)."""


def worker_timeouts(tasks: int, workers: int, cfg: RunSettings) -> dict[str, int]:
    """The time limit of one round of workers, for the state machine (``workers_timeout_seconds``:
    the Batch step's timeout and each worker attempt's). Each worker leases tasks until the queue
    is empty, so it runs its share of the tasks one after the other (several waves of tasks, not
    one): its share times the per-task limit, for every attempt, plus an hour to get instances."""
    per_worker = math.ceil(tasks / workers) if workers > 0 else 0
    share = max(JOB_TIMEOUT_MIN, per_worker * cfg.task_timeout_seconds)
    return {"workers_timeout_seconds": share * cfg.job_attempts + 3600}


# ---------------------------------------------------------------------------- enumerate
@dataclass
class Clients:
    """boto3 clients (they honour AWS_ENDPOINT_URL); tests pass their own."""

    s3: Any = None
    sqs: Any = None
    dynamodb: Any = None

    @classmethod
    def default(cls) -> Clients:
        import boto3

        return cls(s3=boto3.client("s3"), sqs=boto3.client("sqs"), dynamodb=boto3.client("dynamodb"))


def _split_s3(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def _plan_request(req: RunRequest, cfg: RunSettings, workdir: str) -> Any:
    """The save-tasks request of a run, its cache written under ``workdir`` (a folder or an s3:// prefix)."""
    from .grid import parse_grid
    from .plan import SaveTasksRequest

    # STAC/eo3 documents name their product: the location is the input
    products = req.input_products or (cfg.stac_location if cfg.dataset_source == "stac" else cfg.input_products)
    stac = None
    if cfg.dataset_source == "stac-api" and not req.input_products:  # the same planner as save-tasks --stac-api
        from .plan import StacApiQuery

        a = cfg.stac_api
        stac = StacApiQuery(url=a["url"], collections=tuple(a["collections"]), profile=a["profile"],
                            stac_filter=a.get("filter"))
        products = ""
    if not products and stac is None:
        need = "STAC_LOCATION" if cfg.dataset_source == "stac" else "INPUT_PRODUCTS"
        raise ConfigError(f"environment: {need} not set (dataset_source {cfg.dataset_source}), "
                          "and the execution input names no input_products")
    # named as save-tasks names a grid: a spec's ';' become '_' (in an s3:// URL, urlparse cuts ';...' off as params)
    name = f"{parse_grid(cfg.grid)[0]}_{req.temporal_range.short if req.temporal_range else 'all'}.db"
    return SaveTasksRequest(output=f"{workdir.rstrip('/')}/{name}", grid=cfg.grid, input_products=products,
                            frequency=req.frequency or cfg.frequency, temporal_range=req.temporal_range,
                            tiles=req.tiles, stac=stac)


def _plan(run_id: str, req: RunRequest, cfg: RunSettings, workdir: str, log: Callable[[str], None]) -> str | None:
    """save-tasks for the request into ``workdir``: the local cache path, or None if nothing to do."""
    from .plan import save_tasks

    plan = _plan_request(req, cfg, workdir)
    if cfg.dataset_source == "datacube":
        _datacube_from_secret(cfg.db_secret_arn)
    result = save_tasks(plan, log=log)
    return result.files[0] if result.tasks else None


def plan_in_batch(items: int | None, above: int | None) -> bool:
    """Whether a run's planning goes to a Batch job rather than Enumerate's Lambda: when the search
    matches more than ``above`` items, or the API does not say how many (a Lambda stopped at 15
    minutes would lose the whole plan). ``above`` None: always in the Lambda."""
    if above is None:
        return False
    return items is None or items > above


def _route(run_id: str, req: RunRequest, event: Mapping[str, Any], cfg: RunSettings, log: Callable[[str], None]) -> dict[str, Any] | None:
    """For a ``stac-api`` run that plans: count the matched items (one request) and, above
    ``plan_in_batch_above_items``, the state for the Batch planner (its save-tasks command, the
    cache it writes, and the request Enumerate continues from); None: plan here."""
    if req.cache or cfg.dataset_source != "stac-api" or req.input_products or cfg.plan_in_batch_above_items is None:
        return None
    from .plan import count_items, save_tasks_argv

    plan = _plan_request(req, cfg, f"s3://{cfg.cache_bucket}/{cfg.cache_prefix}{run_id}/")
    items = count_items(plan)
    if not plan_in_batch(items, cfg.plan_in_batch_above_items):
        log(f"run {run_id}: {items:,d} items match: planning here (Batch above {cfg.plan_in_batch_above_items:,d})")
        return None
    log(f"run {run_id}: {'an uncounted number of' if items is None else f'{items:,d}'} items match: planning in a "
        f"Batch job (above {cfg.plan_in_batch_above_items:,d}), then continuing from {plan.output}")
    return {"run_id": run_id, "request": dict(event), "plan_in_batch": True, "items": items,
            "plan": {"command": save_tasks_argv(plan), "cache": plan.output},
            "planned_request": dict(event, cache=plan.output, planned=True)}


def _datacube_from_secret(arn: str) -> None:
    """Point datacube at the database whose RDS-format secret is ``arn`` (ODC_DEFAULT_DB_URL)."""
    import boto3
    from urllib.parse import quote

    try:
        secret = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
        url = (f"postgresql://{quote(secret['username'])}:{quote(secret['password'])}@{secret['host']}:"
               f"{secret.get('port', 5432)}/{secret.get('dbname', 'datacube')}")
    except Exception as e:
        raise SourceError(f"database secret {arn}: cannot read it ({type(e).__name__})") from None
    os.environ["ODC_DEFAULT_DB_URL"] = url


def _task_ids(cache_path: str, req: RunRequest) -> list[str]:
    """The cache's tasks (those of the request's period and tiles for a given cache), rendered as the table's keys."""
    from .cache import cache_tiles, close_cache, open_cache

    try:
        tasks = cache_tiles(open_cache(cache_path))
    finally:
        close_cache(cache_path)  # the file goes with the temporary folder
    if req.cache and req.temporal_range is not None:
        tasks = [t for t in tasks if t.period == req.temporal_range.short]
    if req.cache and req.tiles is not None:
        tasks = [t for t in tasks if req.tiles.contains(t.x, t.y)]
    return [render_task(t) for t in tasks]


def send_tasks(sqs: Any, queue_url: str, filedb: str, task_ids: Sequence[str], threads: int = 8,
               mode: str | None = None) -> int:
    """One odc-stats message per task (``{"filedb", "tile_idx"}``, plus ``mode`` when set), 10 a
    call, failed entries resent."""
    extra = {"mode": mode} if mode else {}

    def send(part: Sequence[str]) -> int:
        entries = [{"Id": str(i), "MessageBody": json.dumps({"filedb": filedb, "tile_idx": t, **extra})}
                   for i, t in enumerate(part)]
        for attempt in range(6):
            resp = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            failed = {f["Id"] for f in resp.get("Failed", [])}
            if not failed:
                return len(part)
            entries = [e for e in entries if e["Id"] in failed]
            time.sleep(0.1 * 2 ** attempt)
        raise SourceError(f"queue {queue_url}: {len(entries)} messages still rejected after retries")

    parts = list(chunks(list(task_ids), SQS_BATCH_MAX))
    if len(parts) <= 1:
        return sum(send(p) for p in parts)
    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(send, parts))


def enumerate_run(run_id: str, event: Mapping[str, Any], cfg: RunSettings, clients: Clients | None = None,
                  table: TaskRows | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Check the run can work, plan (or take) its task cache, estimate it, record PENDING rows,
    enqueue, write the manifest.

    Fails before any row or message when the run config is invalid, the output location
    does not take a write, the cache does not open, or the estimate exceeds the request's
    ``max_cost``. Tasks DONE in an earlier run are skipped, so running the same input again
    only computes what is missing. Returns the state for the next step (with the estimate).
    """
    req = RunRequest.parse(event)
    c = clients or Clients.default()
    rows = table or DynamoTaskTable(cfg.table, c.dynamodb)
    run_prefix = f"{cfg.cache_prefix}{run_id}/"
    _preflight(cfg)
    routed = _route(run_id, req, event, cfg, log)
    if routed is not None:  # the state machine runs the planner as a Batch job, then Enumerate again
        return routed
    with tempfile.TemporaryDirectory(prefix="enumerate-") as tmp:
        if req.cache:
            bucket, key = _split_s3(req.cache)
            local = os.path.join(tmp, os.path.basename(key) or "tasks.db")
            try:
                c.s3.download_file(bucket, key, local)
                filedb = req.cache
            except Exception as e:
                from .outputs.store import is_not_found

                if not (req.planned and is_not_found(e)):
                    raise InputError(f"{req.cache}: cannot fetch the task cache ({e})") from None
                log(f"run {run_id}: the Batch planner found no tasks (it wrote no {req.cache})")
                local, filedb = None, ""
        else:
            local = _plan(run_id, req, cfg, tmp, log)
            filedb = f"s3://{cfg.cache_bucket}/{run_prefix}{os.path.basename(local)}" if local else ""
            if local:
                c.s3.upload_file(local, cfg.cache_bucket, f"{run_prefix}{os.path.basename(local)}")
        task_ids = _task_ids(local, req) if local else []
        # an update looks at every task: the workers skip those whose inputs did not change
        done = rows.done_among(task_ids) if task_ids and req.mode != "update" else set()
        todo = [t for t in task_ids if t not in done]
        est = _estimate(local, todo, cfg) if local else None

    totals = est.totals() if est is not None else None
    if req.max_cost is not None:
        cost = totals.get("cost_usd") if totals else 0.0
        if cost is None:
            raise BudgetExceeded(f"max_cost US${req.max_cost:g}: the run cannot be priced ("
                                 f"{'; '.join(totals.get('notes', [])) or 'no worker price configured'}); nothing was enqueued")
        if cost > req.max_cost:
            raise BudgetExceeded(
                f"estimated cost US${cost:.4g} exceeds max_cost US${req.max_cost:g}: {totals['tiles']} tasks, "
                f"{totals['worker_hours']:.3g} worker-hours at US${totals['prices']['usd_per_hour']:g}/h "
                f"({totals['prices']['pricing']} {totals['prices']['instance_type']}); nothing was enqueued")
    rows.put_pending(run_id, todo, filedb)
    queued = send_tasks(c.sqs, cfg.queue_url, filedb, todo, mode=req.mode)
    manifest_key = f"{run_prefix}manifest.json"
    c.s3.put_object(Bucket=cfg.cache_bucket, Key=manifest_key, ContentType="application/json",
                    Body=json.dumps({"run_id": run_id, "filedb": filedb, "request": dict(event),
                                     "queued": todo, "skipped_done": sorted(done),
                                     "estimate": dict(totals or {}, seconds={t.task: round(s, 2) for t, s in
                                                                           zip(est.tasks, est.seconds)} if est else {})
                                     }).encode())
    cost = totals.get("cost_usd") if totals else None
    log(f"run {run_id}: {len(task_ids)} tasks, {len(done)} already done, {queued} queued"
        + (f"; estimate {totals['worker_hours']:.3g} worker-hours" if totals else "")
        + (f", US${cost:.4g}" if cost is not None else ""))
    workers = array_size(queued, cfg.tasks_per_worker, cfg.array_size_cap)
    return {"run_id": run_id, "request": dict(event), "filedb": filedb,
            "manifest": f"s3://{cfg.cache_bucket}/{manifest_key}",
            "tasks": len(task_ids), "queued": queued, "skipped_done": len(done),
            "array_size": workers, **worker_timeouts(queued, workers, cfg),
            "round": 0, "verdict": "running" if queued else "done", "estimate": totals, "plan_in_batch": False}


def _run_config(cfg: RunSettings) -> Any:
    """The workers' run config (RUN_CONFIG), validated as the workers will."""
    from .config import RunConfig

    try:
        return RunConfig.model_validate(cfg.run_config)
    except Exception as e:  # pydantic's ValidationError: one line naming the key
        first = str(e).splitlines()
        raise ConfigError(f"environment: RUN_CONFIG is not a valid run config ({' '.join(first[:3])})") from None


def _preflight(cfg: RunSettings) -> None:
    """Fail before spending: the workers' config (plugin, product, cog_opts) and a probe write
    with the configured ACL to the output location (when the deployment names one)."""
    from .ops.preflight import check_config, check_output_location

    run_cfg = _run_config(cfg)
    location = run_cfg.output_location or cfg.output_location
    if run_cfg.plugin:  # a RunSettings without a run config (a bare test harness) has nothing to check
        check_config(run_cfg, location or "file:///probe")
    if location:
        check_output_location(location, run_cfg.s3_acl)


def _estimate(cache_path: str, task_ids: Sequence[str], cfg: RunSettings) -> Any:
    """The estimate of ``task_ids`` of the cache (seconds and cost where a model and a price exist)."""
    from .cache import close_cache
    from .ops.estimate import cache_task_sizes, estimate
    from .ops.prices import WorkerPrice
    from .ops.runtime import RuntimeModel, default_model

    run_cfg = _run_config(cfg)
    plugin = run_cfg.plugin or ""
    threads = cfg.worker_threads or (run_cfg.threads if run_cfg.threads > 0 else 1)
    model_set = RuntimeModel.from_mapping(cfg.runtime_model, "RUNTIME_MODEL") if cfg.runtime_model else default_model()
    model = None
    if plugin in model_set.models:
        model = model_set.get(plugin, threads)
    price = WorkerPrice.from_dict(cfg.worker_price) if cfg.worker_price else None
    try:
        sizes, missing = cache_task_sizes(cache_path, [parse_task(t) for t in task_ids], run_cfg.resolution)
    finally:
        close_cache(cache_path)
    return estimate(sizes, plugin or "?", threads, model, price, missing)


# ---------------------------------------------------------------------------- verify
def verify_run(state: Mapping[str, Any], cfg: RunSettings, clients: Clients | None = None,
               table: TaskRows | None = None) -> dict[str, Any]:
    """Count the run's rows; re-enqueue unfinished tasks while rounds remain, else pass or fail the run."""
    c = clients or Clients.default()
    rows = table or DynamoTaskTable(cfg.table, c.dynamodb)
    run_id = state["run_id"]
    all_rows = list(rows.run_rows(run_id))
    counts = Counter(r.state.value for r in all_rows)
    unfinished = sorted((r for r in all_rows if r.state != TaskState.DONE), key=lambda r: r.task_id)
    out = {k: v for k, v in state.items() if k not in ("workers_error", "cause", "failed_tiles")}
    out["counts"] = dict(sorted(counts.items()))
    rnd = int(state.get("round", 0))
    if not unfinished:
        return dict(out, verdict="done", array_size=0)
    if rnd < cfg.verify_max_rounds:
        again = [r.task_id for r in unfinished if rows.requeue(r.task_id, run_id)]
        if not again:  # every one became DONE since it was read: no workers to start (Batch needs >= 2)
            return dict(out, verdict="done", array_size=0, counts={TaskState.DONE.value: len(all_rows)})
        send_tasks(c.sqs, cfg.queue_url, state["filedb"], again, mode=(state.get("request") or {}).get("mode"))
        workers = array_size(len(again), cfg.tasks_per_worker, cfg.array_size_cap)
        return dict(out, verdict="retry", round=rnd + 1, array_size=workers,
                    **worker_timeouts(len(again), workers, cfg))
    shown = unfinished[:FAILED_TILES_SHOWN]
    names = ", ".join(f"{r.task_id} ({r.state.value}{': ' + r.reason[:80] if r.reason else ''})" for r in shown[:20])
    more = f" and {len(unfinished) - 20} more (see the run summary)" if len(unfinished) > 20 else ""
    return dict(out, verdict="failed", array_size=0, failed_tiles=[r.task_id for r in shown],
                cause=f"{len(unfinished)} of {len(all_rows)} tasks not done after {rnd} retries: {names}{more}")


# ---------------------------------------------------------------------------- summary
def product_collection(cfg: RunSettings, extent_periods: Sequence[str]) -> dict[str, Any]:
    """A STAC collection for the product (items are written by the workers next to the COGs)."""
    product = cfg.run_config.get("product", {}) or {}
    name = product.get("name") or "statscore-product"
    periods = sorted((Period.parse(p) for p in extent_periods), key=lambda p: (p.start, p.end))
    interval = [[periods[0].start.isoformat() + "Z", max(p.end for p in periods).isoformat() + "Z"]] if periods else [[None, None]]
    return {"type": "Collection", "stac_version": "1.1.0", "id": name,
            "description": f"{name} {product.get('version', '')}: {cfg.run_config.get('plugin', '')} on grid {cfg.grid}, "
                           f"{cfg.frequency}".strip(),
            "license": product.get("properties", {}).get("license", "proprietary") if isinstance(product.get("properties"), dict) else "proprietary",
            "extent": {"spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]}, "temporal": {"interval": interval}},
            "links": [], "keywords": ["odc-stats", "statscore"]}


def summarise_run(state: Mapping[str, Any], cfg: RunSettings, clients: Clients | None = None,
                  table: TaskRows | None = None) -> dict[str, Any]:
    """Write ``summary.json`` next to the manifest and the product's ``collection.json`` at the output root.

    The summary's ``usage`` adds up what the tasks recorded (CPU and wall seconds, peak
    memory, bytes read, observations) and prices the worker-hours (:func:`statscore.ops.usage.add_up`).
    """
    from .ops.prices import WorkerPrice
    from .ops.usage import add_up
    from .outputs.store import S3Folder, is_s3_url, open_folder

    c = clients or Clients.default()
    rows = table or DynamoTaskTable(cfg.table, c.dynamodb)
    run_id = state["run_id"]
    all_rows = list(rows.run_rows(run_id))
    counts = Counter(r.state.value for r in all_rows)
    seconds = [r.seconds for r in all_rows if r.seconds is not None]
    summary = {
        "run_id": run_id, "request": state.get("request"), "filedb": state.get("filedb"),
        "verdict": state.get("verdict"), "rounds": state.get("round", 0),
        "tasks": state.get("tasks", len(all_rows)), "skipped_done": state.get("skipped_done", 0),
        "counts": dict(sorted(counts.items())),
        "task_seconds": {"total": round(sum(seconds), 1), "max": round(max(seconds), 1) if seconds else None},
        "not_done": [{"task": r.task_id, "state": r.state.value, "reason": r.reason}
                     for r in sorted(all_rows, key=lambda r: r.task_id) if r.state != TaskState.DONE],
        "usage": add_up((r.usage or {} for r in all_rows),
                        WorkerPrice.from_dict(cfg.worker_price) if cfg.worker_price else None),
        "estimate": state.get("estimate"),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    key = f"{cfg.cache_prefix}{run_id}/summary.json"
    c.s3.put_object(Bucket=cfg.cache_bucket, Key=key, Body=json.dumps(summary, indent=1).encode(),
                    ContentType="application/json")
    out = dict(state, summary=f"s3://{cfg.cache_bucket}/{key}", counts=summary["counts"])
    if cfg.output_location:
        periods = sorted({parse_task(r.task_id).period for r in all_rows if r.state == TaskState.DONE})
        acl = cfg.run_config.get("s3_acl")
        folder = (S3Folder(cfg.output_location, acl=acl, client=c.s3) if is_s3_url(cfg.output_location)
                  else open_folder(cfg.output_location, s3_acl=acl))
        out["collection"] = folder.put("collection.json", json.dumps(product_collection(cfg, periods), indent=1).encode(),
                                       "application/json")
    return out


def new_run_id() -> str:
    """A run id for local use (the state machine uses the execution name)."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]

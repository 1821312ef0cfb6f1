"""``odc-stats report``: where a run stands, as one self-contained HTML page.

The page has a web map of the tiles coloured by state (Leaflet, inlined: the page needs
no network, not even for base-map tiles: outlines are drawn on a plain background), each
done tile's thumbnail on click (inlined as a data URI), the failures with their reasons
and the usage/cost table. It reads what a run leaves behind, from one of two places:

- a task cache and an output location (:func:`location_report`): a task is *done* when its
  STAC item exists (written last, so it marks a complete product), *failed* when the
  worker's failure log (``run --from-sqs --failure-log``) names it and it is not done,
  otherwise *not run*;
- a run on AWS (:func:`run_report`): the run's manifest and ``summary.json`` on S3 and its
  rows in the DynamoDB task table (state, reason, seconds and usage per task).
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError, SourceError, StatsError
from ..task import TileIdx, parse_task, render_task

__all__ = ["STATES", "TileStatus", "Report", "location_report", "run_report", "render_html", "write_report",
           "read_failure_log", "MAX_THUMBNAILS"]

#: State -> (label, fill colour), in legend order.
STATES: dict[str, tuple[str, str]] = {
    "done": ("done", "#2e7d32"),
    "failed": ("failed", "#c62828"),
    "running": ("running", "#f9a825"),
    "pending": ("pending", "#1e88e5"),
    "missing": ("not run", "#b0bec5"),
}
MAX_THUMBNAILS = 1000
"""Thumbnails inlined per page by default (a 320 px JPEG is ~30 KB; beyond this the popup links it)."""
MAX_THUMBNAIL_BYTES = 256 * 1024
"""A larger thumbnail is linked, not inlined."""
_ROW_STATES = {"DONE": "done", "FAILED": "failed", "RUNNING": "running", "PENDING": "pending"}
_USAGE_KEYS = ("cpu_seconds", "wall_seconds", "peak_memory_bytes", "bytes_read", "observations")


@dataclass
class TileStatus:
    """One task as the report shows it."""

    tile: TileIdx
    state: str
    """A key of :data:`STATES`."""
    reason: str = ""
    datasets: int | None = None
    stac_url: str = ""
    thumbnail: str = ""
    """A ``data:image/jpeg;base64,...`` URI, or empty."""
    thumbnail_url: str = ""
    """Where the thumbnail is (shown as a link when it was not inlined)."""
    usage: dict[str, float] = field(default_factory=dict)
    """Per-task figures from the task table: ``seconds`` and :data:`_USAGE_KEYS` present in the row."""


@dataclass
class Report:
    """What the page shows."""

    title: str
    source: str
    """What was read, in words (cache and location, or run and table)."""
    grid: Any
    """The tasks' :class:`odc.geo.gridspec.GridSpec`."""
    tiles: list[TileStatus]
    usage: dict[str, Any] | None = None
    """``summary.json``'s ``usage`` or the rows' figures added up; None when nothing was recorded."""
    usage_source: str = ""
    notes: list[str] = field(default_factory=list)
    generated_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(t.state for t in self.tiles)
        return {k: c.get(k, 0) for k in STATES}


# ---------------------------------------------------------------------------- reading
def _split_url(url: str) -> tuple[str, str]:
    folder, _, name = url.rpartition("/")
    return folder, name


class _Files:
    """Reads files by URL (a path, ``file://`` or ``s3://``) from many threads: one S3 client
    for all of them (a boto3 client is thread-safe; creating clients from threads is not)."""

    def __init__(self) -> None:
        self._s3: Any = None
        self._lock = threading.Lock()

    def folder(self, url: str) -> Any:
        from ..outputs import LocalFolder, S3Folder, is_s3_url, s3_client

        if not is_s3_url(url):
            return LocalFolder(url)
        with self._lock:
            if self._s3 is None:
                self._s3 = s3_client()
        return S3Folder(url, client=self._s3)

    def exists(self, url: str) -> bool:
        folder, name = _split_url(url)
        return bool(self._call(url, lambda: self.folder(folder).exists(name)))

    def read(self, url: str) -> bytes | None:
        """The bytes at ``url``; None when there is no such file."""
        folder, name = _split_url(url)
        store = self.folder(folder)
        return self._call(url, lambda: store.read(name) if store.exists(name) else None)

    @staticmethod
    def _call(url: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except StatsError:
            raise
        except Exception as e:  # noqa: BLE001 - one line naming the object, whatever the store raised
            why = str(e).splitlines()[0] if str(e) else ""
            raise SourceError(f"{url}: cannot read ({e.__class__.__name__}: {why})") from None


def _thumbnail_url(stac_url: str, item: Mapping[str, Any]) -> tuple[str, str]:
    """``(URL, media type)`` of the product's thumbnail (relative hrefs resolved against the item)."""
    asset = (item.get("assets") or {}).get("thumbnail") or {}
    href = str(asset.get("href") or "")
    if not href:
        return "", ""
    url = href if "://" in href or href.startswith("/") else f"{_split_url(stac_url)[0]}/{href}"
    return url, str(asset.get("type") or "image/jpeg").split(";")[0]


def _parallel(fn: Callable[[Any], Any], items: Sequence[Any], threads: int) -> list[Any]:
    if threads <= 1 or len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, items))


def _fill_products(files: _Files, statuses: Sequence[TileStatus], max_thumbnails: int, threads: int) -> None:
    """Read the STAC item of every done task that names one: its thumbnail (inlined for the
    first ``max_thumbnails`` in task order, linked after) and its dataset count."""
    done = [s for s in statuses if s.state == "done" and s.stac_url]

    def item_of(s: TileStatus) -> dict[str, Any] | None:
        raw = files.read(s.stac_url)
        try:
            return json.loads(raw) if raw is not None else None
        except json.JSONDecodeError:
            return None

    inline: list[tuple[TileStatus, str]] = []
    for s, item in zip(done, _parallel(item_of, done, threads)):
        if item is None:
            continue
        s.thumbnail_url, media = _thumbnail_url(s.stac_url, item)
        inputs = (item.get("properties") or {}).get("odc:lineage", {}).get("inputs")
        if s.datasets is None and isinstance(inputs, list):
            s.datasets = len(inputs)
        if s.thumbnail_url and len(inline) < max_thumbnails and not s.thumbnail_url.startswith(("http:", "https:")):
            inline.append((s, media))

    def read(pair: tuple[TileStatus, str]) -> None:
        s, media = pair
        data = files.read(s.thumbnail_url)
        if data and len(data) <= MAX_THUMBNAIL_BYTES:
            s.thumbnail = f"data:{media};base64,{base64.b64encode(data).decode()}"

    _parallel(read, inline, threads)


def read_failure_log(path: str) -> dict[TileIdx, str]:
    """Tile -> reason of its last failure, from a worker's ``--failure-log`` (JSON lines)."""
    out: dict[TileIdx, str] = {}
    try:
        lines = Path(path).read_text(encoding="utf8").splitlines()
    except OSError as e:
        raise InputError(f"--failure-log {path}: cannot read ({e.strerror})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(f"--failure-log {path}: line {n} is not JSON") from None
        if isinstance(rec, dict) and rec.get("tile_idx"):
            out[parse_task(str(rec["tile_idx"]))] = str(rec.get("reason") or "failed")
    return out


def location_report(cache: str, location: str, cfg: Any, plugin: Any, *, failure_log: str | None = None,
                    tasks: Sequence[str] = (), max_thumbnails: int = MAX_THUMBNAILS, threads: int = 8) -> Report:
    """The report of the cache's tasks (or ``tasks``) from what exists at ``location``.

    ``cfg`` (a :class:`~statscore.config.RunConfig`) and ``plugin`` name the product and its
    folders exactly as ``run`` does.
    """
    from ..model import Task
    from ..outputs import stac_item_url
    from ..period import Period
    from ..run import TaskReader, output_product, select_tasks

    reader = TaskReader(cache)
    product = output_product(cfg, plugin, location)
    failures = read_failure_log(failure_log) if failure_log else {}
    selected = select_tasks(reader.all_tiles, tasks)

    files = _Files()

    def status(tile: TileIdx) -> TileStatus:
        # the product's folder and names as run makes them (no datasets needed for those)
        task = Task(product=product, tile_index=tile, geobox=reader.gridspec.tile_geobox((tile.x, tile.y)),
                    time_range=Period.parse(tile.period), datasets=())
        url = stac_item_url(task)
        n = len(reader.tasks.get(tile, ()))
        if files.exists(url):
            return TileStatus(tile, "done", datasets=n, stac_url=url)
        if tile in failures:
            return TileStatus(tile, "failed", reason=failures[tile], datasets=n)
        return TileStatus(tile, "missing", datasets=n)

    statuses = _parallel(status, selected, threads)
    _fill_products(files, statuses, max_thumbnails, threads)
    notes = []
    if not failure_log:
        notes.append("Failures are known from a task table (a run on AWS) or a worker's --failure-log; "
                     "neither was given, so tasks without a product show as not run.")
    return Report(title=f"{product.name} {product.version}", grid=reader.gridspec, tiles=statuses,
                  source=f"task cache {cache}; products at {product.location}"
                         + (f"; failures from {failure_log}" if failure_log else ""),
                  usage=None, usage_source="a local run records no usage (runs on AWS record it per task in "
                                           "the task table and add it up in summary.json)", notes=notes)


# ---------------------------------------------------------------------------- a run on AWS
def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (low-level attribute values) as plain Python values (numbers as float)."""
    from decimal import Decimal

    from boto3.dynamodb.types import TypeDeserializer

    de = TypeDeserializer()
    out = {}
    for k, v in item.items():
        value = de.deserialize(v)
        out[k] = float(value) if isinstance(value, Decimal) else value
    return out


def _rows(client: Any, table: str, task_ids: Sequence[str], threads: int) -> dict[str, dict[str, Any]]:
    """task id -> its whole row (BatchGetItem, 100 keys a call): the run's GSI projects only a
    few attributes, the usage figures are on the table's items."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ..tasktable import BATCH_GET_MAX, chunks

    def get(part: Sequence[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        pending: dict[str, Any] = {table: {"Keys": [{"task_id": {"S": t}} for t in part]}}
        for attempt in range(9):
            try:
                resp = client.batch_get_item(RequestItems=pending)
            except (ClientError, BotoCoreError) as e:
                raise SourceError(f"task table {table}: cannot read rows ({e})") from None
            out.extend(_plain(it) for it in resp.get("Responses", {}).get(table, []))
            pending = resp.get("UnprocessedKeys") or {}
            if not pending:
                return out
            time.sleep(min(0.05 * 2 ** attempt, 2.0))
        raise SourceError(f"task table {table}: reads still throttled after retries")

    rows: dict[str, dict[str, Any]] = {}
    for part in _parallel(get, list(chunks(list(task_ids), BATCH_GET_MAX)), threads):
        rows.update((str(r.get("task_id")), r) for r in part)
    return rows


def _s3_json(client: Any, bucket: str, key: str, required: bool) -> dict[str, Any] | None:
    from botocore.exceptions import BotoCoreError, ClientError

    from ..outputs.store import is_not_found, s3_error_code

    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as e:
        if is_not_found(e) and not required:
            return None
        raise InputError(f"s3://{bucket}/{key}: cannot read ({s3_error_code(e) or e})") from None
    except BotoCoreError as e:
        raise SourceError(f"s3://{bucket}/{key}: cannot read ({e})") from None
    try:
        doc = json.loads(body)
    except json.JSONDecodeError:
        raise InputError(f"s3://{bucket}/{key}: not JSON") from None
    if not isinstance(doc, dict):
        raise InputError(f"s3://{bucket}/{key}: expected a JSON object")
    return doc


def run_folder(run: str, cache_bucket: str | None, cache_prefix: str = "caches/") -> tuple[str, str, str]:
    """``(run id, bucket, key prefix of the run's folder)`` from a run id, an execution ARN
    (its name is the run id) or the ``s3://`` URL of the run's folder or manifest."""
    run = run.strip()
    if run.startswith("s3://"):
        bucket, _, key = run.removeprefix("s3://").partition("/")
        if key.endswith(".json"):
            key = key.rpartition("/")[0]
        key = key.strip("/")
        if not bucket or not key:
            raise ConfigError(f"--run {run}: expected s3://BUCKET/PREFIX/RUN_ID/ (the folder of manifest.json)")
        return key.rpartition("/")[2], bucket, key + "/"
    run_id = run.rsplit(":", 1)[-1] if run.startswith("arn:") else run
    if not run_id:
        raise ConfigError(f"--run {run!r}: no run id")
    if not cache_bucket:
        raise ConfigError("--run: the run's bucket is unknown: pass --cache-bucket (or set $CACHE_BUCKET), "
                          "or give the run as s3://BUCKET/caches/RUN_ID/")
    return run_id, cache_bucket, f"{cache_prefix.strip('/')}/{run_id}/" if cache_prefix.strip("/") else f"{run_id}/"


def _usage_from_rows(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The rows' usage figures added up (peak memory: the largest); None when no row has any."""
    with_usage = [r for r in rows if any(k in r for k in _USAGE_KEYS)]
    if not with_usage:
        return None
    out: dict[str, Any] = {"tasks": len(with_usage)}
    for k in _USAGE_KEYS:
        vals = [float(r[k]) for r in with_usage if k in r]
        if vals:
            out[k] = max(vals) if k == "peak_memory_bytes" else sum(vals)
    return out


def run_report(run: str, *, task_table: str, cache_bucket: str | None = None, cache_prefix: str = "caches/",
               max_thumbnails: int = MAX_THUMBNAILS, threads: int = 16, clients: Any = None) -> Report:
    """The report of a run on AWS: its manifest and ``summary.json`` (if written yet) on S3,
    its rows in ``task_table``; thumbnails from the products the rows point to."""
    from ..orchestration import Clients
    from ..worker import CacheFetcher

    c = clients or Clients.default()
    run_id, bucket, prefix = run_folder(run, cache_bucket, cache_prefix)
    manifest = _s3_json(c.s3, bucket, f"{prefix}manifest.json", required=True)
    assert manifest is not None
    summary = _s3_json(c.s3, bucket, f"{prefix}summary.json", required=False)
    queued = [str(t) for t in manifest.get("queued", [])]
    earlier = [str(t) for t in manifest.get("skipped_done", [])]
    rows = _rows(c.dynamodb, task_table, sorted(set(queued) | set(earlier)), threads)
    filedb = str(manifest.get("filedb") or "")
    if not filedb:
        raise InputError(f"s3://{bucket}/{prefix}manifest.json: no filedb (the run planned no tasks)")
    fetcher = CacheFetcher()
    local = ""
    try:
        from ..run import TaskReader

        local = fetcher.local(filedb)
        reader = TaskReader(local)
        statuses = []
        for task_id in sorted(set(queued) | set(earlier), key=parse_task):
            tile = parse_task(task_id)
            row = rows.get(render_task(tile), {})
            state = _ROW_STATES.get(str(row.get("state", "")), "pending" if task_id in queued else "done")
            usage = {k: float(row[k]) for k in ("seconds", *_USAGE_KEYS) if isinstance(row.get(k), (int, float))}
            reason = str(row.get("reason") or "")
            if task_id in earlier and task_id not in queued and not reason:
                reason = "done in an earlier run"
            statuses.append(TileStatus(tile, state, reason=reason, datasets=len(reader.tasks.get(tile, ())),
                                       stac_url=str(row.get("output_uri") or ""), usage=usage))
        _fill_products(_Files(), statuses, max_thumbnails, threads)
        gridspec = reader.gridspec
    finally:
        if local and filedb.startswith("s3://"):
            from ..cache import close_cache

            close_cache(local)  # before its temporary copy goes
        fetcher.close()
    usage = (summary or {}).get("usage") if isinstance((summary or {}).get("usage"), dict) else None
    if usage is not None:
        usage_source = f"s3://{bucket}/{prefix}summary.json"
    else:
        usage = _usage_from_rows(rows.values())
        usage_source = (f"the rows of task table {task_table} (summary.json not written yet: no cost)"
                        if usage is not None else f"no usage recorded in s3://{bucket}/{prefix}summary.json "
                                                  f"or in the rows of task table {task_table}")
    notes = []
    if summary is None:
        notes.append("The run has no summary.json yet: it is still running, or it stopped before its Summary step.")
    request = manifest.get("request")
    title = f"run {run_id}" + (f" ({json.dumps(request, sort_keys=True)})" if request else "")
    return Report(title=title, grid=gridspec, tiles=statuses, usage=usage, usage_source=usage_source, notes=notes,
                  source=f"manifest s3://{bucket}/{prefix}manifest.json; task table {task_table}; cache {filedb}")


# ---------------------------------------------------------------------------- the page
def _asset(name: str) -> str:
    return files(__package__).joinpath(name).read_text(encoding="utf8")


def _leaflet() -> tuple[str, str]:
    """Leaflet's JS and CSS as vendored from the npm package (``assets/``; see the Makefile's
    ``vendor-leaflet``): without the source-map comment (the map file is not shipped), and
    the CSS's images inlined as data URIs, so the page fetches nothing."""
    js = "\n".join(line for line in _asset("assets/leaflet.js").splitlines()
                   if not line.startswith("//# sourceMappingURL="))

    def inline(m: re.Match[str]) -> str:
        png = files(__package__).joinpath(f"assets/images/{m.group(1)}").read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode()})"

    return js, re.sub(r"url\(images/([\w.-]+\.png)\)", inline, _asset("assets/leaflet.css"))


def _rounded(geometry: dict[str, Any], digits: int = 5) -> dict[str, Any]:
    """Coordinates to ``digits`` decimals (1e-5 degree is about a metre): a continent's
    outlines in a third of the bytes."""
    def walk(c: Any) -> Any:
        return round(c, digits) if isinstance(c, float) else [walk(v) for v in c]

    return dict(geometry, coordinates=walk(geometry["coordinates"]))


def _features(report: Report) -> dict[str, Any]:
    from ..binning import solar_offset_hours
    from ..summary import tile_outline

    import numpy as np

    gs = report.grid
    xy = sorted({(t.tile.x, t.tile.y) for t in report.tiles})
    offsets = (solar_offset_hours(gs, np.array([x for x, _ in xy]), np.array([y for _, y in xy]))
               if xy else [])
    outlines = {k: _rounded(tile_outline(gs, k, int(o))) for k, o in zip(xy, offsets)}
    feats = []
    for t in report.tiles:
        props: dict[str, Any] = {"task": render_task(t.tile), "period": t.tile.period, "x": t.tile.x, "y": t.tile.y,
                                 "state": t.state, "reason": t.reason}
        if t.datasets is not None:
            props["datasets"] = t.datasets
        for k in ("thumbnail", "thumbnail_url", "stac_url"):
            if getattr(t, k):
                props[k] = getattr(t, k)
        if t.usage:
            props["usage"] = t.usage
        feats.append({"type": "Feature", "geometry": outlines[(t.tile.x, t.tile.y)], "properties": props})
    return {"type": "FeatureCollection", "features": feats}


def _hours(seconds: Any) -> str:
    return f"{float(seconds) / 3600:,.2f} h"


def _fmt_bytes(n: Any) -> str:
    v = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if v < 1000 or unit == "TB":
            return f"{v:,.1f} {unit}" if unit != "B" else f"{int(v)} B"
        v /= 1000
    return f"{v} B"  # pragma: no cover


def _usage_html(report: Report) -> str:
    e = html.escape
    u = report.usage
    if not u:
        return f'<p class="none" id="usage-none">No usage recorded: {e(report.usage_source)}.</p>'
    rows: list[tuple[str, str]] = []
    labels: list[tuple[str, str, Callable[[Any], str]]] = [
        ("tasks", "tasks measured", lambda v: f"{int(v):,}"),
        ("cpu_seconds", "CPU time", _hours),
        ("wall_seconds", "task wall time", _hours),
        ("worker_hours", "worker hours", lambda v: f"{float(v):,.2f} h"),
        ("peak_memory_bytes", "peak memory (largest task)", lambda v: f"{float(v) / 2**30:,.2f} GiB"),
        ("bytes_read", "bytes read", _fmt_bytes),
        ("observations", "pixel observations", lambda v: f"{int(v):,}"),
        ("cost_usd", "cost", lambda v: f"US$ {float(v):,.2f}"),
    ]
    for key, label, fmt in labels:
        if u.get(key) is not None:
            try:
                rows.append((label, fmt(u[key])))
            except (TypeError, ValueError):
                rows.append((label, str(u[key])))
    prices = u.get("prices")
    if isinstance(prices, Mapping) and prices:
        rows.append(("prices", "; ".join(f"{k}: {v if not isinstance(v, (dict, list)) else json.dumps(v)}"
                                         for k, v in prices.items())))
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return f'<table id="usage"><tbody>{body}</tbody></table><p class="src">From {e(report.usage_source)}.</p>'


def _failures_html(report: Report) -> str:
    e = html.escape
    failed = [t for t in report.tiles if t.state == "failed"]
    if not failed:
        return '<p class="none" id="failures-none">No failed tasks.</p>'
    body = "".join(f'<tr data-task="{e(render_task(t.tile))}"><td>{e(render_task(t.tile))}</td>'
                   f"<td>{e(t.reason or 'failed (no reason recorded)')}</td></tr>" for t in failed)
    return f'<table id="failures"><thead><tr><th>task</th><th>reason</th></tr></thead><tbody>{body}</tbody></table>'


def render_html(report: Report) -> str:
    """The page: one HTML document with Leaflet, its CSS, the tiles and thumbnails inlined."""
    e = html.escape
    js, css = _leaflet()
    data = {"tiles": _features(report), "states": {k: {"label": v[0], "colour": v[1]} for k, v in STATES.items()}}
    # JSON inside <script>: "</" would end the element; "<\/" is the same JSON string
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    counts = report.counts
    total = len(report.tiles)
    summary = ", ".join(f"{n:,} {STATES[k][0]}" for k, n in counts.items() if n)
    pct = 100.0 * counts["done"] / total if total else 0.0
    page = _asset("report.html")
    subs = {
        "{{title}}": e(report.title),
        "{{leaflet_css}}": css,
        "{{leaflet_js}}": js,
        "{{data}}": payload,
        "{{summary}}": e(f"{total:,} tasks: {summary or 'none'} ({pct:.1f} % done)"),
        "{{source}}": e(report.source),
        "{{generated}}": e(report.generated_at),
        "{{notes}}": "".join(f'<p class="note">{e(n)}</p>' for n in report.notes),
        "{{failures}}": _failures_html(report),
        "{{usage}}": _usage_html(report),
    }
    # one pass, so text that happens to contain a marker is never substituted again
    return re.sub("|".join(re.escape(k) for k in subs), lambda m: subs[m.group(0)], page)


def write_report(report: Report, dest: str) -> str:
    """Write the page to a path, ``file://`` or ``s3://`` URL; returns where it is."""
    from ..outputs import open_folder

    folder, name = _split_url(dest) if "/" in dest else (".", dest)
    if not name.endswith((".html", ".htm")):
        raise ConfigError(f"--output {dest}: expected a file name ending in .html")
    try:
        url = open_folder(folder or "/").put(name, render_html(report).encode(), "text/html; charset=utf-8")
    except StatsError:
        raise
    except Exception as err:  # noqa: BLE001 - one line naming the destination
        raise SourceError(f"--output {dest}: cannot write ({err})") from None
    return url

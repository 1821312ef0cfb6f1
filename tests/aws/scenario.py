"""What the test deployment computes: its settings over cdk.json's, and its input scenes on S3."""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.aws.moto_server import MotoServer

INPUT_BUCKET = "statscore-inputs"
YEAR = 2020
SETTINGS: dict[str, Any] = {
    # what the enumerate Lambda reads: STAC items (and their COGs) on S3, outside the stack
    "stac_location": f"s3://{INPUT_BUCKET}/s2_l2a/**/*.stac-item.json",
    # 160 km tiles of 40 px: the scenes below fall on 5 tiles, and a run takes seconds
    "grid": "epsg:3577;4000;40",
    "plugin": "pq",
    "product": {"name": "test_pq", "short_name": "test_pq", "version": "0.0.1"},
    # a grant get_object_acl can tell from the owner's default one
    "s3_acl": "public-read",
    # a worker's threads and memory limit, sized for this machine
    "job_vcpus": 1,
    "job_memory_mib": 2048,
    # one retry round keeps the poison test short
    "verify_max_rounds": 1,
}
"""The test deployment's settings (``cdk_context(**SETTINGS)``)."""


@functools.cache
def scenario_template() -> dict[str, Any]:
    """The app synthesized with :data:`SETTINGS` (cdk-nag on), once per test process: tests/aws and
    tests/images deploy the same template."""
    from tests.infra.cdk_support import synthesise

    return synthesise(Path(tempfile.mkdtemp(prefix="statscore-cdk.out-")), **SETTINGS).template


@dataclass(frozen=True)
class Inputs:
    """Scenes on the server's S3 and the tasks a run of :data:`YEAR` has."""

    root: Path
    tasks: tuple[str, ...]
    poison_task: str
    """The one task that corrupt :attr:`poison_cogs` fail (their scene lies on no other tile)."""
    poison_cogs: dict[str, Path]
    """S3 key -> local original of the lone far scene's band files."""


def upload_inputs(server: MotoServer, root: Path) -> Inputs:
    """12 days of 32 px S2 scenes near 150 E plus one scene 400 km away, uploaded as ``s2_l2a/...``.

    The tasks are planned here too, with the same code the enumerate Lambda runs, to know
    the tile the far scene makes alone.
    """
    from statscore.cache import cache_tasks, open_cache
    from statscore.period import Period
    from statscore.plan import SaveTasksRequest, save_tasks
    from statscore.sampledata import generate_scenes
    from statscore.task import render_task

    scenes = root / "s2_l2a"
    near = generate_scenes(scenes, product="s2_l2a", region="au-se-small", start=f"{YEAR}-01-01",
                           end=f"{YEAR}-01-12", size_px=32)
    (far,) = generate_scenes(scenes, product="s2_l2a", region=(145.0, -37.0, 145.05, -36.95),
                             start=f"{YEAR}-01-01", end=f"{YEAR}-01-12", size_px=32, limit=1)
    s3 = server.client("s3")
    s3.create_bucket(Bucket=INPUT_BUCKET)
    for p in sorted(scenes.rglob("*")):
        if p.is_file():
            s3.upload_file(str(p), INPUT_BUCKET, str(p.relative_to(root)))

    db = root / "plan.db"
    save_tasks(SaveTasksRequest(output=str(db), grid=SETTINGS["grid"], input_products=f"{scenes}/**/*.stac-item.json",
                                frequency="annual", temporal_range=Period.from_year(YEAR)), log=lambda _: None)
    cache = open_cache(str(db))
    try:
        planned = {render_task(t): set(ids) for t, ids in cache_tasks(cache).items()}
    finally:
        cache.close()
    poison = [t for t, ids in planned.items() if far.id in ids]
    assert near and len(poison) == 1 and len(planned) >= 4, f"the far scene must make a tile of its own: {planned}"
    return Inputs(root, tuple(sorted(planned)), poison[0],
                  {str(p.relative_to(root)): p for p in far.band_paths.values()})

"""A ``stac-api`` deployment's large run in the moto server, end to end: Enumerate counts the items
of a real STAC API, the state machine runs the planner as one Batch job (the worker image's
entrypoint running ``odc-stats save-tasks`` to the cache bucket), Enumerate continues from that
cache, and the workers do every task."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.stac_server import StacServer, collection_doc
from statscore.sampledata.earthsearch import earth_search_scenes
from tests.aws.execution import entered, history, run_execution, split_s3, task_rows
from tests.aws.moto_deploy import deploy
from tests.aws.moto_server import MotoServer
from tests.aws.scenario import SETTINGS

pytestmark = pytest.mark.postgres

COG_BUCKET = "es-cogs"
"""The inputs' bucket on the moto server (public, read unsigned as the profile says)."""
PLACEHOLDER = "http://127.0.0.1:9/statscore-stac-api"
"""The API's URL at synth time; the deployed template gets the test server's."""
STAC_SETTINGS: dict[str, Any] = {**SETTINGS, "dataset_source": "stac-api", "stac_api_url": PLACEHOLDER,
                                 "collections": ["sentinel-2-l2a"], "profile": "earth-search-s2-l2a",
                                 "input_buckets": [COG_BUCKET], "plan_in_batch_above_items": 5, "plan_job_vcpus": 1,
                                 "plan_job_memory_mib": 2048}


@pytest.fixture(scope="module")
def stac_api(moto_server: MotoServer) -> Iterator[tuple[str, int]]:
    """stac-fastapi-pgstac serving a few Earth-Search-style scenes of 2022 (URL, item count), their
    COGs public on the moto server's S3 and named by https S3 URLs, as Element 84's are."""
    admin = os.environ.get("STATSCORE_TEST_PG")
    if not admin:
        pytest.fail("STATSCORE_TEST_PG is not set: run the tests with `make test` (it provides PostgreSQL)")
    data = Path(tempfile.mkdtemp(prefix="statscore-es-"))
    scenes = earth_search_scenes(data, region=(146.6, -36.6, 147.0, -36.3), start="2022-02-01", end="2022-02-20",
                                 size_px=32, cloudiness=0.2)
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=COG_BUCKET)
    items = []
    for sc in scenes:
        it = json.loads(json.dumps(sc.item))
        for a in it["assets"].values():
            key = str(Path(a["href"]).relative_to(data))
            s3.upload_file(a["href"], COG_BUCKET, key, ExtraArgs={"ACL": "public-read"})
            a["href"] = f"https://{COG_BUCKET}.s3.us-west-2.amazonaws.com/{key}"
        items.append(it)
    server = StacServer(admin)
    try:
        server.start()
        server.load([collection_doc("sentinel-2-l2a")], items)
        yield server.url, len(items)
    finally:
        server.stop()


def test_a_run_above_the_setting_plans_in_batch_and_runs_from_its_cache(moto_server: MotoServer, stac_api) -> None:
    from tests.infra.cdk_support import synthesise

    url, items = stac_api
    assert items > STAC_SETTINGS["plan_in_batch_above_items"]
    template = synthesise(Path(tempfile.mkdtemp(prefix="statscore-cdk.out-")), **STAC_SETTINGS).template
    template = json.loads(json.dumps(template).replace(PLACEHOLDER, url))
    dep = deploy(moto_server.session, moto_server.endpoint, f"statscore-{uuid.uuid4().hex[:8]}", template)

    ex = run_execution(moto_server, dep.state_machine_arn, "continent", {"year": 2022})
    assert ex["status"] == "SUCCEEDED", f"{ex.get('error')}: {ex.get('cause')}\n{moto_server.log_tail()}"
    events = history(moto_server, ex["executionArn"])
    (planned,) = entered(events, "Plan in Batch")
    assert planned["plan_in_batch"] is True and planned["items"] == items
    cache = planned["plan"]["cache"]
    assert planned["plan"]["command"][:2] == ["odc-stats", "save-tasks"] and planned["plan"]["command"][-1] == cache
    (again,) = entered(events, "Enumerate the Batch plan")
    state = json.loads(ex["output"])
    assert state["filedb"] == cache and state["request"] == {"year": 2022, "cache": cache, "planned": True}
    bucket, key = split_s3(cache)
    moto_server.client("s3").head_object(Bucket=bucket, Key=key)  # the planner job's cache, where Enumerate read it
    rows = task_rows(moto_server, dep.outputs["TaskTableName"])
    assert len(rows) == state["tasks"] > 0 and {r["state"] for r in rows.values()} == {"DONE"}

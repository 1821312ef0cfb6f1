"""write_task_outputs to S3 on a moto server over HTTP: keys, ACLs, the STAC item put last,
skip/overwrite, cleanup after a failure, and odd folder names."""

from __future__ import annotations

import hashlib
import json

import pytest
from rio_cogeo import cog_validate

import statscore.outputs.store as store
from statscore.outputs import CogOptions, is_task_done, write_task_outputs

from .conftest import BANDS, make_result, make_rgba

OPTS = CogOptions.from_config({"overrides": {"rgba": {"compress": "jpeg"}}})
PREFIX = "ga_s2_gm_cyear_3_x49y24_2015--P1Y_final"


@pytest.fixture
def puts(monkeypatch):
    """Keys of the PutObject calls boto3 really sends, in order."""
    sent: list[str] = []
    real = store.s3_client

    def client():
        c = real()
        c.meta.events.register("before-parameter-build.s3.PutObject", lambda params, **_: sent.append(params["Key"]))
        return c

    monkeypatch.setattr(store, "s3_client", client)
    return sent


def _keys(client, bucket) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def _grants(client, bucket, key) -> set[tuple[str, str]]:
    acl = client.get_object_acl(Bucket=bucket, Key=key)
    return {(g["Grantee"].get("URI", g["Grantee"].get("ID", "")), g["Permission"]) for g in acl["Grants"]}


def test_objects_carry_the_acl_and_the_item_is_put_last(s3, make_task, puts, tmp_path):
    client, bucket = s3
    task = make_task(f"s3://{bucket}/ga_s2_gm_cyear_3/1-0-0")
    urls = write_task_outputs(task, make_result(task), cog_opts=OPTS, rgba=make_rgba(task), s3_acl="public-read")
    folder = "ga_s2_gm_cyear_3/1-0-0/x49/y24/2015--P1Y"
    assert urls[-1] == f"s3://{bucket}/{folder}/{PREFIX}.stac-item.json"
    assert puts[-1] == f"{folder}/{PREFIX}.stac-item.json" and len(puts) == len(urls)
    assert puts.index(f"{folder}/{PREFIX}.sha1") > max(puts.index(f"{folder}/{PREFIX}_{b}.tif") for b in BANDS)
    assert _keys(client, bucket) == sorted(puts)
    assert f"{folder}/{PREFIX}_rgba.tif" in puts
    for key in puts:
        assert ("http://acs.amazonaws.com/groups/global/AllUsers", "READ") in _grants(client, bucket, key), key
    assert is_task_done(task)

    # the objects are the real thing: a valid COG, checksums as listed
    red = tmp_path / "red.tif"
    red.write_bytes(client.get_object(Bucket=bucket, Key=f"{folder}/{PREFIX}_red.tif")["Body"].read())
    assert cog_validate(str(red)) == (True, [], [])
    sha1 = client.get_object(Bucket=bucket, Key=f"{folder}/{PREFIX}.sha1")["Body"].read().decode()
    for line in sha1.splitlines():
        digest, name = line.split("  ")
        body = client.get_object(Bucket=bucket, Key=f"{folder}/{name}")["Body"].read()
        assert hashlib.sha1(body).hexdigest() == digest
    item = json.loads(client.get_object(Bucket=bucket, Key=puts[-1])["Body"].read())
    assert item["links"][0] == {"rel": "self", "href": urls[-1], "type": "application/geo+json"}
    assert client.head_object(Bucket=bucket, Key=puts[-1])["ContentType"] == "application/json"


def test_bucket_owner_full_control(s3, make_task, puts):
    client, bucket = s3
    task = make_task(f"s3://{bucket}/p")
    write_task_outputs(task, make_result(task), cog_opts=OPTS, s3_acl="bucket-owner-full-control")
    grants = _grants(client, bucket, puts[-1])
    assert any(p == "FULL_CONTROL" for _, p in grants)
    assert not any("AllUsers" in g for g, _ in grants)


def test_skip_then_overwrite_on_s3(s3, make_task, puts):
    client, bucket = s3
    task = make_task(f"s3://{bucket}/p")
    first = write_task_outputs(task, make_result(task), cog_opts=OPTS)
    n = len(puts)
    again = write_task_outputs(task, make_result(task, seed=3), cog_opts=OPTS)
    assert again.skipped and again == [] and len(puts) == n
    redo = write_task_outputs(task, make_result(task, seed=3), cog_opts=OPTS, overwrite=True)
    assert not redo.skipped and redo == first and len(puts) == 2 * n


def test_a_failure_mid_write_removes_the_objects(s3, make_task, monkeypatch):
    client, bucket = s3
    task = make_task(f"s3://{bucket}/p")
    real_put = store.S3Folder.put
    done = []

    def put(self, name, data, content_type):
        if name.endswith(".odc-metadata.yaml"):
            raise ConnectionError("connection reset")
        done.append(name)
        return real_put(self, name, data, content_type)

    monkeypatch.setattr(store.S3Folder, "put", put)
    with pytest.raises(Exception, match="connection reset"):
        write_task_outputs(task, make_result(task), cog_opts=OPTS)
    assert len(done) >= len(BANDS) + 2
    assert _keys(client, bucket) == []
    assert not is_task_done(task)


def test_folder_names_with_dots(s3, make_task, puts):
    client, bucket = s3
    task = make_task(f"s3://{bucket}/v1.2/out.put", short_name="gm.s2.v1")
    write_task_outputs(task, make_result(task), cog_opts=OPTS)
    keys = _keys(client, bucket)
    assert "v1.2/out.put/x49/y24/2015--P1Y/gm.s2.v1_x49y24_2015--P1Y_final_thumbnail.jpg" in keys
    assert "v1.2/out.put/x49/y24/2015--P1Y/gm.s2.v1_x49y24_2015--P1Y_final.stac-item.json" in keys
    assert all(k.startswith("v1.2/out.put/x49/y24/2015--P1Y/gm.s2.v1_x49y24_2015--P1Y_final") for k in keys)

"""OutputFolder.create: of writers racing to store the same name, exactly one stores it
(the product's collection.json, written by whichever worker finishes a tile first)."""

from __future__ import annotations

import threading

import pytest

from statscore.outputs.store import LocalFolder, S3Folder

WRITERS = 8


def _race(folder, name: str) -> list[bool]:
    """``WRITERS`` threads call ``create`` at the same moment, each with its own bytes."""
    start = threading.Barrier(WRITERS)
    won: list[bool] = [False] * WRITERS

    def write(i: int) -> None:
        start.wait()
        won[i] = folder.create(name, f'{{"writer": {i}}}'.encode(), "application/json")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won


def test_local_create_has_one_winner_and_leaves_no_temporaries(tmp_path):
    folder = LocalFolder(str(tmp_path / "out"))
    won = _race(folder, "collection.json")
    assert won.count(True) == 1
    assert folder.read("collection.json") == f'{{"writer": {won.index(True)}}}'.encode()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["collection.json"]
    assert folder.create("collection.json", b"later", "application/json") is False
    assert folder.read("collection.json") == f'{{"writer": {won.index(True)}}}'.encode()


@pytest.mark.parametrize("versioned", [False, True])
def test_s3_create_has_one_winner_and_writes_one_version(s3, versioned):
    client, bucket = s3
    if versioned:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    folder = S3Folder(f"s3://{bucket}/product", acl="public-read", client=client)
    won = _race(folder, "collection.json")
    assert won.count(True) == 1
    assert folder.read("collection.json") == f'{{"writer": {won.index(True)}}}'.encode()
    versions = client.list_object_versions(Bucket=bucket).get("Versions", [])
    assert [v["Key"] for v in versions] == ["product/collection.json"]
    assert folder.create("collection.json", b"later", "application/json") is False
    grants = client.get_object_acl(Bucket=bucket, Key="product/collection.json")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") and g["Permission"] == "READ" for g in grants)

"""Output folders on local disk (``file://`` or a plain path) and S3 (``s3://``).

Every write is atomic: a local file is written under a hidden temporary name in the
same folder and renamed; an S3 object is built in memory and stored with one
``put_object`` under its final key, so a reader never sees a half-written file.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from ..errors import ConfigError, StatsError

__all__ = ["OutputFolder", "LocalFolder", "S3Folder", "open_folder", "is_s3_url", "local_path", "join_url", "s3_client",
           "s3_error_code", "is_not_found"]


def is_s3_url(url: str) -> bool:
    return url.startswith("s3://")


def local_path(url: str) -> Path:
    """``file:///a/b`` or ``/a/b`` -> ``Path('/a/b')``; anything else is a :class:`ConfigError`."""
    u = urlparse(url)
    if u.scheme == "file":
        return Path(unquote(u.path))
    if u.scheme == "":
        return Path(url)
    raise ConfigError(f"output location {url!r}: expected a file:// path or an s3:// URL")


def join_url(folder: str, name: str) -> str:
    return f"{folder.rstrip('/')}/{name}"


def s3_client():
    """A boto3 S3 client; boto3 itself honours ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_S3``."""
    import boto3

    return boto3.client("s3")


_CONFLICT_RETRIES = 5


def s3_error_code(err: BaseException) -> str:
    """The S3 error code of a botocore ``ClientError`` (``"404"``, ``"AccessDenied"``...); '' for other errors."""
    return str(getattr(err, "response", {}).get("Error", {}).get("Code", ""))


def is_not_found(err: BaseException) -> bool:
    """Whether an S3 error says the object is not there (GetObject: NoSuchKey; HeadObject, and so a
    download's first request: 404 with no body)."""
    return s3_error_code(err) in ("404", "NoSuchKey", "NotFound")


class OutputFolder(Protocol):
    """One task's output folder."""

    url: str

    def exists(self, name: str) -> bool: ...

    def put(self, name: str, data: bytes, content_type: str) -> str:
        """Store ``data`` as ``name`` atomically; returns its URL."""
        ...

    def create(self, name: str, data: bytes, content_type: str) -> bool:
        """Store ``data`` as ``name`` only if no such file exists, atomically even against
        writers in other processes or hosts; True when this call stored it."""
        ...

    def read(self, name: str) -> bytes: ...

    def delete(self, name: str) -> None:
        """Remove ``name``; no error when it is not there."""
        ...


class LocalFolder:
    """A folder on local disk; created on the first write."""

    def __init__(self, url: str):
        self.url = url
        self.path = local_path(url)

    def exists(self, name: str) -> bool:
        return (self.path / name).is_file()

    def _temporary(self, name: str, data: bytes) -> Path:
        """``data`` on disk under a hidden name beside ``name``, ready to be renamed or linked."""
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp

    def put(self, name: str, data: bytes, content_type: str) -> str:
        tmp = self._temporary(name, data)
        try:
            os.replace(tmp, self.path / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return join_url(self.url, name)

    def create(self, name: str, data: bytes, content_type: str) -> bool:
        # a hard link fails when the name exists, so of two writers exactly one creates it,
        # and a reader still never sees a half-written file
        tmp = self._temporary(name, data)
        try:
            os.link(tmp, self.path / name)
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def read(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def delete(self, name: str) -> None:
        (self.path / name).unlink(missing_ok=True)


class S3Folder:
    """A key prefix in a bucket; objects carry ``acl`` (a canned ACL) when given."""

    def __init__(self, url: str, acl: str | None = None, client=None):
        u = urlparse(url)
        if not u.netloc:
            raise ConfigError(f"output location {url!r}: no bucket name")
        self.url = url
        self.bucket = u.netloc
        self.prefix = u.path.strip("/")
        self.acl = acl
        self.client = client if client is not None else s3_client()

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(name))
        except ClientError as err:
            if is_not_found(err):
                return False
            raise StatsError(f"s3://{self.bucket}/{self.key(name)}: {err}") from None
        return True

    def put(self, name: str, data: bytes, content_type: str) -> str:
        kw = {"ACL": self.acl} if self.acl else {}
        self.client.put_object(Bucket=self.bucket, Key=self.key(name), Body=data, ContentType=content_type, **kw)
        return join_url(self.url, name)

    def create(self, name: str, data: bytes, content_type: str) -> bool:
        # S3's conditional write: 412 when the key exists; 409 while another conditional
        # write of the key is in flight, which S3 asks the caller to retry
        from botocore.exceptions import ClientError

        kw = {"ACL": self.acl} if self.acl else {}
        attempt = 0
        while True:
            try:
                self.client.put_object(Bucket=self.bucket, Key=self.key(name), Body=data, ContentType=content_type,
                                       IfNoneMatch="*", **kw)
                return True
            except ClientError as err:
                code = s3_error_code(err)
                if code in ("PreconditionFailed", "412"):
                    return False
                attempt += 1
                if code not in ("ConditionalRequestConflict", "409") or attempt == _CONFLICT_RETRIES:
                    raise
                time.sleep(0.2 * 2 ** (attempt - 1))

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.key(name))["Body"].read()

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(name))


def open_folder(url: str, *, s3_acl: str | None = None) -> LocalFolder | S3Folder:
    """The output folder at ``url`` (``s3://bucket/prefix``, ``file:///path`` or a path)."""
    if is_s3_url(url):
        return S3Folder(url, acl=s3_acl)
    return LocalFolder(url)

"""Objects of an archive on S3 (or any S3-compatible store): addresses, a client, whole-object I/O.

An archive location ``s3://bucket/prefix`` holds the same keys as a local archive directory
(``<prefix>/_wsframes_manifest.json``, ``<prefix>/plan_id=7/date=2026-11-01/activity.parquet``),
so DuckDB, Spark and Polars read it as the same Hive dataset. The client is boto3 (the optional
extra ``wsframes[s3]``): it speaks the conditional writes (``If-Match`` / ``If-None-Match`` on
PUT) that the archive's concurrency control needs, which fsspec/s3fs and Polars' object_store
readers do not expose. Endpoint, credentials and region come from the usual settings
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``,
profiles) or from explicit ``storage_options``; credentials never appear in messages.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wsframes.errors import ArchiveError, ConfigurationError

__all__ = ["STORAGE_OPTIONS", "Conflict", "ObjectStore", "S3Location", "is_s3", "open_store"]

SCHEME = "s3://"
#: The ``storage_options`` keys accepted (the names boto3 and Polars' object_store both use).
STORAGE_OPTIONS = frozenset(
    {"endpoint_url", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region_name"}
)
_INSTALL = "pip install 'wsframes[s3]'"


class Conflict(ArchiveError):
    """A conditional write lost: another writer changed the object first."""


def is_s3(archive: object) -> bool:
    """True for an ``s3://`` archive location (a str; a Path cannot hold ``//``)."""
    return isinstance(archive, str) and archive.strip().lower().startswith(SCHEME)


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket/prefix`` split and checked; keys of the archive are ``prefix/relative``."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urlsplit(url.strip())
        bucket, prefix = parts.netloc, parts.path.strip("/")
        if "@" in bucket:  # never echo what may be a key and secret
            raise ConfigurationError("an s3:// archive URL may not hold credentials (user:secret@); "
                                     "put them in AWS_* settings or storage_options.")
        if not bucket or parts.query or parts.fragment:
            raise ConfigurationError(f"archive {url!r} is not an S3 location; write it as s3://bucket/prefix.")
        if any(p in {".", ".."} for p in prefix.split("/")):
            raise ConfigurationError(f"archive {url!r}: the prefix may not contain '.' or '..' parts.")
        return cls(bucket, prefix)

    @property
    def url(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}".rstrip("/")

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def relative(self, key: str) -> str:
        return key[len(self.prefix) + 1:] if self.prefix else key


def _check_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ConfigurationError(f"storage_options must be a dict, not {type(options).__name__}.")
    unknown = sorted(set(options) - STORAGE_OPTIONS)
    if unknown:
        raise ConfigurationError(
            f"unknown storage_options {', '.join(unknown)}; accepted: {', '.join(sorted(STORAGE_OPTIONS))}."
        )
    return {k: v for k, v in options.items() if v is not None}


def _check_endpoint(endpoint: str | None) -> None:
    # Plain http would send the signed requests (and the data) in clear: loopback only.
    if not endpoint:
        return
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"S3 endpoint {endpoint!r} must be an http(s):// URL.")
    if parts.scheme == "http":
        host = parts.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ConfigurationError(f"S3 endpoint {endpoint!r} uses plain http; use https (http is "
                                     "accepted on loopback only).")


class ObjectStore:
    """Whole-object GET/PUT/DELETE/LIST on one archive location, conditional where asked."""

    def __init__(self, location: S3Location, client: Any) -> None:
        self.location = location
        self._client = client
        self.endpoint = str(client.meta.endpoint_url)
        from botocore.exceptions import BotoCoreError, ClientError

        self._errors: tuple[type[BaseException], ...] = (BotoCoreError, ClientError)

    def _fail(self, exc: BaseException, what: str) -> ArchiveError:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
            return Conflict(f"{what}: another writer changed it first")
        # botocore messages name the operation and endpoint, never the credentials.
        return ArchiveError(f"{what} failed ({type(exc).__name__}: {exc}).")

    def list(self) -> dict[str, tuple[str, int]]:
        """Every object under the prefix: relative key -> (ETag, size)."""
        out: dict[str, tuple[str, int]] = {}
        prefix = self.location.key("")
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=prefix)
            for page in pages:
                for obj in page.get("Contents", []):
                    out[self.location.relative(obj["Key"])] = (obj["ETag"], int(obj["Size"]))
        except self._errors as exc:
            raise self._fail(exc, f"listing {self.location.url}") from None
        return out

    def get(self, relative: str) -> tuple[bytes, str] | None:
        """An object's bytes and ETag, or None when it does not exist."""
        try:
            reply = self._client.get_object(Bucket=self.location.bucket, Key=self.location.key(relative))
            return reply["Body"].read(), reply["ETag"]
        except self._errors as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._fail(exc, f"reading {self.url(relative)}") from None

    def download(self, relative: str, dest: Path) -> str | None:
        """Stream an object into the file *dest*; returns its ETag (None when it does not exist)."""
        try:
            reply = self._client.get_object(Bucket=self.location.bucket, Key=self.location.key(relative))
            with open(dest, "wb") as fh:
                for chunk in reply["Body"].iter_chunks(1 << 20):
                    fh.write(chunk)
            return str(reply["ETag"])
        except self._errors as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._fail(exc, f"reading {self.url(relative)}") from None

    def put(self, relative: str, body: bytes, *, if_match: str | None = None,
            if_absent: bool = False) -> str:
        """PUT a whole object (atomic on S3: readers see the old or the new); returns its ETag.

        *if_match* (an ETag) or *if_absent* make it a conditional write that raises
        :class:`Conflict` when the object changed or exists.
        """
        extra: dict[str, str] = {}
        if if_match is not None:
            extra["IfMatch"] = if_match
        elif if_absent:
            extra["IfNoneMatch"] = "*"
        try:
            reply = self._client.put_object(Bucket=self.location.bucket, Key=self.location.key(relative),
                                            Body=body, **extra)
        except self._errors as exc:
            raise self._fail(exc, f"writing {self.url(relative)}") from None
        return str(reply["ETag"])

    def delete(self, relative: str, *, if_match: str | None = None) -> None:
        """Delete an object (absent is fine); with *if_match* only the version with that ETag."""
        extra = {"IfMatch": if_match} if if_match is not None else {}
        try:
            self._client.delete_object(Bucket=self.location.bucket, Key=self.location.key(relative), **extra)
        except self._errors as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return
            raise self._fail(exc, f"deleting {self.url(relative)}") from None

    def url(self, relative: str) -> str:
        return f"{self.location.url}/{relative}"


def open_store(url: str, storage_options: Mapping[str, Any] | None = None) -> ObjectStore:
    """An :class:`ObjectStore` for *url*; ConfigurationError for a bad URL, option or missing extra.

    Settings not given in *storage_options* come from boto3's usual chain (``AWS_ENDPOINT_URL``,
    ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``, profiles, instance roles).
    """
    location = S3Location.parse(url)
    options = _check_options(storage_options)
    _check_endpoint(options.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_S3")
                    or os.environ.get("AWS_ENDPOINT_URL"))
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise ConfigurationError(
            f"archive {location.url} is on S3, which needs the optional S3 client: {_INSTALL}"
        ) from None
    # Timeouts always on; botocore's standard mode retries throttling and 5xx with backoff.
    config = Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 5, "mode": "standard"})
    client = boto3.session.Session().client("s3", config=config, **options)
    return ObjectStore(location, client)

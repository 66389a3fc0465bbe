"""An archive on S3, worked on through a local view so every local guarantee carries over.

Object stores have no rename, so the local protocol (write a hidden file, rename it over the old
one, manifest last) becomes:

1. **Whole-object PUTs.** A day file is built and checksummed locally, then uploaded in one PUT:
   S3 replaces an object atomically, so a reader gets the old version or the new one, never a torn
   one, and a killed sync leaves no temporary object behind.
2. **The manifest written last, and around every object.** Before a day object is replaced, the
   manifest accepting its new SHA-256 as *pending* is PUT; after it, the manifest recording the
   fetched interval. A sync killed at any point leaves objects that match a sum the manifest holds
   and rows outside the recorded intervals that readers ignore (the same invariant as on disk).
3. **One writer, fenced.** A sync holds a lease on the lock object ``<prefix>/.wsframes.lock``,
   created with ``If-None-Match: *`` (only one create can win) and taken over from a dead holder
   (its lease ran out, or its process on this host is gone) by a compare-and-swap on the lock's
   ETag. Every manifest PUT is conditional on the ETag this sync last saw (``If-Match``), so a
   writer that lost its lease without knowing fails on its next write instead of overwriting.
4. **Checksums on read.** Objects are downloaded into a content-addressed cache (by ETag) and
   linked into a per-process view of the archive; the view is verified against the manifest like a
   local archive, so a damaged or foreign object is named (by its ``s3://`` URL) and never read.
   A view is consistent: the manifest's ETag must be unchanged after the objects were fetched.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import platformdirs

from wsframes._atomic import atomic_write_bytes, temp_path
from wsframes.archive import _publish
from wsframes.archive.manifest import MANIFEST_NAME, Manifest
from wsframes.archive.s3 import Conflict, ObjectStore, open_store
from wsframes.archive.s3lease import DEFAULT_LEASE, LOCK_KEY, Lease, alive
from wsframes.archive.store import ARCHIVE_ENV, DATA_FILE
from wsframes.errors import ArchiveError, ConfigurationError, DamagedFileError, WsframesError

__all__ = ["CACHE_ENV", "DEFAULT_LEASE", "LOCK_KEY", "Lease", "relabel", "remote_url", "s3_read", "s3_write"]

log = logging.getLogger(__name__)

#: Environment variable naming the download cache of S3 archives (default: the user cache dir).
CACHE_ENV = "WSFRAMES_S3_CACHE"
_DAY_KEY = re.compile(rf"^plan_id=([^/]+)/date=(\d{{4}}-\d{{2}}-\d{{2}})/{re.escape(DATA_FILE)}$")
T = TypeVar("T")


def remote_url(archive: object, storage_options: object = None) -> str | None:
    """The ``s3://`` URL when *archive* (or, for None, ``$WSFRAMES_ARCHIVE``) names one.

    *storage_options* given for a local archive raise ConfigurationError: they would be ignored.
    """
    from wsframes.archive.s3 import is_s3

    if archive is None or (isinstance(archive, str) and not archive.strip()):
        archive = os.environ.get(ARCHIVE_ENV, "").strip() or None
    url = archive.strip() if is_s3(archive) and isinstance(archive, str) else None
    if url is None and storage_options:
        raise ConfigurationError("storage_options apply to an s3://bucket/prefix archive only; this "
                                 f"archive is a local directory ({archive}).")
    return url


def _cache_root() -> Path:
    env = os.environ.get(CACHE_ENV, "").strip()
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("wsframes")) / "s3"


# -- the local view ------------------------------------------------------------------------------
@dataclasses.dataclass
class View:
    """A local directory laid out like the archive, linked to cached objects; publishes writes."""

    store: ObjectStore
    root: Path
    manifest_etag: str | None = None
    lease: Lease | None = None
    fresh: bool = False  # download every object again (verification must not trust the cache)

    @property
    def objects(self) -> Path:
        """This location's download cache: one immutable file per object version (its ETag)."""
        return _mkdir(_cache_root() / "objects" / _location_id(self.store))

    def cached(self, etag: str) -> Path:
        return self.objects / (re.sub(r"[^0-9A-Za-z-]", "", etag) + ".parquet")

    def fill(self, want: Callable[[Manifest], Collection[date] | None] | None = None) -> None:
        """Make the view hold the manifest and the wanted day objects, as one consistent version."""
        self.root.mkdir(parents=True, exist_ok=True)
        for _attempt in range(5):
            got = self.store.get(MANIFEST_NAME)
            listing = self.store.list()
            manifest_path = self.root / MANIFEST_NAME
            if got is None:
                manifest_path.unlink(missing_ok=True)
                self.manifest_etag = None
            else:
                atomic_write_bytes(manifest_path, got[0])
                self.manifest_etag = got[1]
            days = None if want is None or got is None else want(Manifest.load(self.root))
            changed = self._link_days(listing, days)
            after = self.store.get(MANIFEST_NAME)
            if (after and after[1]) == self.manifest_etag and not changed:
                return
        raise ArchiveError(f"the archive {self.store.location.url} kept changing while it was read; "
                           "retry when its sync has finished.")

    def _link_days(self, listing: Mapping[str, tuple[str, int]], days: Collection[date] | None) -> bool:
        """Link every wanted day object; True when an object vanished or changed meanwhile."""
        for key, (etag, _size) in listing.items():
            match = _DAY_KEY.match(key)
            if match is None:
                continue
            (self.root / f"plan_id={match[1]}").mkdir(parents=True, exist_ok=True)
            if days is not None and date.fromisoformat(match[2]) not in days:
                continue
            cached = self.cached(etag)
            if (self.fresh or not cached.exists()) and not self._download(key, etag, cached):
                return True
            try:
                _link(cached, self.root / key)
            except FileNotFoundError:  # pruned meanwhile by a reader that saw an older listing
                return True
        for path in self.root.glob(f"plan_id=*/date=*/{DATA_FILE}"):
            key = path.relative_to(self.root).as_posix()
            if key not in listing:
                path.unlink()  # deleted on S3 since this process last read it
        current = {self.cached(etag).name for etag, _size in listing.values()}
        for stale in self.objects.glob("*.parquet"):
            if stale.name not in current:  # a superseded version; views linking it keep their link
                stale.unlink(missing_ok=True)
        return False

    def _download(self, key: str, etag: str, cached: Path) -> bool:
        """Stream one object version into the cache; False when S3 holds another version now."""
        tmp = temp_path(cached)
        try:
            if self.store.download(key, tmp) != etag:
                return False
            os.replace(tmp, cached)
        finally:
            tmp.unlink(missing_ok=True)
        return True

    # -- publishing local writes (called through archive._publish) ----------------------------
    def publish(self, path: Path) -> None:
        key = path.relative_to(self.root).as_posix()
        if key == MANIFEST_NAME:
            body = path.read_bytes()
            if self.lease is not None:
                self.lease.renew()
            try:
                self.manifest_etag = self.store.put(
                    key, body, if_match=self.manifest_etag, if_absent=self.manifest_etag is None)
            except Conflict:
                raise ArchiveError(
                    f"the manifest of {self.store.location.url} was changed by another writer while this "
                    "sync held the lock (its lease had run out?); this sync stopped, and what it had "
                    "recorded before stays valid. Run it again.") from None
        elif path.exists():
            etag = self.store.put(key, path.read_bytes())
            _link(path, self.cached(etag))  # the next read need not download what was just written
        else:
            self.store.delete(key)


def _link(source: Path, dest: Path) -> None:
    """Point *dest* at the cached object (a hard link; a copy across file systems)."""
    with contextlib.suppress(FileNotFoundError):
        if os.path.samefile(source, dest):
            return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(dest)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, dest)


_VIEWS: dict[str, Path] = {}


def _location_id(store: ObjectStore) -> str:
    # The endpoint too: two servers may both have a bucket of that name.
    return hashlib.sha256(f"{store.endpoint}|{store.location.url}".encode()).hexdigest()[:16]


def _read_view_dir(store: ObjectStore) -> Path:
    """This process's view of an archive, reused by its later reads (a LazyFrame outlives the call
    that made it, so the files it scans must stay), removed at exit."""
    key = _location_id(store)
    if key not in _VIEWS or not _VIEWS[key].is_dir():
        _VIEWS[key] = _new_view_dir()
        atexit.register(shutil.rmtree, _VIEWS[key], True)
    return _VIEWS[key]


def _new_view_dir() -> Path:
    """A fresh view directory named after this process; those of dead processes (killed before
    their clean-up ran) are removed first. Views hold only links, so this frees no object."""
    views = _mkdir(_cache_root() / "views")
    for old in views.iterdir():
        pid = old.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=views))


@contextlib.contextmanager
def s3_read(url: str, storage_options: Mapping[str, Any] | None = None, *,
            want: Callable[[Manifest], Collection[date] | None] | None = None,
            fresh: bool = False, lock_timeout: float | None = None) -> Iterator[View]:
    """A verified local view of the S3 archive at *url* for reading (optionally under its lock).

    *want* picks the days to fetch from the manifest (None: all); *fresh* downloads every object
    again into a view of its own, removed afterwards (verification and export prove what S3 holds,
    not what the local cache holds).
    """
    store = open_store(url, storage_options)
    root = _new_view_dir() if fresh else _read_view_dir(store)
    lease = None if lock_timeout is None else Lease(store, timeout=lock_timeout)
    try:
        with _translated(root, store.location.url):
            if lease is not None:
                lease.acquire()
            view = View(store, root, lease=lease, fresh=fresh)
            view.fill(want)
            yield view
    finally:
        if lease is not None:
            lease.release()
        if fresh:
            shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def s3_write(url: str, storage_options: Mapping[str, Any] | None = None, *, lock_timeout: float,
             want: Callable[[Manifest], Collection[date] | None] | None = None,
             lease: float = DEFAULT_LEASE) -> Iterator[View]:
    """A private local view of the S3 archive under its lock; every write in it is published."""
    store = open_store(url, storage_options)
    root = _new_view_dir()
    holder = Lease(store, timeout=lock_timeout, lease=lease)
    try:
        with _translated(root, store.location.url):
            holder.acquire()  # before reading the manifest: what this sync builds on cannot change
            view = View(store, root, lease=holder)
            view.fill(want)
            token = _publish.active.set(view.publish)
            try:
                yield view
            finally:
                _publish.active.reset(token)
    finally:
        holder.release()
        shutil.rmtree(root, ignore_errors=True)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- naming objects by their URL, not the view's path --------------------------------------------
@contextlib.contextmanager
def _translated(root: Path, url: str) -> Iterator[None]:
    try:
        yield
    except WsframesError as exc:
        exc.args = tuple(_swap(a, root, url) if isinstance(a, str) else a for a in exc.args)
        if isinstance(exc, DamagedFileError):
            exc.paths = [_swap(p, root, url) for p in exc.paths]
        raise


def _swap(text: str, root: Path, url: str) -> str:
    return text.replace(str(root), url)


def relabel(value: T, root: Path, url: str) -> T:
    """*value* (a result dataclass, list, str or Path) with the view's paths replaced by the URL."""
    if isinstance(value, str):
        return _swap(value, root, url)  # type: ignore[return-value]
    if isinstance(value, Path):
        return _swap(str(value), root, url) if value.is_relative_to(root) else value  # type: ignore[return-value]
    if isinstance(value, list):
        return [relabel(v, root, url) for v in value]  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: relabel(getattr(value, f.name), root, url) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value

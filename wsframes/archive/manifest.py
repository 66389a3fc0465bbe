"""The archive's manifest: which time intervals of which plan are stored, when, and how final.

The manifest is the archive's source of truth. A stretch of time is *covered* when an interval of
the manifest says so; data files may briefly hold rows outside every interval (a sync killed after
writing a day file but before recording it), and readers ignore those rows. The manifest is one
JSON file, replaced atomically and always written *after* the data it describes.

An interval is *final* when it ended at least the settle delay before it was fetched: records can
reach the API late, so the newest stretch is re-read (and replaced exactly) by the next sync.

Since version 2 the manifest also holds the SHA-256 and size of every day file (:class:`FileSum`),
so a file damaged on disk is never read. A file being replaced has its new sum recorded as
*pending* before the rename and made current after it: a sync killed in between leaves a file that
matches one of the two, never a false alarm. Version 1 manifests (no sums) are still read; the next
sync upgrades them.

>>> from datetime import datetime, timedelta, timezone
>>> t = lambda h: datetime(2026, 11, 1, h, tzinfo=timezone.utc)
>>> m = Manifest()
>>> m.record("7", t(0), t(10), fetched_at=t(11), settle=timedelta(hours=2))
>>> [(i.start.hour, i.end.hour, i.final) for i in m.intervals("7")]
[(0, 9, True), (9, 10, False)]
>>> [(a.hour, b.hour) for a, b in subtract((t(0), t(12)), m.covered("7", final_only=True))]
[(9, 12)]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from wsframes._atomic import atomic_write_bytes
from wsframes.archive._publish import published
from wsframes.errors import ArchiveError

__all__ = [
    "MANIFEST_NAME",
    "FileSum",
    "Interval",
    "Manifest",
    "Span",
    "coalesce",
    "intersect",
    "subtract",
]

#: File name of the manifest at the archive root; the leading underscore hides it from
#: Hive-style dataset readers (pyarrow, Spark), and it is not ``*.parquet`` for glob readers.
MANIFEST_NAME = "_wsframes_manifest.json"
_FORMAT = "wsframes-archive"
_VERSION = 2
_READABLE = (1, 2)

#: A half-open time span ``[start, end)`` in UTC.
Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Interval:
    """One covered, half-open stretch ``[start, end)`` of one plan's activity."""

    start: datetime
    end: datetime
    fetched_at: datetime
    final: bool

    def to_json(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "fetched_at": self.fetched_at.isoformat(),
            "final": self.final,
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Interval:
        return cls(
            start=datetime.fromisoformat(str(raw["start"])),
            end=datetime.fromisoformat(str(raw["end"])),
            fetched_at=datetime.fromisoformat(str(raw["fetched_at"])),
            final=bool(raw["final"]),
        )


@dataclass(frozen=True, slots=True)
class FileSum:
    """What a day file's exact bytes must hash to; ``pending`` is the sum of a replacement being
    renamed into place (``""`` when the file is being deleted), accepted as well."""

    sha256: str | None
    size: int | None
    pending: tuple[str, int] | None = None

    def accepts(self, size: int | None, digest: str | None) -> bool:
        """True when a file of *size* and *digest* (None: absent) is one the manifest wrote."""
        if (size, digest) == (self.size, self.sha256):
            return True
        if self.pending is None:
            return False
        return (digest or "", size or 0) == self.pending

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"sha256": self.sha256, "size": self.size}
        if self.pending is not None:
            out["pending"] = list(self.pending)
        return out

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> FileSum:
        pending = raw.get("pending")
        size = raw.get("size")
        return cls(
            sha256=None if raw.get("sha256") is None else str(raw["sha256"]),
            size=None if size is None else int(str(size)),
            pending=None if not isinstance(pending, list) else (str(pending[0]), int(pending[1])),
        )


def coalesce(spans: Iterable[Span]) -> list[Span]:
    """Sorted union of spans, touching spans merged."""
    out: list[Span] = []
    for a, b in sorted(s for s in spans if s[0] < s[1]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(window: Span, spans: Sequence[Span]) -> list[Span]:
    """The parts of *window* that no span covers, in time order."""
    lo, hi = window
    gaps: list[Span] = []
    cursor = lo
    for a, b in coalesce(spans):
        if b <= cursor or a >= hi:
            continue
        if a > cursor:
            gaps.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < hi:
        gaps.append((cursor, hi))
    return gaps


def intersect(window: Span, spans: Sequence[Span]) -> list[Span]:
    """The parts of *window* that the spans cover, in time order."""
    lo, hi = window
    return [(max(a, lo), min(b, hi)) for a, b in coalesce(spans) if a < hi and b > lo]


@dataclass
class Manifest:
    """Covered intervals per plan key (``"default"`` or the plan id as text), and the checksums
    of the day files per plan and ISO day (*checksummed* is False for a version 1 manifest)."""

    plans: dict[str, list[Interval]] = field(default_factory=dict)
    files: dict[str, dict[str, FileSum]] = field(default_factory=dict)
    checksummed: bool = True

    def file_sum(self, plan: str, day: str) -> FileSum | None:
        """The recorded sum of one day file (None: no file was recorded for that day)."""
        return self.files.get(plan, {}).get(day)

    def set_sum(self, plan: str, day: str, sha256: str | None, size: int | None) -> None:
        """Record a day file's sum; ``sha256=None`` records that the day has no file."""
        days = self.files.setdefault(plan, {})
        if sha256 is None:
            days.pop(day, None)
        else:
            days[day] = FileSum(sha256, size)

    def set_pending(self, plan: str, day: str, sha256: str | None, size: int | None) -> None:
        """Accept a replacement (or, with None, the absence) of a day file about to be renamed."""
        old = self.file_sum(plan, day) or FileSum(None, None)
        pending = (sha256 or "", size or 0)
        self.files.setdefault(plan, {})[day] = FileSum(old.sha256, old.size, pending)

    def intervals(self, plan: str) -> list[Interval]:
        """The plan's intervals in time order (empty when the plan was never synced)."""
        return list(self.plans.get(plan, []))

    def covered(self, plan: str, *, final_only: bool = False) -> list[Span]:
        """Coalesced covered spans of a plan; with *final_only*, only settled ones."""
        return coalesce((i.start, i.end) for i in self.plans.get(plan, []) if i.final or not final_only)

    def record(
        self, plan: str, start: datetime, end: datetime, *, fetched_at: datetime, settle: timedelta
    ) -> None:
        """Mark ``[start, end)`` as freshly fetched, replacing whatever covered it before."""
        kept: list[Interval] = []
        for old in self.plans.get(plan, []):
            for a, b in subtract((old.start, old.end), [(start, end)]):
                kept.append(Interval(a, b, old.fetched_at, old.final))
        boundary = fetched_at - settle
        if start < boundary:
            kept.append(Interval(start, min(end, boundary), fetched_at, True))
        if end > boundary:
            kept.append(Interval(max(start, boundary), end, fetched_at, False))
        self.plans[plan] = _merge_same_fetch(sorted(kept, key=lambda i: i.start))

    # -- persistence ---------------------------------------------------------------------------
    @classmethod
    def load(cls, root: Path) -> Manifest:
        """Read the manifest of the archive at *root*; an absent file is an empty manifest."""
        path = root / MANIFEST_NAME
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise ArchiveError(f"the archive manifest {path} is unreadable ({exc}).") from None
        if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
            raise ArchiveError(f"{path} is not a wsframes archive manifest.")
        if raw.get("version") not in _READABLE:
            raise ArchiveError(
                f"{path} has manifest version {raw.get('version')!r}; this wsframes reads version "
                f"{_VERSION}. Upgrade wsframes."
            )
        try:
            plans = {str(k): [Interval.from_json(i) for i in v] for k, v in raw["plans"].items()}
            files = {str(k): {str(d): FileSum.from_json(f) for d, f in v.items()}
                     for k, v in raw.get("files", {}).items()}
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ArchiveError(f"the archive manifest {path} is malformed ({exc}).") from None
        return cls(plans, files, checksummed=raw.get("version") == _VERSION)

    def save(self, root: Path) -> None:
        """Replace the manifest atomically (temporary file, fsync, rename, fsync directory).

        A version 1 manifest (``checksummed`` False) stays version 1 until the sync that upgrades
        it has recorded every sum, so a reader never takes a missing sum for damage.
        """
        body = {
            "format": _FORMAT,
            "version": _VERSION if self.checksummed else 1,
            "plans": {k: [i.to_json() for i in v] for k, v in sorted(self.plans.items())},
            "files": {k: {d: f.to_json() for d, f in sorted(v.items())}
                      for k, v in sorted(self.files.items())},
        }
        atomic_write_bytes(root / MANIFEST_NAME, json.dumps(body, indent=1).encode("utf-8"))
        published(root / MANIFEST_NAME)  # an S3 archive: a conditional PUT (see archive.remote)


def _merge_same_fetch(intervals: list[Interval]) -> list[Interval]:
    # Neighbours from one sync (same fetch time and finality) become one entry, so the manifest
    # grows by at most two entries per sync however many day chunks it fetched.
    out: list[Interval] = []
    for cur in intervals:
        prev = out[-1] if out else None
        if prev and prev.end == cur.start and (prev.fetched_at, prev.final) == (cur.fetched_at, cur.final):
            out[-1] = Interval(prev.start, cur.end, prev.fetched_at, prev.final)
        else:
            out.append(cur)
    return out

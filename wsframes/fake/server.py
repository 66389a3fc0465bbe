"""The fake Webshare API as a context manager: a threaded HTTP/1.1 server on loopback.

>>> with FakeWebshare("test-key", records=300) as fake:
...     fake.base_url.startswith("http://127.0.0.1:"), fake.truth().height
(True, 300)
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import secrets
import socket
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any

import polars as pl

from wsframes.api.proxies import PROXY_LIST_GROUP, PROXY_LIST_REQUESTS_PER_MINUTE
from wsframes.errors import ConfigurationError
from wsframes.fake.faults import Faults, SlidingWindowLimit
from wsframes.fake.generate import generate_activity
from wsframes.fake.store import PlanStore
from wsframes.timeutil import check_tz

__all__ = ["FakeWebshare", "LoggedRequest", "check_loopback"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request the fake served (the download token is never kept)."""

    method: str
    path: str
    params: dict[str, str]
    status: int
    fault: str | None = None
    subuser: str | None = None  # the X-Subuser header as sent


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeWebshare

    def __init__(self, address: tuple[str, int], handler: Any, fake: FakeWebshare) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        if ":" in address[0]:  # ::1
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up mid-response is routine (a test done early, a fault): log it at DEBUG.

        socketserver's default prints a full traceback to stderr for every one of them, which
        buries real failures in test output. Anything else still gets the default treatment.
        """
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):  # BrokenPipe, ConnectionReset, ConnectionAborted
            logger.debug("client %s disconnected: %s", client_address, type(exc).__name__)
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down idle keep-alive connections so their threads end with the server."""
        with self.conn_lock:
            for sock in list(self.connections):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class FakeWebshare:
    """A faithful local Webshare API serving synthetic (or given) activity.

    Parameters
    ----------
    api_key : str
        The only key accepted in ``Authorization: Token <key>``.
    plans : mapping of int to polars.DataFrame, optional
        Activity per plan (:data:`wsframes.schema.ACTIVITY_SCHEMA`); the first is the account
        default. Default: two plans (1: datacenter, 2: residential) of *records* rows each over
        the 7 days before *now*, generated from *seed*.
    page_cap : int
        Largest page served; a bigger ``page_size`` is silently capped.
    faults : Faults, optional
        Misbehaviour on activity-list requests.
    tz : str
        The account's IANA time zone: offsets of rendered timestamps (``"Asia/Kolkata"`` gives
        ``+05:30``).
    seed : int
        Seed of the default plans.
    now : datetime, optional
        What the server takes as now (the 90-day floor, stats projection); default: the clock.
    records : int
        Rows per default plan.
    host, port : str, int
        Where to listen: a loopback address only (``127.0.0.1``, ``::1``, ``localhost``; see
        :func:`check_loopback`); port 0 lets the OS choose.
    latency : float
        Seconds every API response is delayed (the real API answers a page in ~0.25 s).
    rate_limit : int, optional
        At most this many requests in any sliding 60 s window (the documented general limit is
        240); more get 429 with ``Retry-After``. ``None``: no limit. ``throttled`` counts them.
        The proxy-list group has its own gate of 60 (``group_limits["proxy_list"]``), always on.
    subusers : sequence of int
        Sub-user ids whose ``X-Subuser`` header is honoured: each sees a deterministic, disjoint
        share of every plan's activity (its stats and lists follow). Any other ``X-Subuser``
        gets 403 ``Sub-user API not enabled`` (as an account that has not accepted the terms).
    subuser_activity : bool
        ``False`` makes the activity endpoints ignore ``X-Subuser`` (what the live API may do:
        its docs do not list activity among the endpoints honouring it); stats still honour it.
    """

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        plans: Mapping[int, pl.DataFrame] | None = None,
        page_cap: int = 1000,
        faults: Faults | None = None,
        tz: str = "America/Los_Angeles",
        seed: int = 0,
        now: datetime | None = None,
        records: int = 5_000,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        rate_limit: int | None = None,
        subusers: Sequence[int] = (),
        subuser_activity: bool = True,
    ) -> None:
        if not api_key:
            raise ConfigurationError("FakeWebshare needs a non-empty api_key.")
        if page_cap < 1:
            raise ConfigurationError(f"page_cap must be >= 1, not {page_cap}.")
        if now is not None and now.tzinfo is None:
            raise ConfigurationError("now must be an aware datetime (e.g. with tzinfo=UTC).")
        if isinstance(latency, bool) or not isinstance(latency, int | float) or not 0 <= latency <= 60:
            raise ConfigurationError(f"latency must be 0..60 seconds, not {latency!r}.")
        self.api_key = api_key
        self.page_cap = page_cap
        self.latency = float(latency)
        self.limit = SlidingWindowLimit(rate_limit) if rate_limit is not None else None
        self.group_limits = {PROXY_LIST_GROUP: SlidingWindowLimit(PROXY_LIST_REQUESTS_PER_MINUTE)}
        if any(isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in subusers):
            raise ConfigurationError(f"subusers must be positive ints, not {list(subusers)!r}.")
        self.subusers = tuple(subusers)
        self.subuser_activity = bool(subuser_activity)
        self._views: dict[tuple[int, int], tuple[int, PlanStore]] = {}
        self.faults = faults
        self.tz = tz
        check_loopback(host)
        self._now = now.astimezone(UTC) if now is not None else None
        check_tz(tz)
        if plans is None:
            end = self.now()
            plans = {
                pid: generate_activity(records, start=end - timedelta(days=7), end=end,
                                       seed=seed, plan_id=pid)
                for pid in (1, 2)
            }
        if not plans:
            raise ConfigurationError("plans must hold at least one plan.")
        self.stores = {int(pid): PlanStore(df, tz) for pid, df in plans.items()}
        self.default_plan = next(iter(self.stores))
        self.download_token = _new_token(1, self.now())
        self.requests: list[LoggedRequest] = []
        self.lock = threading.Lock()
        self._activity_requests = 0
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeWebshare:
        """Start serving in a background thread (idempotent)."""
        if self._server is None:
            from wsframes.fake.handler import Handler

            self._server = _Server(self._address, Handler, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="wsframes-fake",
                daemon=True,
            )
            self._thread.start()
            logger.info("fake Webshare API listening on %s", self.base_url)
        return self

    def close(self) -> None:
        """Stop serving and close every connection."""
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeWebshare:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:  # never shows the key
        state = self.base_url if self._server is not None else "stopped"
        return f"FakeWebshare({state}, plans={list(self.stores)}, page_cap={self.page_cap})"

    # -- what tests look at ----------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, once started."""
        if self._server is None:
            raise RuntimeError("FakeWebshare is not running: use it as a context manager.")
        host, port = self._server.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def now(self) -> datetime:
        """The server's notion of now (fixed if given at construction)."""
        return self._now if self._now is not None else datetime.now(UTC)

    def truth(self, plan_id: int | None = None) -> pl.DataFrame:
        """Every record the server holds for a plan (default plan if None), ascending by time."""
        return self._store(plan_id).truth

    def add_records(self, plan_id: int | None, df: pl.DataFrame) -> None:
        """Add late-arriving records to a plan (visible to the next request)."""
        store = self._store(plan_id)
        with self.lock:
            store.add(df)

    @property
    def throttled(self) -> int:
        """Requests refused with 429 by the rate limit (not by scheduled faults)."""
        return self.limit.refused if self.limit is not None else 0

    @property
    def request_count(self) -> int:
        """Activity-list requests received so far (faulted ones included)."""
        return self._activity_requests

    def next_activity_request(self) -> int:
        """Count one activity-list request; returns its 1-based number (for faults)."""
        with self.lock:
            self._activity_requests += 1
            return self._activity_requests

    def log(self, entry: LoggedRequest) -> None:
        with self.lock:
            self.requests.append(entry)

    def log_request(self, method: str, path: str, params: dict[str, str], status: int,
                    fault: str | None = None, subuser: str | None = None) -> None:
        """Keep one served request (the handler calls this: it never imports this module)."""
        self.log(LoggedRequest(method, path, params, status, fault, subuser))

    def reset_download_token(self) -> dict[str, object]:
        """Rotate the download token (the old key stops working)."""
        with self.lock:
            self.download_token = _new_token(int(str(self.download_token["id"])) + 1, self.now())
            return dict(self.download_token)

    def view(self, plan_id: int, subuser: int | None, *, activity: bool = False) -> PlanStore:
        """What a request sees: the plan, or a sub-user's share of it (rows ``i % (n+1) == k``).

        The share is recomputed when records were added since it was last built.
        """
        store = self.stores[plan_id]
        if subuser is None or (activity and not self.subuser_activity):
            return store
        k, n = self.subusers.index(subuser) + 1, len(self.subusers) + 1
        with self.lock:
            truth = store.truth
            cached = self._views.get((plan_id, subuser))
            if cached is None or cached[0] != truth.height:
                share = truth.filter(pl.int_range(pl.len()) % n == k)
                cached = (truth.height, PlanStore(share, self.tz))
                self._views[(plan_id, subuser)] = cached
        return cached[1]

    def _store(self, plan_id: int | None) -> PlanStore:
        pid = self.default_plan if plan_id is None else plan_id
        try:
            return self.stores[pid]
        except KeyError:
            raise ConfigurationError(
                f"no plan {pid} on this fake server; plans: {list(self.stores)}."
            ) from None


def _new_token(token_id: int, now: datetime) -> dict[str, object]:
    expire = now + timedelta(days=1)
    return {
        "id": token_id,
        "key": secrets.token_hex(20),
        "scope": "activity",
        "expire_at": expire.isoformat().replace("+00:00", "Z"),
    }


def check_loopback(host: str) -> str:
    """Return *host* if it is a loopback address or name, else raise ConfigurationError.

    The fake is a test and demo server: plain http, a key chosen on the command line, no rate
    limit. Listening beyond loopback would expose it, and its URL would be useless anyway, since
    wsframes accepts plain ``http://`` only towards loopback.
    """
    if host.lower() in ("localhost", "localhost.localdomain"):
        return host
    try:
        if ipaddress.ip_address(host).is_loopback:
            return host
    except ValueError:
        pass
    raise ConfigurationError(
        f"host={host!r}: the fake Webshare API listens on loopback only (127.0.0.1, ::1 or "
        "localhost). It is a test and demo server speaking plain http, and wsframes refuses a plain "
        "http base URL that is not loopback. To reach it from another machine, forward a port "
        "(e.g. ssh -L 8765:127.0.0.1:8765 host)."
    )


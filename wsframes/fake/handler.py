"""HTTP handling of the fake Webshare API: routing, auth, envelopes, faults.

Paths must end with ``/`` (as every Webshare path does); any other path answers 404
``{"detail": "Not found."}``, checked before authentication as Django routes before DRF
authenticates. Every response carries an ``X-Request-ID``.
"""

from __future__ import annotations

import json
import math
import secrets
import socket
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from wsframes.fake import params as qp

if TYPE_CHECKING:
    from wsframes.fake.faults import SlidingWindowLimit
    from wsframes.fake.server import FakeWebshare, _Server
    from wsframes.fake.store import PlanStore

__all__ = ["Handler"]

_JSON = "application/json"
_BAD_GATEWAY = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
    b"Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 429: "Too Many Requests", 502: "Bad Gateway",
            503: "Service Unavailable"}

ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/v2/proxy/activity/"): "activity",
    ("GET", "/api/v2/proxy/activity/download/"): "download",
    ("GET", "/api/v2/download_token/activity/"): "token",
    ("POST", "/api/v2/download_token/activity/reset/"): "token_reset",
    ("GET", "/api/v2/stats/"): "stats",
    ("GET", "/api/v2/stats/aggregate/"): "aggregate",
    ("GET", "/api/v2/proxy/list/"): "proxy_list",  # the proxy pool: wsframes.fake.proxies
    ("GET", "/api/v2/proxy/list/replaced/"): "replaced",
}
_PATHS = {path for _, path in ROUTES}


class Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, one ``write`` per response."""

    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 60  # an idle keep-alive connection is dropped after a minute

    def setup(self) -> None:
        super().setup()
        # One write per response already; NODELAY avoids Nagle/delayed-ACK stalls between them.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.conn_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log (it would print download tokens)."""

    @property
    def fake(self) -> FakeWebshare:
        return self.server.fake

    # -- dispatch ----------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._drain_body()
        self._dispatch("POST")

    def _drain_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self.params = dict(parse_qsl(url.query, keep_blank_values=True))
        self.url_path = url.path
        self.fault: str | None = None
        name = ROUTES.get((method, url.path))
        if name is None:
            if url.path in _PATHS:
                self._json(405, {"detail": f'Method "{method}" not allowed.'})
            else:
                self._json(404, {"detail": "Not found."})
            return
        if name != "download" and not self._authorised():
            return
        if not self._subuser_allowed():
            return
        if not self._within_rate_limit():
            return
        if self.fake.latency:
            time.sleep(self.fake.latency)  # the API's think time: every page costs a round trip
        try:
            getattr(self, f"_{name}")()
        except qp.FieldError as exc:
            self._json(400, exc.body)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization")
        if not header:
            self._json(401, {"detail": "Authentication credentials were not provided."})
            return False
        scheme, _, key = header.partition(" ")
        valid = secrets.compare_digest(key.strip().encode(), self.fake.api_key.encode())
        if scheme.lower() != "token" or not valid:
            self._json(401, {"detail": "Invalid token."})
            return False
        return True

    def _subuser_allowed(self) -> bool:
        """``X-Subuser``: a known sub-user's view, else 403 (the sub-user API is opt-in)."""
        text = self.headers.get("X-Subuser")
        self.subuser: int | None = None
        if text is None:
            return True
        if text.strip().isdigit() and int(text) in self.fake.subusers:
            self.subuser = int(text)
            return True
        self._json(403, {"detail": "Sub-user API not enabled for this account, or no such sub-user."})
        return False

    def store(self, *, activity: bool = False) -> PlanStore:
        """The plan (``plan_id``) as this request sees it: the account's or a sub-user's share."""
        pid = qp.plan_id(self.params, self.fake.stores, self.fake.default_plan)
        return self.fake.view(pid, self.subuser, activity=activity)

    def _within_rate_limit(self) -> bool:
        """The documented limit as a sliding window; over it, 429 with ``Retry-After``."""
        return self.admitted(self.fake.limit)

    def admitted(self, limit: SlidingWindowLimit | None) -> bool:
        """Whether *limit* (a sliding window; None: no limit) admits this request; else answer 429."""
        wait = limit.admit(time.monotonic()) if limit is not None else None
        if wait is None:
            return True
        seconds = max(1, math.ceil(wait))
        self._json(429, {"detail": f"Request was throttled. Expected available in {seconds} seconds."},
                   extra={"Retry-After": str(seconds)})
        return False

    # -- endpoints -------------------------------------------------------------------------
    def _activity(self) -> None:
        number = self.fake.next_activity_request()
        faults = self.fake.faults
        self.fault = faults.kind_for(number) if faults is not None else None
        if self.fault in ("429", "502", "503"):
            self._fail(self.fault)
            return
        if self.fault == "slow" and faults is not None:
            time.sleep(faults.slow_seconds)
        store = self.store(activity=True)
        query = qp.parse_activity_query(self.params, self.fake.now())
        size = qp.page_size(self.params, self.fake.page_cap)
        with self.fake.lock:
            page = store.page(query, size)
        nxt = "null"
        if page.has_next and page.last_timestamp is not None:
            nxt = json.dumps(self._next_url(page.last_timestamp))
        body = b'{"count":%d,"next":%s,"previous":null,"results":[%s]}' % (
            page.count, nxt.encode(), page.body)
        self._send(200, body, _JSON)

    def _next_url(self, cursor: str) -> str:
        """The full URL of the next page: every filter kept, the cursor replaced."""
        kept = [(k, v) for k, v in self.params.items() if k != "starting_after"]
        query = urlencode([*kept, ("starting_after", cursor)])
        host = self.headers.get("Host") or self.fake.base_url.removeprefix("http://")
        return f"http://{host}{self.url_path}?{query}"

    def _fail(self, kind: str) -> None:
        if kind == "429":
            seconds = self.fake.faults.retry_after if self.fake.faults else 0
            self._json(429, {"detail": f"Request was throttled. Expected available in "
                                       f"{seconds} seconds."},
                       extra={"Retry-After": str(seconds)})
        elif kind == "502":
            self._send(502, _BAD_GATEWAY, "text/html")
        else:
            self._json(503, {"detail": "Service temporarily unavailable, try again later."})

    def _download(self) -> None:
        from wsframes.fake.views import download_csv

        download_csv(self)

    def _token(self) -> None:
        self._json(200, dict(self.fake.download_token))

    def _token_reset(self) -> None:
        self._json(200, self.fake.reset_download_token())

    def _stats(self) -> None:
        from wsframes.fake.views import hourly_stats

        hourly_stats(self)

    def _aggregate(self) -> None:
        from wsframes.fake.views import aggregate_stats

        aggregate_stats(self)

    def _proxy_list(self) -> None:
        from wsframes.fake.proxies import serve_proxy_list

        serve_proxy_list(self)

    def _replaced(self) -> None:
        from wsframes.fake.proxies import serve_replaced

        serve_replaced(self)

    # -- writing ---------------------------------------------------------------------------
    def _json(self, status: int, payload: object, extra: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), _JSON, extra)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        """Write status, headers and body in one ``write`` (or cut it short on a fault)."""
        headers = {
            "Content-Type": content_type,
            "Content-Length": str(len(body)),
            "X-Request-ID": uuid.uuid4().hex,
            "Allow": "GET, HEAD, OPTIONS",
            **(extra or {}),
        }
        if status == 401:
            headers["WWW-Authenticate"] = "Token"
        head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        cut = self.fault == "truncate" and status == 200
        payload = head.encode("latin-1") + b"\r\n" + (body[: len(body) // 2] if cut else body)
        self.fake.log_request(self.command, self.url_path,
                              {k: v for k, v in self.params.items() if k != "download_token"},
                              status, self.fault, self.headers.get("X-Subuser"))
        self.wfile.write(payload)
        if cut:  # the client sees a short body, then the connection closes
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)

"""HTTP plumbing for the Webshare API: session, auth, pacing, retries and error mapping.

:class:`HttpClient` owns one urllib3 connection pool (keep-alive across pages) and sends every
request through one loop that

* paces requests client-side (token bucket at ``requests_per_minute``) so long pulls don't trip
  429 storms,
* retries, with exponential backoff and jitter and a bounded number of attempts, on 429 (honouring
  ``Retry-After``, capped), 5xx, connection errors, timeouts, bodies cut short and bodies the
  caller's decoder rejects (invalid JSON),
* maps the final failure onto :mod:`wsframes.errors`, quoting ``X-Request-ID``.

Secrets: the API key travels only in the ``Authorization`` header and never enters a log line, an
exception message or a repr. Download tokens travel in the query string, so every URL that is
logged or put into a message goes through :func:`~wsframes.api.config.redact_url` first.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

import certifi
import requests.utils
import urllib3

from wsframes import __version__
from wsframes.api.config import guard_third_party_logs, redact_url, resolve_api_key, resolve_base_url
from wsframes.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)

__all__ = ["HttpClient", "Pacer"]

log = logging.getLogger("wsframes.api")

T = TypeVar("T")
Params = Mapping[str, str | int]


class Pacer:
    """A token bucket: at most *per_minute* requests a minute, bursts of up to *burst*.

    ``per_minute=None`` disables pacing. Thread-safe; sleeps in :meth:`wait`.
    """

    def __init__(self, per_minute: float | None, *, burst: int = 10) -> None:
        if per_minute is not None and (not isinstance(per_minute, int | float) or per_minute <= 0):
            raise ConfigurationError(
                f"requests_per_minute must be a positive number or None (no pacing), got {per_minute!r}."
            )
        self.per_minute = per_minute
        self._capacity = float(max(1, min(burst, int(per_minute or 1))))
        self._tokens = self._capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until a request may be sent, then take one token."""
        if self.per_minute is None:
            return
        rate = self.per_minute / 60.0
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * rate)
            self._stamp = now
            self._tokens -= 1.0
            delay = -self._tokens / rate if self._tokens < 0 else 0.0
        if delay > 0:
            time.sleep(delay)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _api_messages(content: bytes) -> list[str]:
    """The API's own error words, from either DRF shape (strings or {message, code} objects)."""
    try:
        body = json.loads(content)
    except ValueError:
        return []
    out: list[str] = []

    def walk(value: Any, field: str | None) -> None:
        if isinstance(value, str):
            named = field and field not in ("detail", "non_field_errors")
            out.append(f"{field}: {value}" if named else value)
        elif isinstance(value, list):
            for item in value:
                walk(item, field)
        elif isinstance(value, dict):
            if "message" in value or "detail" in value:
                text = str(value.get("message", value.get("detail")))
                code = value.get("code")
                walk(f"{text} ({code})" if code else text, field)
            else:
                for key, item in value.items():
                    if key != "code":
                        walk(item, key)

    walk(body, None)
    if isinstance(body, dict) and isinstance(body.get("code"), str) and out:
        out[0] = f"{out[0]} ({body['code']})"
    return out


_STATUS_ERRORS: dict[int, tuple[type[APIError], str]] = {
    400: (BadRequestError, "The Webshare API rejected the request (400)"),
    401: (
        AuthenticationError,
        "The Webshare API refused the API key (401): check WEBSHARE_API_KEY or api_key=...",
    ),
    403: (PermissionDeniedError, "The API key or plan may not do this (403)"),
}


def _error_for(response: urllib3.BaseHTTPResponse, content: bytes, what: str, *, with_key: bool) -> APIError:
    status = response.status
    cls, text = _STATUS_ERRORS.get(status, (APIError, f"The Webshare API answered HTTP {status}"))
    if status == 401 and not with_key:  # only the CSV download authenticates without the key
        text = "The Webshare API refused the download token (401): it may have expired or been reset"
    elif status == 429:
        cls, text = RateLimitError, "Still rate limited (429) after every retry; lower requests_per_minute"
    elif status >= 500:
        cls, text = ServerError, f"The Webshare API failed with HTTP {status} after every retry"
    messages = _api_messages(content) if status < 500 else []
    detail = f": {'; '.join(messages)}" if messages else ""
    return cls(
        f"{text} for {what}{detail}",
        status_code=status,
        request_id=response.headers.get("X-Request-ID"),
        messages=messages,
    )


class HttpClient:
    """One keep-alive session to the Webshare API with pacing, retries and error mapping.

    Parameters
    ----------
    api_key, base_url : str | None
        See :func:`resolve_api_key` and :func:`resolve_base_url`.
    timeout : float
        Seconds to wait for a connection and between bytes of a response.
    max_retries : int
        Retries after the first attempt (so ``max_retries + 1`` attempts at most).
    requests_per_minute : float | None
        Client-side pacing; ``None`` turns it off.
    backoff, max_backoff, max_retry_after : float
        Base and cap of the exponential backoff, and cap on an honoured ``Retry-After``.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 5,
        requests_per_minute: float | None = 240,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
    ) -> None:
        for name, value in (("timeout", timeout), ("backoff", backoff), ("max_backoff", max_backoff),
                            ("max_retry_after", max_retry_after)):
            if not isinstance(value, int | float) or value < 0 or (name == "timeout" and value == 0):
                raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}.")
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be a non-negative int, got {max_retries!r}.")
        self.base_url = resolve_base_url(base_url)
        agent = {"User-Agent": f"wsframes/{__version__}", "Accept-Encoding": "gzip, deflate"}
        self._headers = {True: {**agent, "Authorization": f"Token {resolve_api_key(api_key)}"}, False: agent}
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.backoff, self.max_backoff, self.max_retry_after = backoff, max_backoff, max_retry_after
        self.pacer = Pacer(requests_per_minute)
        self.request_count = 0
        guard_third_party_logs()
        self._pool = _pool(self.base_url, self.timeout)

    def __repr__(self) -> str:
        return f"HttpClient(base_url={self.base_url!r}, api_key=***)"

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.clear()

    def get(
        self,
        path: str,
        params: Params | None = None,
        *,
        decode: Callable[[bytes], T],
        auth: bool = True,
    ) -> T:
        """GET ``base_url + path`` and return ``decode(body)``, retrying transient failures.

        *decode* runs inside the retry loop: a ``ValueError`` from it means the body was invalid
        (cut short, not JSON) and the request is retried.
        """
        url = f"{self.base_url}{path}"
        if params:
            url = f"{url}?{urlencode(list(params.items()))}"
        failure: _Failure | None = None
        for attempt in range(self.max_retries + 1):
            if failure is not None:
                delay = self._delay(attempt, failure.retry_after)
                log.info("retrying %s in %.2fs after: %s", redact_url(url), delay, failure.error)
                time.sleep(delay)
            self.pacer.wait()
            self.request_count += 1
            outcome = self._attempt(url, auth, decode)
            if not isinstance(outcome, _Failure):
                return outcome
            failure = outcome
            if not outcome.retryable:
                break
        assert failure is not None
        raise failure.error from None

    def _attempt(self, url: str, auth: bool, decode: Callable[[bytes], T]) -> T | _Failure:
        """One request. The URL is redacted only when it is shown (a log line, an error): that
        costs more CPU than the rest of our own per-request work."""
        began = time.perf_counter()
        try:
            # The whole body in one read; a cut one raises here (urllib3 enforces Content-Length).
            response = self._pool.request("GET", url, headers=self._headers[auth], redirect=False)
            body = response.data
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # str(exc) may quote the URL; only the class name and the redacted URL are kept.
            return _Failure(TransportError(f"{type(exc).__name__} while fetching {redact_url(url)}"), True)
        request_id = response.headers.get("X-Request-ID")
        if log.isEnabledFor(logging.DEBUG):
            log.debug("GET %s -> %s in %.0f ms (%d bytes, X-Request-ID %s)", redact_url(url),
                      response.status, (time.perf_counter() - began) * 1e3, len(body), request_id)
        if response.status >= 400:
            error = _error_for(response, body, redact_url(url), with_key=auth)
            retryable = response.status == 429 or response.status >= 500
            return _Failure(error, retryable, _retry_after(response.headers.get("Retry-After")))
        try:
            return decode(body)
        except ValueError as exc:
            return _Failure(TransportError(f"Invalid response body from {redact_url(url)} ({exc}; "
                                           f"X-Request-ID: {request_id})"), True)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with equal jitter; a server's Retry-After wins when it says more."""
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay


def _pool(base_url: str, timeout: float) -> urllib3.PoolManager:
    """The keep-alive connection pool for *base_url*, its environment read once.

    urllib3 directly rather than a ``requests.Session``: requests re-prepares, re-parses and
    re-quotes every URL and merges settings and cookies per request, about a quarter of the
    fetching thread's CPU on a 1,000-record page (41 -> 31 ms for the benchmark's 51 pages).
    What requests would take from the environment is resolved here the same way: proxies
    (``HTTPS_PROXY``/``NO_PROXY``...), and for ``https://`` a CA bundle from
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, else certifi's, with certificates verified.
    Retries are ours (see :meth:`HttpClient.get`), and redirects are not followed (the API
    has none, and following one could carry the key elsewhere).
    """
    options: dict[str, Any] = {"retries": False, "timeout": urllib3.Timeout(connect=timeout, read=timeout)}
    if base_url.startswith("https://"):
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
        options["cert_reqs"] = "CERT_REQUIRED"
        options["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
    proxy = requests.utils.select_proxy(base_url, requests.utils.get_environ_proxies(base_url))
    if not proxy:
        return urllib3.PoolManager(**options)
    if proxy.lower().startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager  # needs PySocks, as with requests

        return SOCKSProxyManager(proxy, **options)
    return urllib3.ProxyManager(proxy, **options)


class _Failure:
    """One failed attempt: the error to raise if it is the last, whether to retry, and when."""

    __slots__ = ("error", "retry_after", "retryable")

    def __init__(self, error: Exception, retryable: bool, retry_after: float | None = None) -> None:
        self.error = error
        self.retryable = retryable
        self.retry_after = retry_after

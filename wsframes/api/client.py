"""HTTP plumbing for the Webshare API: session, auth, rate limits, retries and error mapping.

:class:`HttpClient` owns one ``requests.Session`` whose connection pool is sized to the client's
concurrency (keep-alive across pages, shared by every thread of a client) and sends every request
through one loop that

* waits for a slot in the endpoint group's sliding 60 s window (:mod:`wsframes.api.limiter`), so
  a load never exceeds the documented limit; after a 429 every thread waits out ``Retry-After``
  (60 s when absent, as the docs say),
* retries, with exponential backoff and jitter and a bounded number of attempts, on 429, 5xx,
  timeouts, dropped connections, bodies cut short and bodies the caller's decoder rejects,
* gives up at once on a refused connection or an unknown host (nothing listens there: retrying
  for seconds only hides a wrong ``WEBSHARE_BASE_URL``), naming the host,
* maps the final failure onto :mod:`wsframes.errors`, quoting ``X-Request-ID``.

Secrets: the API key travels only in the ``Authorization`` header and never enters a log line, an
exception message or a repr. Download tokens travel in the query string, so every URL that is
logged or put into a message goes through :func:`~wsframes.api.config.redact_url` first.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import requests
import requests.adapters

from wsframes._config import Config, resolve_base_url
from wsframes._version import __version__
from wsframes.api.config import guard_third_party_logs, redact_url, resolve_api_key
from wsframes.api.limiter import GENERAL, RateLimits
from wsframes.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)

__all__ = ["HttpClient"]

log = logging.getLogger("wsframes.api")

T = TypeVar("T")
Params = Mapping[str, str | int]
#: Seconds to wait after a 429 without ``Retry-After`` (the API reference says wait a minute).
DEFAULT_RETRY_AFTER = 60.0


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


def _error_for(response: requests.Response, content: bytes, what: str, *, with_key: bool) -> APIError:
    status = response.status_code
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
    """One keep-alive session to the Webshare API with rate limits, retries and error mapping.

    Parameters
    ----------
    config : Config, optional
        Key, base URL, timeouts, retries, rate limits and pool size (default ``Config()``).
    limits : RateLimits, optional
        Shared limiters (default: from *config*); tests pass ones on a fake clock.
    **settings
        Overrides of *config* fields, e.g. ``timeout=5``.

    Thread-safe: every thread of a client shares the pool, the limits and the request count.
    """

    def __init__(self, config: Config | None = None, *, limits: RateLimits | None = None,
                 **settings: Any) -> None:
        cfg = (config or Config()).replace(**settings)
        self.config = cfg
        self.base_url = resolve_base_url(cfg.base_url)
        self._host = urlsplit(self.base_url).netloc
        agent = {"User-Agent": f"wsframes/{__version__}"}
        if cfg.subuser is not None:  # a sub-user's view of every endpoint that honours it
            agent["X-Subuser"] = str(cfg.subuser)
        self._headers = {True: {**agent, "Authorization": f"Token {resolve_api_key(cfg.api_key)}"},
                         False: agent}
        self.timeout = cfg.timeout
        self.max_retries = cfg.max_retries
        self.backoff, self.max_backoff = cfg.backoff, cfg.max_backoff
        self.max_retry_after = cfg.max_retry_after
        self.limits = limits or RateLimits(cfg.requests_per_minute, cfg.rate_limits)
        self.request_count = 0
        self._count_lock = threading.Lock()
        guard_third_party_logs()
        self._session = _session(cfg.connections)

    def __repr__(self) -> str:
        return f"HttpClient(base_url={self.base_url!r}, api_key=***)"

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def get(
        self,
        path: str,
        params: Params | None = None,
        *,
        decode: Callable[[bytes], T],
        auth: bool = True,
        group: str = GENERAL,
    ) -> T:
        """GET ``base_url + path`` and return ``decode(body)``, retrying transient failures.

        *decode* runs inside the retry loop (on the calling thread): a ``ValueError`` from it
        means the body was invalid (cut short, not JSON) and the request is retried. *group*
        names the endpoint group whose rate limit the request counts against.
        """
        url = f"{self.base_url}{path}"
        if params:
            url = f"{url}?{urlencode(list(params.items()))}"
        failure: _Failure | None = None
        for attempt in range(self.max_retries + 1):
            if failure is not None:
                delay = self._delay(attempt, failure.retry_after)
                if failure.retry_after is not None:  # a 429: every thread of the client waits
                    self.limits.pause(group, delay)
                log.info("retrying %s in %.2fs after: %s", redact_url(url), delay, failure.error)
                time.sleep(delay)
            self.limits.acquire(group)
            with self._count_lock:
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
        """One request. The URL is redacted only when it is shown (a log line, an error)."""
        began = time.perf_counter()
        try:
            response = self._session.get(url, headers=self._headers[auth], allow_redirects=False,
                                         timeout=(self.timeout, self.timeout))
            body = response.content  # the whole body; a cut one raises (Content-Length enforced)
        except requests.RequestException as exc:
            return self._transport_failure(exc, url)
        request_id = response.headers.get("X-Request-ID")
        if log.isEnabledFor(logging.DEBUG):
            log.debug("GET %s -> %s in %.0f ms (%d bytes, X-Request-ID %s)", redact_url(url),
                      response.status_code, (time.perf_counter() - began) * 1e3, len(body), request_id)
        if response.status_code >= 400:
            error = _error_for(response, body, redact_url(url), with_key=auth)
            if response.status_code == 429:
                wait = _retry_after(response.headers.get("Retry-After"))
                return _Failure(error, True, DEFAULT_RETRY_AFTER if wait is None else wait)
            return _Failure(error, response.status_code >= 500)
        try:
            return decode(body)
        except ValueError as exc:
            return _Failure(TransportError(f"Invalid response body from {redact_url(url)} ({exc}; "
                                           f"X-Request-ID: {request_id})"), True)

    def _transport_failure(self, exc: requests.RequestException, url: str) -> _Failure:
        """A network failure in the user's terms: which host, what to check, whether to retry.

        ``str(exc)`` may quote the URL (and a download token): only the redacted URL is shown.
        A refused connection or an unknown host is final at once: retrying only delays the
        message that ``WEBSHARE_BASE_URL`` or the network is wrong.
        """
        hint = f"check WEBSHARE_BASE_URL / base_url= (now {self.base_url}) and the network"
        refused = _connect_problem(exc)
        if refused is not None:
            return _Failure(TransportError(f"Cannot connect to {self._host}: {refused}; {hint}."), False)
        what = f"{'timed out' if isinstance(exc, requests.Timeout) else 'failed'} ({type(exc).__name__})"
        return _Failure(TransportError(f"A request to {self._host} {what} while fetching "
                                       f"{redact_url(url)}; {hint}."), True)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with equal jitter; a server's Retry-After wins when it says more."""
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return float(delay)


def _session(connections: int) -> requests.Session:
    """A session whose pool keeps one idle connection per worker thread.

    Our retries replace urllib3's (``max_retries=0``); ``trust_env`` (the default) takes proxies
    and CA bundles from the environment as every ``requests`` user expects.
    """
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=connections, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _connect_problem(exc: BaseException) -> str | None:
    """``"connection refused"``/``"unknown host"`` when *exc* failed before any connection existed.

    requests wraps urllib3's ``NewConnectionError`` (socket refused, DNS failure) in its own
    ``ConnectionError``; a connect *timeout* is not in this class (it may be a slow network).
    """
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.Timeout):
        return None
    import urllib3.exceptions as u3

    seen: BaseException | None = exc
    for _ in range(6):  # requests error -> MaxRetryError -> reason, a short chain
        if seen is None:
            break
        if isinstance(seen, u3.NameResolutionError):
            return "the host name does not resolve"
        if isinstance(seen, u3.NewConnectionError):
            return "connection refused" if "refused" in str(seen).lower() else "no connection could be made"
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = getattr(seen, "reason", None) or inner
    return None


class _Failure:
    """One failed attempt: the error to raise if it is the last, whether to retry, and when."""

    __slots__ = ("error", "retry_after", "retryable")

    def __init__(self, error: Exception, retryable: bool, retry_after: float | None = None) -> None:
        self.error = error
        self.retryable = retryable
        self.retry_after = retry_after

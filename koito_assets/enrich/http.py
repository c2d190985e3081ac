"""Shared HTTP plumbing for every external service: session, rate limiter, bounded retries.

Every client of a remote service (MusicBrainz, image providers, image hosts) goes through one
:class:`HttpService`, which several worker threads may share: the rate limiter and the
``requests.Session`` connection pool are thread-safe, and nothing else in it is mutable.
Failures are reported as :class:`HttpFailure` whose ``reason`` never contains a URL, because
Last.fm and Subsonic URLs carry an API key or credentials.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from koito_assets.settings import DEFAULT_USER_AGENT_CONTACT

PROJECT_NAME = "koito-assets"


def _project_version() -> str:
    try:
        return metadata.version(PROJECT_NAME)
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0.1.0"


def user_agent(contact: str = DEFAULT_USER_AGENT_CONTACT) -> str:
    """The User-Agent every external call sends, in the form MusicBrainz requires:
    "AppName/Version ( contact )"; the contact is KOITO_USER_AGENT_CONTACT's value."""
    return f"{PROJECT_NAME}/{_project_version()} ( {contact} )"


# Statuses that mean "busy, ask again later"; any other status is the server's final answer.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HttpFailure(Exception):
    """A request that got no usable answer. ``reason`` is safe to log: it never holds a URL."""

    def __init__(
        self,
        reason: str,
        *,
        transient: bool = True,
        retry_after_s: float | None = None,
        network: str | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.retry_after_s = retry_after_s
        # "connect" (refused, DNS, reset) or "timeout" when the server was never heard from;
        # None when it answered (busy, bad status). Callers may stop asking a service that
        # cannot be reached at all instead of paying every request's retries.
        self.network = network


class MalformedResponse(ValueError):
    """A response whose body does not have the shape the service documents."""


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts and retry budget of one service; tests shrink these to stay fast."""

    timeout_s: float = 10.0  # per connect and per read, like Koito's 10 s client timeout
    max_retries: int = 3  # retries after the first attempt
    backoff_s: float = 1.0  # first back-off; doubles on each retry
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 120.0  # a longer Retry-After gives up now rather than stall a worker
    # Retries after a connection failure or timeout; None: as many as max_retries. A service
    # that is simply not there (no network, wrong URL) then costs one retry, not the full budget.
    network_retries: int | None = None
    user_agent: str | None = None  # None: the project's own contact (see user_agent())

    def backoff(self, attempt: int) -> float:
        """Capped exponential back-off with jitter, so threads that failed together spread out."""
        base = min(self.max_backoff_s, self.backoff_s * (2**attempt))
        return base * random.uniform(0.75, 1.0)


DEFAULT_POLICY = HttpPolicy()  # Koito's 10 s timeout, three retries from 1 s back-off


class RateLimiter:
    """At most ``rate_per_s`` calls per second on average, bursts up to ``burst``; thread-safe.

    A generic cell-rate algorithm: each caller reserves the next free slot under the lock and
    then sleeps outside it, so waiting threads are served in arrival order without busy loops.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be greater than 0")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.interval_s = 1.0 / rate_per_s
        self._tolerance_s = (burst - 1) * self.interval_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._theoretical_arrival = clock()

    def acquire(self) -> float:
        """Wait for this caller's slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            arrival = max(self._theoretical_arrival, now)
            wait = arrival - self._tolerance_s - now
            wait = wait if wait > 1e-9 else 0.0  # float rounding is not a reason to sleep
            self._theoretical_arrival = arrival + self.interval_s
        if wait > 0:
            self._sleep(wait)
        return wait

    def hold_off(self, seconds: float) -> None:
        """Give no slot to anyone for ``seconds``: the server said it is busy (Retry-After)."""
        with self._lock:
            earliest = self._clock() + seconds + self._tolerance_s
            self._theoretical_arrival = max(self._theoretical_arrival, earliest)


def retry_after_seconds(response: requests.Response, *, now: float | None = None) -> float | None:
    """The wait a busy server asked for: Retry-After (seconds or date), else X-RateLimit-Reset."""
    now = time.time() if now is None else now
    raw = response.headers.get("Retry-After", "").strip()
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, when.timestamp() - now)
    # MusicBrainz's own headers: the window resets at an epoch second when nothing remains.
    if response.headers.get("X-RateLimit-Remaining", "").strip() == "0":
        try:
            return max(0.0, float(response.headers["X-RateLimit-Reset"]) - now)
        except (KeyError, ValueError):
            return None
    return None


def new_session(user_agent_value: str | None = None, pool_size: int = 16) -> requests.Session:
    """A session whose connection pool fits a few worker threads without discarding connections."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent_value or user_agent()
    return session


class HttpService:
    """One remote service: base URL, shared session, its own rate limiter, timeouts and retries."""

    def __init__(
        self,
        name: str,
        base_url: str | None,
        *,
        rate_per_s: float,
        burst: int = 1,
        policy: HttpPolicy = DEFAULT_POLICY,
        user_agent_value: str | None = None,
        accept: str | None = "application/json",
        session: requests.Session | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/") if base_url else None
        self.policy = policy
        self.limiter = RateLimiter(rate_per_s, burst)
        user_agent_value = user_agent_value or policy.user_agent or user_agent()
        self.session = session or new_session(user_agent_value)
        self._headers = {"User-Agent": user_agent_value}
        if accept:
            self._headers["Accept"] = accept

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this service (an absolute ``path`` is kept as it is)."""
        if path.startswith(("http://", "https://")) or self.base_url is None:
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        allow_redirects: bool = True,
        stream: bool = False,
        retry_if: Callable[[requests.Response], bool] | None = None,
    ) -> requests.Response:
        """Send one request under the rate limit, retrying busy answers and network errors.

        Returns the first final response, whatever its status (404 is an answer, not a failure).
        Raises :class:`HttpFailure` when retries run out, or at once when the server asks for a
        wait longer than the policy allows. ``retry_if`` marks extra "busy" answers, such as
        Deezer's quota error that arrives with HTTP 200.
        """
        policy = self.policy
        all_headers = {**self._headers, **(headers or {})}
        failure = HttpFailure(f"{self.name}: no attempt made")
        network_failures = 0
        for attempt in range(policy.max_retries + 1):
            self.limiter.acquire()
            try:
                response = self.session.request(
                    method,
                    self.url(path),
                    params=params,
                    headers=all_headers,
                    allow_redirects=allow_redirects,
                    stream=stream,
                    timeout=(policy.timeout_s, policy.timeout_s),
                )
            except requests.Timeout:
                failure = HttpFailure(
                    f"{self.name}: timed out after {policy.timeout_s:g} s", network="timeout"
                )
            except requests.ConnectionError:
                failure = HttpFailure(f"{self.name}: connection failed", network="connect")
            except requests.RequestException as exc:  # bad URL, redirect loop: retrying won't help
                raise HttpFailure(f"{self.name}: {type(exc).__name__}", transient=False) from None
            else:
                if response.status_code not in RETRY_STATUSES and not (
                    retry_if and retry_if(response)
                ):
                    return response
                wait = retry_after_seconds(response)
                response.close()
                failure = HttpFailure(
                    f"{self.name}: busy (HTTP {response.status_code})", retry_after_s=wait
                )
                if wait is not None:
                    if wait > policy.max_retry_after_s:
                        raise failure
                    # Every thread sharing this service must wait, not only this one.
                    self.limiter.hold_off(wait)
                    continue
            if failure.network is not None:
                network_failures += 1
                if policy.network_retries is not None and network_failures > policy.network_retries:
                    break
            if attempt < policy.max_retries:
                time.sleep(policy.backoff(attempt))
        raise failure

    def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        retry_if: Callable[[requests.Response], bool] | None = None,
        accept_statuses: frozenset[int] = frozenset({200}),
    ) -> tuple[int, Any]:
        """GET and decode JSON; returns (status, body) for the statuses the caller can read."""
        response = self.request("GET", path, params=params, retry_if=retry_if)
        if response.status_code not in accept_statuses:
            raise HttpFailure(f"{self.name}: HTTP {response.status_code}", transient=False)
        return response.status_code, read_json(response)


def read_json(response: requests.Response) -> Any:
    """The decoded JSON body, or :class:`MalformedResponse` when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        raise MalformedResponse(f"body is not JSON ({kind})") from None


def json_or_none(response: requests.Response) -> Any:
    """The decoded JSON body, or None; for ``retry_if`` checks that must never raise."""
    try:
        return response.json()
    except ValueError:
        return None

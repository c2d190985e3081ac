"""The shared HTTP plumbing: rate limiter, Retry-After, retries, User-Agent."""

from __future__ import annotations

import re
import threading
import time

import pytest
import requests

from koito_assets.enrich.http import (
    HttpFailure,
    HttpPolicy,
    HttpService,
    RateLimiter,
    retry_after_seconds,
    user_agent,
)
from tests.fakes.image_host import FakeImageHost
from tests.fakes.server import Reply


class FakeClock:
    """A clock that only moves when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_limiter_spaces_calls_by_the_interval() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        limiter.acquire()
    assert clock.slept == [0.1, 0.1, 0.1]


def test_limiter_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5.0, burst=5, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire() for _ in range(7)]
    assert waits[:5] == [0.0] * 5
    assert waits[5:] == pytest.approx([0.2, 0.2])


def test_idle_time_refills_the_burst_but_no_more() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5.0, burst=2, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 60  # a long pause
    assert [limiter.acquire() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.2])


def test_hold_off_delays_every_caller() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, burst=3, clock=clock, sleep=clock.sleep)
    limiter.hold_off(2.0)
    assert limiter.acquire() == pytest.approx(2.0)
    assert limiter.acquire() == pytest.approx(0.1)


def test_limiter_is_shared_safely_by_threads() -> None:
    limiter = RateLimiter(50.0)
    stamps: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(5):
            limiter.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stamps.sort()
    assert len(stamps) == 20
    assert stamps[-1] - stamps[0] >= 19 * 0.02 - 0.01


def _response(headers: dict[str, str]) -> requests.Response:
    response = requests.Response()
    response.status_code = 503
    response.headers.update(headers)
    return response


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"Retry-After": "Thu, 01 Jan 1970 00:00:30 GMT"}, 20.0),
        ({"Retry-After": "soon"}, None),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "15"}, 5.0),
        ({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "15"}, None),
        ({}, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(_response(headers), now=10.0) == expected


def test_user_agent_identifies_the_project() -> None:
    assert re.fullmatch(r"koito-assets/\S+ \( \S+ \)", user_agent())
    assert user_agent("me@example.org").endswith(" ( me@example.org )")


def test_final_statuses_are_returned_and_busy_ones_retried(fake_image_host: FakeImageHost) -> None:
    policy = HttpPolicy(timeout_s=0.5, max_retries=2, backoff_s=0.01)
    service = HttpService("test", fake_image_host.url, rate_per_s=500, policy=policy)
    assert service.request("GET", "/nothing").status_code == 404
    fake_image_host.add_image("/a.png")
    fake_image_host.fail_next("/a.png", 2, 502)
    assert service.request("GET", "/a.png").status_code == 200
    assert len(fake_image_host.requests_to("/a.png")) == 3
    fake_image_host.script("/a.png", *[Reply.busy(503)] * 3)
    with pytest.raises(HttpFailure) as caught:
        service.request("GET", "/a.png")
    assert caught.value.transient and caught.value.reason == "test: busy (HTTP 503)"


def test_retry_after_holds_off_other_threads_too(fake_image_host: FakeImageHost) -> None:
    """One 429 with Retry-After pauses the whole service, not only the thread that got it."""
    fake_image_host.add_image("/a.png")
    fake_image_host.add_image("/b.png")
    service = HttpService(
        "test", fake_image_host.url, rate_per_s=500, policy=HttpPolicy(backoff_s=0.01)
    )
    fake_image_host.fail_next("/a.png", 1, 429, retry_after=1)
    first = threading.Thread(target=service.request, args=("GET", "/a.png"))
    first.start()
    time.sleep(0.2)  # the 429 has arrived and set the hold-off
    service.request("GET", "/b.png")
    first.join()
    (busy, *_rest) = fake_image_host.requests_to("/a.png")
    (other,) = fake_image_host.requests_to("/b.png")
    assert other.time - busy.time >= 0.95

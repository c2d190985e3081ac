"""Pytest fixtures: one fresh, running fake server per test, stopped and checked afterwards.

Import them in a conftest.py::

    from tests.fakes.fixtures import *  # noqa: F401,F403

Fixtures: ``fake_musicbrainz``, ``fake_image_host``, ``fake_cover_art_archive``,
``fake_deezer``, ``fake_lastfm``, ``fake_subsonic``. The provider fakes serve their image URLs
from ``fake_image_host``, so a test that uses one provider gets the image host for free.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TypeVar

import pytest

from tests.fakes.image_providers import (
    FakeCoverArtArchive,
    FakeDeezer,
    FakeImageHost,
    FakeLastFm,
    FakeSubsonic,
)
from tests.fakes.musicbrainz import FakeMusicBrainz
from tests.fakes.server import FakeServer

__all__ = [
    "fake_cover_art_archive",
    "fake_deezer",
    "fake_image_host",
    "fake_lastfm",
    "fake_musicbrainz",
    "fake_subsonic",
]

F = TypeVar("F", bound=FakeServer)


def _serve(fake: F, monkeypatch: pytest.MonkeyPatch) -> Iterator[F]:
    # A proxy from the environment would otherwise receive the requests meant for the fake.
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        monkeypatch.setenv(name, ",".join(filter(None, [current, "127.0.0.1", "localhost"])))
    with fake:
        yield fake
    fake.check_healthy()


@pytest.fixture
def fake_musicbrainz(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMusicBrainz]:
    """A running :class:`~tests.fakes.musicbrainz.FakeMusicBrainz`; its ``url`` is the base URL."""
    yield from _serve(FakeMusicBrainz(), monkeypatch)


@pytest.fixture
def fake_image_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeImageHost]:
    """A running image host (CDN) serving real PNG/JPEG bytes and the failure paths
    of docs/external-apis.md §6."""
    yield from _serve(FakeImageHost(), monkeypatch)


@pytest.fixture
def fake_cover_art_archive(
    fake_image_host: FakeImageHost, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeCoverArtArchive]:
    """A running Cover Art Archive whose redirects point at ``fake_image_host``."""
    yield from _serve(FakeCoverArtArchive(fake_image_host), monkeypatch)


@pytest.fixture
def fake_deezer(
    fake_image_host: FakeImageHost, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeDeezer]:
    """A running Deezer search API whose picture/cover URLs point at ``fake_image_host``."""
    yield from _serve(FakeDeezer(fake_image_host), monkeypatch)


@pytest.fixture
def fake_lastfm(
    fake_image_host: FakeImageHost, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeLastFm]:
    """A running Last.fm API (key ``FakeLastFm.API_KEY``) with images on ``fake_image_host``."""
    yield from _serve(FakeLastFm(fake_image_host), monkeypatch)


@pytest.fixture
def fake_subsonic(
    fake_image_host: FakeImageHost, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeSubsonic]:
    """A running Subsonic server; ``FakeSubsonic.auth_params()`` gives a valid u/t/s string."""
    yield from _serve(FakeSubsonic(fake_image_host), monkeypatch)

"""Koito's provider chain: artists Subsonic, Deezer, Last.fm; albums Subsonic, CAA, Last.fm, Deezer.

The first provider that finds a URL wins; every provider asked leaves an outcome so a backfill
can record attempts per provider. One :class:`ImageFinder` is meant to be shared by a pool of
worker threads: each provider holds one rate limiter and one session for all of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from koito_assets.enrich.http import DEFAULT_POLICY, HttpPolicy, HttpService, user_agent
from koito_assets.enrich.images.cover_art_archive import CoverArtArchive
from koito_assets.enrich.images.deezer import Deezer
from koito_assets.enrich.images.lastfm import LastFm
from koito_assets.enrich.images.result import AlbumQuery, ChainResult, Outcome, ProviderOutcome
from koito_assets.enrich.images.subsonic import Subsonic
from koito_assets.enrich.images.validate import ImageValidator

if TYPE_CHECKING:
    from koito_assets.settings import Settings

log = logging.getLogger(__name__)

IMAGE_HOST_RATE_PER_S = 10.0  # HEAD checks on CDNs (Deezer's, Last.fm's, external artist URLs)


class ArtistImageProvider(Protocol):
    name: str

    def find_artist(self, names: Sequence[str], mbid: str | None = None) -> ProviderOutcome: ...


class AlbumImageProvider(Protocol):
    name: str

    def find_album(self, query: AlbumQuery) -> ProviderOutcome: ...


class ImageFinder:
    """Asks providers in order until one finds an image; safe to call from several threads."""

    def __init__(
        self,
        artist_providers: Sequence[ArtistImageProvider],
        album_providers: Sequence[AlbumImageProvider],
        *,
        max_concurrency: int = 4,
    ) -> None:
        self.artist_providers = tuple(artist_providers)
        self.album_providers = tuple(album_providers)
        # Bounds lookups in flight: more threads would only queue on the rate limiters.
        self._slots = threading.BoundedSemaphore(max_concurrency)

    def find_artist_image(self, names: Sequence[str], mbid: str | None = None) -> ChainResult:
        """An image for the artist known by ``names`` (primary name first; aliases after)."""
        names = list(names)
        return self._run(self.artist_providers, lambda p: p.find_artist(names, mbid))

    def find_album_image(
        self,
        title: str,
        artist_names: Sequence[str],
        release_mbid: str | None = None,
        release_group_mbid: str | None = None,
    ) -> ChainResult:
        """A cover for the release ``title`` by ``artist_names``, helped by its MBIDs when known."""
        query = AlbumQuery(title, tuple(artist_names), release_mbid, release_group_mbid)
        return self._run(self.album_providers, lambda p: p.find_album(query))

    def _run(self, providers: Sequence[Any], ask: Callable[[Any], ProviderOutcome]) -> ChainResult:
        outcomes: list[ProviderOutcome] = []
        with self._slots:
            for provider in providers:
                try:
                    outcome = ask(provider)
                except Exception as exc:  # a provider bug must cost one attempt, not the backfill
                    log.exception("image provider %s raised", provider.name)
                    outcome = ProviderOutcome.failed(
                        provider.name, f"{provider.name}: {type(exc).__name__}"
                    )
                outcomes.append(outcome)
                log.debug(
                    "image provider %s: %s %s", provider.name, outcome.outcome, outcome.reason
                )
                if outcome.outcome is Outcome.FOUND and outcome.url:
                    return ChainResult(outcome.url, provider.name, tuple(outcomes))
        return ChainResult(None, None, tuple(outcomes))


def image_finder_from_settings(
    settings: Settings,
    *,
    policy: HttpPolicy = DEFAULT_POLICY,
    max_concurrency: int = 4,
) -> ImageFinder:
    """The chain Koito's variables ask for; disabled or unconfigured providers are left out.

    Subsonic needs both KOITO_SUBSONIC_URL and KOITO_SUBSONIC_PARAMS, Last.fm needs
    KOITO_LASTFM_API_KEY; CAA and Deezer are on unless disabled. Building makes no request.
    """
    policy = replace(policy, user_agent=user_agent(settings.user_agent_contact))
    image_host = HttpService(
        "image host", None, rate_per_s=IMAGE_HOST_RATE_PER_S, burst=10, policy=policy, accept=None
    )
    images = ImageValidator(image_host)
    subsonic = (
        Subsonic(settings.subsonic_url, settings.subsonic_params, images, policy=policy)
        if settings.subsonic_url and settings.subsonic_params
        else None
    )
    caa = (
        None
        if settings.disable_cover_art_archive
        else CoverArtArchive(settings.cover_art_archive_url, policy=policy)
    )
    lastfm = (
        LastFm(settings.lastfm_url, settings.lastfm_api_key, images, policy=policy)
        if settings.lastfm_api_key
        else None
    )
    deezer = None if settings.disable_deezer else Deezer(settings.deezer_url, images, policy=policy)
    artist: list[ArtistImageProvider] = [p for p in (subsonic, deezer, lastfm) if p is not None]
    album: list[AlbumImageProvider] = [p for p in (subsonic, caa, lastfm, deezer) if p is not None]
    return ImageFinder(artist, album, max_concurrency=max_concurrency)

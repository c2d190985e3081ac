"""Image providers (Subsonic, Cover Art Archive, Deezer, Last.fm), Koito's chain, image cache.

Typical use by a backfill, from several threads sharing one finder and one cache::

    finder = image_finder_from_settings(settings)
    cache = image_cache_from_settings(settings)
    result = finder.find_album_image("First Light", ["Ada Example"], release_mbid)
    if result.url:
        cache.download(result.url, image_id)
"""

from koito_assets.enrich.images.cache import (
    CachedImage,
    ImageCache,
    image_cache_from_settings,
    image_path,
)
from koito_assets.enrich.images.chain import ImageFinder, image_finder_from_settings
from koito_assets.enrich.images.result import AlbumQuery, ChainResult, Outcome, ProviderOutcome

__all__ = [
    "AlbumQuery",
    "CachedImage",
    "ChainResult",
    "ImageCache",
    "ImageFinder",
    "Outcome",
    "ProviderOutcome",
    "image_cache_from_settings",
    "image_finder_from_settings",
    "image_path",
]

"""All image-provider fakes in one import: CAA, Deezer, Last.fm, Subsonic and the image host.

Each lives in its own module (one service per module); see their docstrings for the scenarios
they can play.
"""

from tests.fakes.cover_art_archive import FakeCoverArtArchive
from tests.fakes.deezer import FakeDeezer, deezer_error
from tests.fakes.image_host import (
    FakeImageHost,
    forge_png_header,
    make_image_bytes,
    make_striped_png,
)
from tests.fakes.lastfm import PLACEHOLDER_HASH, FakeLastFm, lastfm_error
from tests.fakes.subsonic import FakeSubsonic

__all__ = [
    "PLACEHOLDER_HASH",
    "FakeCoverArtArchive",
    "FakeDeezer",
    "FakeImageHost",
    "FakeLastFm",
    "FakeSubsonic",
    "deezer_error",
    "forge_png_header",
    "lastfm_error",
    "make_image_bytes",
    "make_striped_png",
]

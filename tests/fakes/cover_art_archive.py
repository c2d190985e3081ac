"""A fake Cover Art Archive (docs/external-apis.md §2): ``/release[-group]/{mbid}/front[-N]``.

Known art answers ``307`` with ``Location`` on the fake image host; unknown MBIDs 404, non-UUIDs
400, methods other than GET/HEAD 405. :meth:`FakeCoverArtArchive.add_release_art` takes an
explicit ``location`` to fake malformed redirects (``None`` leaves the header out; the image
host's HTML page or a 404 path make a redirect to a non-image).
"""

from __future__ import annotations

import re

from tests.fakes.image_host import FakeImageHost
from tests.fakes.server import FakeServer, LoggedRequest, Reply

_FRONT = re.compile(r"^/(release|release-group)/([^/]+)/front(?:-(?:250|500|1200))?$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_UNSET = object()


class FakeCoverArtArchive(FakeServer):
    """Front covers of releases and release groups, redirecting to ``image_host``."""

    def __init__(self, image_host: FakeImageHost) -> None:
        super().__init__()
        self.image_host = image_host
        self._art: dict[tuple[str, str], str | None] = {}

    def _add(self, entity: str, mbid: str, location: str | object | None) -> str | None:
        if location is _UNSET:
            location = self.image_host.add_image(
                f"/caa/{entity}/{mbid}.jpg", fmt="JPEG", size=(500, 500)
            )
        self._art[(entity, mbid)] = location  # type: ignore[assignment]
        return location  # type: ignore[return-value]

    def add_release_art(self, mbid: str, location: str | object | None = _UNSET) -> str | None:
        """Give release ``mbid`` a front cover: a real JPEG on the image host, or ``location``."""
        return self._add("release", mbid, location)

    def add_release_group_art(
        self, mbid: str, location: str | object | None = _UNSET
    ) -> str | None:
        """Give release group ``mbid`` a front cover, like :meth:`add_release_art`."""
        return self._add("release-group", mbid, location)

    def route(self, request: LoggedRequest) -> Reply:
        match = _FRONT.match(request.path)
        if match is None:
            return Reply.text("Not Found", 404)
        if request.method not in ("GET", "HEAD"):
            return Reply(405, b"", {"Allow": "GET, HEAD"})
        entity, mbid = match.groups()
        if not _UUID.match(mbid):
            return Reply.text(f"{mbid} is not a valid MBID", 400)
        if (entity, mbid) not in self._art:
            return Reply.text("No cover art found", 404)
        return Reply.redirect(self._art[(entity, mbid)], 307)

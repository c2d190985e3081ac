"""Cover Art Archive: the front cover of a release (then of its release group) by MBID."""

from __future__ import annotations

from koito_assets.enrich.http import DEFAULT_POLICY, HttpPolicy, HttpService
from koito_assets.enrich.images.matching import real_mbid
from koito_assets.enrich.images.result import AlbumQuery, ProviderOutcome, combine
from koito_assets.enrich.images.validate import ImageValidator


class CoverArtArchive:
    """``HEAD {base}/release/{mbid}/front`` with redirects followed; a final image 200 is a hit.

    The stored URL is the CAA URL itself, as Koito stores it, not the storage host it redirects to.
    """

    name = "coverartarchive"

    def __init__(
        self, base_url: str, *, policy: HttpPolicy = DEFAULT_POLICY, rate_per_s: float = 5.0
    ) -> None:
        self.service = HttpService(
            self.name, base_url, rate_per_s=rate_per_s, burst=5, policy=policy, accept=None
        )
        self._check = ImageValidator(self.service)

    def find_album(self, query: AlbumQuery) -> ProviderOutcome:
        targets = [
            (entity, mbid)
            for entity, mbid in (
                ("release", real_mbid(query.release_mbid)),
                ("release-group", real_mbid(query.release_group_mbid)),
            )
            if mbid is not None
        ]
        if not targets:
            return ProviderOutcome.skipped(self.name, "no release MBID")
        failures: list[ProviderOutcome] = []
        misses: list[str] = []
        for entity, mbid in targets:
            url = self.service.url(f"/{entity}/{mbid}/front")
            check = self._check.check(url)
            if check.ok:
                return ProviderOutcome.found(self.name, url)
            if check.transient:
                failures.append(ProviderOutcome.failed(self.name, f"{entity}: {check.reason}"))
            else:
                misses.append(f"{entity}: {check.reason}")
        return combine(self.name, None, failures, "; ".join(misses))

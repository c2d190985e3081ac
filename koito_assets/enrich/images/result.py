"""What one provider and the whole chain report, so the caller can record attempts per provider."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    FOUND = "found"  # the provider has an image and its URL passed the image check
    MISS = "miss"  # the provider answered and has no usable image: final until data changes
    FAILED = "failed"  # no answer (busy, timeout, malformed, misconfigured): ask again later
    SKIPPED = "skipped"  # nothing to ask with (no MBID, no name): no request was made


@dataclass(frozen=True)
class ProviderOutcome:
    """One provider's answer. ``url`` is kept out of repr: Subsonic URLs carry credentials."""

    provider: str
    outcome: Outcome
    url: str | None = field(default=None, repr=False)
    reason: str = ""  # safe to log: never holds a URL
    transient: bool = False  # for FAILED: True when retrying later may succeed

    @classmethod
    def found(cls, provider: str, url: str) -> ProviderOutcome:
        return cls(provider, Outcome.FOUND, url=url)

    @classmethod
    def miss(cls, provider: str, reason: str) -> ProviderOutcome:
        return cls(provider, Outcome.MISS, reason=reason)

    @classmethod
    def failed(cls, provider: str, reason: str, *, transient: bool = True) -> ProviderOutcome:
        return cls(provider, Outcome.FAILED, reason=reason, transient=transient)

    @classmethod
    def skipped(cls, provider: str, reason: str) -> ProviderOutcome:
        return cls(provider, Outcome.SKIPPED, reason=reason)


@dataclass(frozen=True)
class AlbumQuery:
    """What the album chain knows about a release: title, credited artist names, MBIDs."""

    title: str
    artist_names: Sequence[str] = ()
    release_mbid: str | None = None
    release_group_mbid: str | None = None


@dataclass(frozen=True)
class ChainResult:
    """The chain's answer: the winning URL (first provider that found one) and every outcome.

    ``outcomes`` lists the providers asked, in order; providers after the winner were not asked.
    ``url`` is kept out of repr because a Subsonic URL carries credentials.
    """

    url: str | None = field(repr=False)
    provider: str | None
    outcomes: tuple[ProviderOutcome, ...]

    @property
    def found(self) -> bool:
        return self.url is not None

    @property
    def failed(self) -> bool:
        """True when some provider could not answer, so a miss may not be final."""
        return any(o.outcome is Outcome.FAILED for o in self.outcomes)

    @property
    def transient(self) -> bool:
        """True when some provider failed in a way that retrying later may fix."""
        return any(o.outcome is Outcome.FAILED and o.transient for o in self.outcomes)


def combine(
    provider: str, found_url: str | None, failures: list[ProviderOutcome], miss_reason: str
) -> ProviderOutcome:
    """One provider outcome from several sub-queries: found wins, else any failure, else a miss."""
    if found_url is not None:
        return ProviderOutcome.found(provider, found_url)
    if failures:
        first = failures[0]
        transient = any(f.transient for f in failures)
        return ProviderOutcome.failed(provider, first.reason, transient=transient)
    return ProviderOutcome.miss(provider, miss_reason)

"""Koito's artist-string parsing, with the base artist first (docs/design.md §5.1).

Koito reads featured artists out of the raw artist string and the track title, artist-string
features first (docs/koito-reference.md §2.3), so a featured guest became the album's and the
track's primary artist (docs/koito-reference.md §10 T1).
:func:`parsed_names` gives Koito's order with each name's base-first rank; the rules match names in
that order (so they find and create exactly what Koito does, and look albums up by Koito's first
artist) and then list the artists base first (:func:`base_first`), which only moves the
``is_primary`` flags. :func:`parse_artists` is the base-first list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

# Koito's patterns, all case-insensitive: "(feat. X)", "[feat. X]", and "feat. X" running to
# the end of the string with no brackets in X; "feat." is followed by exactly one space, so
# "(feat.X)" is no feature in Koito. `ft.`, `featuring`, `with`, `x` and `/` are not features in
# Koito, so they are not here either. Koito's regexes are Go's (RE2), where \s, \w, \d and \b are
# ASCII classes: re.ASCII gives Python's the same meaning (a no-break space is no separator).
_RE2 = re.IGNORECASE | re.ASCII
_BRACKETED = (
    re.compile(r"\(feat\. ([^)]*)\)", _RE2),
    re.compile(r"\[feat\. ([^\]]*)\]", _RE2),
)
_INLINE = re.compile(r"feat\. ([^()\[\]]+)$", _RE2)
_ANY_FEATURE = re.compile(r"feat\. ", _RE2)  # most strings have none: one scan, done
# Inside a feature list only. "and" has no word boundaries in Koito, so "Brandon" splits into
# "Br" and "on"; we keep that, because matching must find what Koito created.
_FEATURE_DELIMITER = re.compile(r"\s*(?:,|&|and|·)\s*", _RE2)


@lru_cache(maxsize=16)
def _compiled(separators: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """KOITO_ARTIST_SEPARATORS_REGEX patterns, with RE2's ASCII character classes."""
    return tuple(re.compile(pattern, re.ASCII) for pattern in separators)


def _split(pattern: re.Pattern[str], text: str) -> list[str]:
    """Split like Go's Regexp.Split: no captured groups in the result, a list of one if no match."""
    pieces, start = [], 0
    for match in pattern.finditer(text):
        if match.end() == match.start():
            # an empty match would split between every character; Koito's patterns never match empty
            continue
        pieces.append(text[start : match.start()])
        start = match.end()
    pieces.append(text[start:])
    return pieces


class _Names:
    """An ordered list of trimmed, non-empty names, de-duplicated by exact string (Koito's add)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._seen: set[str] = set()

    def add(self, name: str) -> None:
        name = name.strip()
        if name and name not in self._seen:
            self._seen.add(name)
            self.items.append(name)


def _features(text: str, names: _Names, *, shorten: bool = True) -> str:
    """Add the features of ``text`` to ``names``; return ``text`` with the matched parts removed.

    Koito shortens the artist string as it goes (the inline pattern sees it without its bracketed
    feature) but never the title: ``shorten=False`` matches every pattern on the whole title.
    """
    if not _ANY_FEATURE.search(text):
        return text
    searched = text
    for pattern in (*_BRACKETED, _INLINE):
        match = pattern.search(searched)
        if match:
            if shorten:
                searched = searched.replace(match.group(0), "", 1)
            for name in _split(_FEATURE_DELIMITER, match.group(1)):
                names.add(name)
    return searched


Parsed = tuple[tuple[str, int], ...]  # names in Koito's order, each with its base-first rank


def _ranked(koito: _Names, base: list[str]) -> Parsed:
    """Koito's order, each name ranked for the base-first order: the base artist(s) in their
    own order, then the features in Koito's order."""
    bases = set(base)
    first = base + [name for name in koito.items if name not in bases]
    rank = {name: at for at, name in enumerate(first)}
    return tuple((name, rank[name]) for name in koito.items)


def _artist_string(artist: str, separators: tuple[str, ...]) -> tuple[_Names, list[str]]:
    """Koito's ParseArtists steps 1–4 on the artist string: its names (features first), and the
    base artist(s) among them in their own order."""
    names = _Names()
    remaining = _features(artist, names)
    count = len(names.items)
    base = _Names()
    for pattern in _compiled(separators):
        if pattern.search(remaining):
            split = _split(pattern, remaining)
            if len(split) > 1:
                for piece in split:
                    names.add(piece)
                    base.add(piece)
    if len(names.items) == count:  # the separators added nothing new: the string is the base
        names.add(remaining)
        base = _Names()
        base.add(remaining)
    return names, base.items


@lru_cache(maxsize=131072)
def _artist_string_parsed(
    artist: str, separators: tuple[str, ...]
) -> tuple[Parsed, tuple[str, ...]]:
    names, base = _artist_string(artist, separators)
    return _ranked(names, base), tuple(base)


def parsed_names(artist: str, title: str, separators: Sequence[str]) -> Parsed:
    """Koito's ParseArtists in Koito's order (artist-string features first: the order matching
    must follow to find what Koito finds), each name with its rank in the base-first order.
    Remembered per artist string: a file names the same artist string many times, and most
    titles have no features (then the title adds nothing)."""
    parsed, base = _artist_string_parsed(artist, tuple(separators))
    if not _ANY_FEATURE.search(title):
        return parsed
    names = _Names()
    for name, _ in parsed:
        names.add(name)
    _features(title, names, shorten=False)
    return parsed if len(names.items) == len(parsed) else _ranked(names, list(base))


def base_first(ranks: Sequence[int]) -> list[int]:
    """Positions in Koito's order, rearranged into the base-first order (docs/design.md §5.1)."""
    return sorted(range(len(ranks)), key=ranks.__getitem__)


def parse_artists(artist: str, title: str, separators: Sequence[str]) -> list[str]:
    """The artist names Koito reads from an artist string and a track title, base artist first."""
    parsed = parsed_names(artist, title, separators)
    return [parsed[at][0] for at in base_first([rank for _, rank in parsed])]


def _fold_char(a: str, b: str) -> bool:
    if a == b:
        return True
    la, lb = a.lower(), b.lower()
    if len(la) == 1 and la == lb:
        return True
    ua, ub = a.upper(), b.upper()
    return len(ua) == 1 and ua == ub


def equal_fold(a: str, b: str) -> bool:
    """Case-insensitive equality under simple (one-to-one) case folding, like Go's EqualFold.

    Not ``casefold()``: full folding makes "ß" equal "SS", which Koito does not.
    """
    if a == b:
        return True
    if len(a) != len(b):
        return False
    if a.lower() == b.lower() and len(a.lower()) == len(a):
        return True
    return all(_fold_char(x, y) for x, y in zip(a, b, strict=True))

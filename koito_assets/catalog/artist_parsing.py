"""Koito's artist-string parsing (spec §2.3), with the base artist first (design.md §5.1).

Koito reads featured artists out of the raw artist string and the track title. We find the same
set of names; only the order differs on purpose: Koito lists artist-string features first, so a
featured guest became the album's and the track's primary artist (trap T1). We list the base
artist(s) first, then artist-string features, then title features.
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
            continue  # an empty match would split between every character; Koito's never match empty
        pieces.append(text[start : match.start()])
        start = match.end()
    pieces.append(text[start:])
    return pieces


class _Names:
    """An ordered list of trimmed, non-empty names, de-duplicated by exact string (Koito's add)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._seen: set[str] = set()

    def add(self, name: str) -> bool:
        name = name.strip()
        if not name or name in self._seen:
            return False
        self._seen.add(name)
        self.items.append(name)
        return True

    def __contains__(self, name: str) -> bool:
        return name.strip() in self._seen


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


def parse_artists(artist: str, title: str, separators: Sequence[str]) -> list[str]:
    """The artist names Koito reads from an artist string and a track title, base artist first."""
    features = _Names()
    remaining = _features(artist, features)

    pieces = _Names()
    added_any = False  # Koito's "did the separators add anything" counts only names new to it
    for pattern in _compiled(tuple(separators)):
        if not pattern.search(remaining):
            continue
        split = _split(pattern, remaining)
        if len(split) > 1:
            for piece in split:
                new = bool(piece.strip()) and piece not in features and piece not in pieces
                pieces.add(piece)
                added_any = added_any or new
    base = pieces if added_any else _Names()
    if not added_any:
        base.add(remaining)

    result = _Names()
    for name in base.items:
        result.add(name)
    for name in features.items:
        result.add(name)
    title_features = _Names()
    _features(title, title_features, shorten=False)
    for name in title_features.items:
        result.add(name)
    return result.items


@lru_cache(maxsize=131072)
def _artist_string_names(artist: str, separators: tuple[str, ...]) -> tuple[str, ...]:
    """What :func:`parse_artists` reads from the artist string alone (a title without features)."""
    return tuple(parse_artists(artist, "", separators))


def parsed_names(artist: str, title: str, separators: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`parse_artists`, remembered per artist string: a file names the same artist string
    many times, and most titles have no features (then the title adds nothing)."""
    names = _artist_string_names(artist, separators)
    if not _ANY_FEATURE.search(title):
        return names
    title_features = _Names()
    _features(title, title_features, shorten=False)
    if not title_features.items:
        return names
    result = _Names()
    for name in names:
        result.add(name)
    for name in title_features.items:
        result.add(name)
    return tuple(result.items)


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

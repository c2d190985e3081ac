"""Every setting of the project, read once from the environment.

This is the only module that reads ``os.environ``. Names follow Koito's where Koito has the setting
(docs/koito-reference.md §9), including its ``<VAR>_FILE`` convention: when ``VAR`` is empty and
``VAR_FILE`` names a file, the file's content is the value (for secrets in containers). Booleans are
true only for the case-insensitive string ``true``, as in Koito.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SPOTIFY_PLAY_RULES = ("trackdone", "30s", "listenbrainz")
# How far apart two services' times for one play may be (docs/cross-source-dedupe.md): the
# widest offset reported between two scrobblers for one listen is 54 s, and Spotify's end stamp
# moves later by any pause, so 90 s, which other tools use too.
DEFAULT_CROSS_SOURCE_TOLERANCE_S = 90
MAX_CROSS_SOURCE_TOLERANCE_S = 600
DEFAULT_ARTIST_SEPARATORS = (r"\s+·\s+",)
DEFAULT_MUSICBRAINZ_URL = "https://musicbrainz.org"
# Who to tell MusicBrainz and the image providers about, in every User-Agent ("( contact )").
DEFAULT_USER_AGENT_CONTACT = "https://github.com/koito-assets/koito-assets"


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


def _read(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "")
    if value == "" and env.get(f"{name}_FILE"):
        path = Path(env[f"{name}_FILE"])
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SettingsError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from exc
    return value or None


def _bool(env: Mapping[str, str], name: str) -> bool:
    return (_read(env, name) or "").lower() == "true"


def _int(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = _read(env, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _read(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be greater than 0, not {raw!r}")
    return value


def _unix_bound(env: Mapping[str, str], name: str) -> int | None:
    """Koito's time-window bounds: unset, unparsable or <= 0 means "no bound"."""
    raw = _read(env, name)
    try:
        value = int(raw) if raw is not None else 0
    except ValueError:
        return None
    return value if value > 0 else None


def _separators(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = _read(env, "KOITO_ARTIST_SEPARATORS_REGEX")
    if raw is None:
        return DEFAULT_ARTIST_SEPARATORS
    patterns = tuple(p for p in raw.split(";;") if p)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SettingsError(
                f"KOITO_ARTIST_SEPARATORS_REGEX: {pattern!r} is not a valid regex ({exc})"
            ) from None
    return patterns or DEFAULT_ARTIST_SEPARATORS


@dataclass(frozen=True)
class Settings:
    """The project's configuration. Build it with :meth:`from_env`; tests pass their own mapping."""

    # Where things live
    config_dir: Path = Path(".koito")
    database_url: str | None = None
    test_database_url: str | None = None

    # Import rules (Koito's)
    import_after_unix: int | None = None
    import_before_unix: int | None = None
    artist_separators: tuple[str, ...] = DEFAULT_ARTIST_SEPARATORS
    spotify_play_rule: str = "trackdone"
    # One play, one listen: recognise a play another source already loaded (KOITO_CROSS_SOURCE_*)
    cross_source_dedupe: bool = True
    cross_source_tolerance_s: int = DEFAULT_CROSS_SOURCE_TOLERANCE_S
    parse_processes: int = (
        0  # worker processes reading one big export; 0 = by CPU count (parallel.py)
    )
    default_username: str = "admin"
    default_password: str = field(default="changeme", repr=False)

    # MusicBrainz
    disable_musicbrainz: bool = False
    musicbrainz_url: str = DEFAULT_MUSICBRAINZ_URL
    musicbrainz_rate_limit: float = 1.0
    musicbrainz_cache_days: int = 30  # how long a stored answer is used; 0 keeps none
    resolve_workers: int = 4
    user_agent_contact: str = DEFAULT_USER_AGENT_CONTACT

    # Images
    fetch_images_during_import: bool = False
    disable_deezer: bool = False
    disable_cover_art_archive: bool = False
    subsonic_url: str | None = None
    subsonic_params: str | None = field(default=None, repr=False)
    lastfm_api_key: str | None = field(default=None, repr=False)
    cover_art_archive_url: str = "https://coverartarchive.org"
    deezer_url: str = "https://api.deezer.com"
    lastfm_url: str = "https://ws.audioscrobbler.com"
    image_retry_hours: float = 24.0 * 7

    # Serving
    dagster_host: str = "127.0.0.1"
    dagster_port: int = 3000

    @property
    def import_dir(self) -> Path:
        return self.config_dir / "import"

    @property
    def import_complete_dir(self) -> Path:
        return self.config_dir / "import_complete"

    @property
    def image_cache_dir(self) -> Path:
        return self.config_dir / "image_cache"

    @property
    def embedded_data_dir(self) -> Path:
        return self.config_dir / "postgres"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        rule = (_read(env, "KOITO_SPOTIFY_PLAY_RULE") or "trackdone").lower()
        if rule not in SPOTIFY_PLAY_RULES:
            raise SettingsError(
                f"KOITO_SPOTIFY_PLAY_RULE must be one of {', '.join(SPOTIFY_PLAY_RULES)}, "
                f"not {rule!r}"
            )
        musicbrainz_url = (_read(env, "KOITO_MUSICBRAINZ_URL") or DEFAULT_MUSICBRAINZ_URL).rstrip(
            "/"
        )
        rate = _float(env, "KOITO_MUSICBRAINZ_RATE_LIMIT", 1.0)
        if rate != 1.0 and musicbrainz_url == DEFAULT_MUSICBRAINZ_URL:
            # Koito's rule: the public server's limit may only change with a mirror of your own.
            raise SettingsError(
                "KOITO_MUSICBRAINZ_RATE_LIMIT can only be changed together with "
                "KOITO_MUSICBRAINZ_URL"
            )
        workers = _int(env, "KOITO_IMPORT_WORKERS", 4) or 4
        cache_days = _int(env, "KOITO_MUSICBRAINZ_CACHE_DAYS", 30)
        if cache_days is None or cache_days < 0:
            raise SettingsError(f"KOITO_MUSICBRAINZ_CACHE_DAYS must be 0 or more, not {cache_days}")
        return cls(
            config_dir=Path(_read(env, "KOITO_CONFIG_DIR") or ".koito").absolute(),
            database_url=_read(env, "KOITO_DATABASE_URL"),
            test_database_url=_read(env, "KOITO_TEST_DATABASE_URL"),
            import_after_unix=_unix_bound(env, "KOITO_IMPORT_AFTER_UNIX"),
            import_before_unix=_unix_bound(env, "KOITO_IMPORT_BEFORE_UNIX"),
            artist_separators=_separators(env),
            spotify_play_rule=rule,
            cross_source_dedupe=_on_off(env, "KOITO_CROSS_SOURCE_DEDUPE", default=True),
            cross_source_tolerance_s=_tolerance(env),
            parse_processes=max(0, _int(env, "KOITO_PARSE_PROCESSES", 0) or 0),
            default_username=(_read(env, "KOITO_DEFAULT_USERNAME") or "admin").lower(),
            default_password=_read(env, "KOITO_DEFAULT_PASSWORD") or "changeme",
            disable_musicbrainz=_bool(env, "KOITO_DISABLE_MUSICBRAINZ"),
            musicbrainz_url=musicbrainz_url,
            musicbrainz_rate_limit=rate,
            musicbrainz_cache_days=cache_days,
            resolve_workers=max(1, workers),
            user_agent_contact=_contact(env),
            fetch_images_during_import=_bool(env, "KOITO_FETCH_IMAGES_DURING_IMPORT"),
            disable_deezer=_bool(env, "KOITO_DISABLE_DEEZER"),
            disable_cover_art_archive=_bool(env, "KOITO_DISABLE_COVER_ART_ARCHIVE"),
            subsonic_url=(_read(env, "KOITO_SUBSONIC_URL") or "").rstrip("/") or None,
            subsonic_params=_read(env, "KOITO_SUBSONIC_PARAMS"),
            lastfm_api_key=_read(env, "KOITO_LASTFM_API_KEY"),
            cover_art_archive_url=(
                _read(env, "KOITO_COVER_ART_ARCHIVE_URL") or "https://coverartarchive.org"
            ).rstrip("/"),
            deezer_url=(_read(env, "KOITO_DEEZER_URL") or "https://api.deezer.com").rstrip("/"),
            lastfm_url=(_read(env, "KOITO_LASTFM_URL") or "https://ws.audioscrobbler.com").rstrip(
                "/"
            ),
            image_retry_hours=_float(env, "KOITO_IMAGE_RETRY_HOURS", 24.0 * 7),
            dagster_host=_read(env, "KOITO_DAGSTER_HOST") or "127.0.0.1",
            dagster_port=_int(env, "KOITO_DAGSTER_PORT", 3000) or 3000,
        )


def _on_off(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    """A switch spelled ``on`` or ``off`` (case-insensitive); unset means ``default``."""
    raw = _read(env, name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value not in ("on", "off"):
        raise SettingsError(f"{name} must be on or off, not {raw!r}")
    return value == "on"


def _tolerance(env: Mapping[str, str]) -> int:
    """KOITO_CROSS_SOURCE_TOLERANCE_SECONDS: a whole number of seconds, 1 to 600."""
    name = "KOITO_CROSS_SOURCE_TOLERANCE_SECONDS"
    value = _int(env, name, DEFAULT_CROSS_SOURCE_TOLERANCE_S)
    if not 1 <= value <= MAX_CROSS_SOURCE_TOLERANCE_S:
        raise SettingsError(f"{name} must be between 1 and {MAX_CROSS_SOURCE_TOLERANCE_S} seconds")
    return value


def _contact(env: Mapping[str, str]) -> str:
    """KOITO_USER_AGENT_CONTACT: an e-mail address or URL; it goes into an HTTP header as it is."""
    contact = (_read(env, "KOITO_USER_AGENT_CONTACT") or DEFAULT_USER_AGENT_CONTACT).strip()
    if not contact.isprintable() or not contact.isascii() or "(" in contact or ")" in contact:
        raise SettingsError(
            "KOITO_USER_AGENT_CONTACT must be one printable ASCII line without parentheses "
            "(an e-mail address or a URL)"
        )
    return contact


def read_settings(overrides: Mapping[str, str] | None = None) -> Settings:
    """The settings from the process environment, ``overrides`` (``KOITO_*`` names) winning."""
    return Settings.from_env({**os.environ, **overrides} if overrides else None)

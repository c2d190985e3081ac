"""Settings: Koito's names, its _FILE convention, its boolean rule, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from koito_assets.settings import Settings, SettingsError


def test_defaults_follow_koito_and_the_design():
    s = Settings.from_env({})
    assert s.config_dir == Path(".koito").absolute()
    assert s.database_url is None
    assert s.artist_separators == (r"\s+·\s+",)
    assert (s.default_username, s.default_password) == ("admin", "changeme")
    assert s.musicbrainz_rate_limit == 1.0 and not s.disable_musicbrainz
    assert s.spotify_play_rule == "trackdone"
    assert s.import_dir == s.config_dir / "import"
    assert s.dagster_host == "127.0.0.1"


def test_file_convention_reads_a_secret_from_a_file(tmp_path: Path):
    secret = tmp_path / "url"
    secret.write_text("postgresql://koito:s3cret@db:5432/koito\n")
    s = Settings.from_env({"KOITO_DATABASE_URL_FILE": str(secret)})
    assert s.database_url == "postgresql://koito:s3cret@db:5432/koito"
    # the variable itself wins when it is set
    s = Settings.from_env(
        {"KOITO_DATABASE_URL": "postgresql://x@y/z", "KOITO_DATABASE_URL_FILE": str(secret)}
    )
    assert s.database_url == "postgresql://x@y/z"


def test_unreadable_file_names_the_variable(tmp_path: Path):
    with pytest.raises(SettingsError, match="KOITO_DEFAULT_PASSWORD_FILE"):
        Settings.from_env({"KOITO_DEFAULT_PASSWORD_FILE": str(tmp_path / "missing")})


@pytest.mark.parametrize(
    "raw, expected", [("true", True), ("TRUE", True), ("1", False), ("yes", False), ("", False)]
)
def test_booleans_are_true_only_for_the_word_true(raw: str, expected: bool):
    assert Settings.from_env({"KOITO_DISABLE_MUSICBRAINZ": raw}).disable_musicbrainz is expected


def test_time_window_bounds_ignore_zero_negative_and_garbage():
    s = Settings.from_env(
        {"KOITO_IMPORT_AFTER_UNIX": "1700000000", "KOITO_IMPORT_BEFORE_UNIX": "-5"}
    )
    assert (s.import_after_unix, s.import_before_unix) == (1700000000, None)
    assert Settings.from_env({"KOITO_IMPORT_AFTER_UNIX": "soon"}).import_after_unix is None


def test_separators_replace_the_default_and_bad_regexes_are_rejected():
    s = Settings.from_env({"KOITO_ARTIST_SEPARATORS_REGEX": r"\s*;\s*;;\s+/\s+"})
    assert s.artist_separators == (r"\s*;\s*", r"\s+/\s+")
    with pytest.raises(SettingsError, match="KOITO_ARTIST_SEPARATORS_REGEX"):
        Settings.from_env({"KOITO_ARTIST_SEPARATORS_REGEX": "(unclosed"})


def test_musicbrainz_rate_limit_needs_a_custom_url_like_koito():
    with pytest.raises(SettingsError, match="KOITO_MUSICBRAINZ_URL"):
        Settings.from_env({"KOITO_MUSICBRAINZ_RATE_LIMIT": "5"})
    s = Settings.from_env(
        {"KOITO_MUSICBRAINZ_RATE_LIMIT": "5", "KOITO_MUSICBRAINZ_URL": "http://127.0.0.1:5000/"}
    )
    assert (s.musicbrainz_rate_limit, s.musicbrainz_url) == (5.0, "http://127.0.0.1:5000")


def test_musicbrainz_answers_are_kept_thirty_days_unless_told_otherwise():
    assert Settings.from_env({}).musicbrainz_cache_days == 30
    assert Settings.from_env({"KOITO_MUSICBRAINZ_CACHE_DAYS": "0"}).musicbrainz_cache_days == 0
    assert Settings.from_env({"KOITO_MUSICBRAINZ_CACHE_DAYS": "90"}).musicbrainz_cache_days == 90
    for bad in ("-1", "soon"):
        with pytest.raises(SettingsError, match="KOITO_MUSICBRAINZ_CACHE_DAYS"):
            Settings.from_env({"KOITO_MUSICBRAINZ_CACHE_DAYS": bad})


def test_spotify_play_rule_is_a_closed_choice():
    assert Settings.from_env({"KOITO_SPOTIFY_PLAY_RULE": "30s"}).spotify_play_rule == "30s"
    with pytest.raises(SettingsError, match="KOITO_SPOTIFY_PLAY_RULE"):
        Settings.from_env({"KOITO_SPOTIFY_PLAY_RULE": "always"})


def test_secrets_are_not_in_the_repr():
    s = Settings.from_env({"KOITO_DEFAULT_PASSWORD": "hunter2", "KOITO_LASTFM_API_KEY": "abc123"})
    assert "hunter2" not in repr(s) and "abc123" not in repr(s)


def test_only_the_settings_module_reads_the_environment():
    root = Path(__file__).resolve().parent.parent / "koito_assets"
    readers = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "settings.py"
        and ("os.environ" in p.read_text() or "os.getenv" in p.read_text())
    )
    # serve.py passes the environment on to its child processes and dagster_home.py gives
    # Dagster the storage URL in this process's environment; neither reads a setting from it.
    assert readers == ["dagster_home.py", "serve.py"]


def test_cross_source_dedupe_is_on_unless_switched_off():
    assert Settings.from_env({}).cross_source_dedupe
    assert Settings.from_env({}).cross_source_tolerance_s == 90
    assert not Settings.from_env({"KOITO_CROSS_SOURCE_DEDUPE": "Off"}).cross_source_dedupe
    assert Settings.from_env({"KOITO_CROSS_SOURCE_DEDUPE": "on"}).cross_source_dedupe
    with pytest.raises(SettingsError, match="KOITO_CROSS_SOURCE_DEDUPE must be on or off"):
        Settings.from_env({"KOITO_CROSS_SOURCE_DEDUPE": "true"})


@pytest.mark.parametrize("raw", ["0", "601", "-5", "ninety"])
def test_cross_source_tolerance_is_a_sane_number_of_seconds(raw: str):
    with pytest.raises(SettingsError, match="KOITO_CROSS_SOURCE_TOLERANCE_SECONDS"):
        Settings.from_env({"KOITO_CROSS_SOURCE_TOLERANCE_SECONDS": raw})
    assert (
        Settings.from_env({"KOITO_CROSS_SOURCE_TOLERANCE_SECONDS": "30"}).cross_source_tolerance_s
        == 30
    )

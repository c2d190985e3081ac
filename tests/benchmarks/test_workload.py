"""The workload generator writes every format in the right shape, deterministically, at size.

Shapes are checked with json/csv/zipfile directly (not with the project's parsers), against
docs/koito-reference.md §3 and §4.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import time
import uuid
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from benchmarks import workload
from benchmarks.workload import FORMATS, catalog, generate, shape_for, write

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
LASTFM_TIME = re.compile(
    r"^\d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}, \d{2}:\d{2}$"
)
LB_MONTH = re.compile(r"^listens/(\d{4})/([1-9]|1[0-2])\.jsonl$")
SPOTIFY_FIELDS = {
    "ts",
    "platform",
    "ms_played",
    "conn_country",
    "ip_addr",
    "master_metadata_track_name",
    "master_metadata_album_artist_name",
    "master_metadata_album_album_name",
    "spotify_track_uri",
    "episode_name",
    "episode_show_name",
    "spotify_episode_uri",
    "audiobook_title",
    "audiobook_uri",
    "audiobook_chapter_uri",
    "audiobook_chapter_title",
    "reason_start",
    "reason_end",
    "shuffle",
    "skipped",
    "offline",
    "offline_timestamp",
    "incognito_mode",
}
TINY = shape_for("tiny").scrobbles


def _is_uuid(value: str) -> bool:
    """True for a canonical, valid UUID string."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _all_bytes(paths: list[Path]) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in paths}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, workload.Generated]:
    """Every format written once at the tiny size."""
    out = tmp_path_factory.mktemp("tiny")
    return {fmt: write(fmt, "tiny", out) for fmt in FORMATS}


# ---------------------------------------------------------------------------------- shapes


def test_maloja_shape(tiny):
    g = tiny["maloja"]
    assert re.fullmatch(r"maloja_export_\d{4}(_\d{2}){5}\.json", g.path.name)
    data = json.loads(g.path.read_text(encoding="utf-8"))
    assert isinstance(data["maloja"]["export_time"], int)
    scrobbles = data["scrobbles"]
    assert len(scrobbles) == TINY == g.counts["records"]
    times = [s["time"] for s in scrobbles]
    assert all(isinstance(t, int) for t in times)
    assert all(a < b for a, b in zip(times, times[1:], strict=False)), (
        "Maloja times are unique and increasing"
    )
    for s in scrobbles:
        assert set(s) == {"time", "track", "duration", "origin"}
        track = s["track"]
        assert set(track) == {"artists", "title", "album", "length"}
        assert track["artists"] and all(isinstance(a, str) and a for a in track["artists"])
        assert isinstance(track["title"], str) and track["title"]
        assert track["album"] is None or (
            set(track["album"]) == {"albumtitle", "artists"} and track["album"]["albumtitle"]
        )
        assert s["duration"] is None or isinstance(s["duration"], int)
        assert s["origin"].startswith(("client:", "import:", "legacy"))
    assert any(s["track"]["album"] is None for s in scrobbles), "some scrobbles have no album"
    assert any(len(s["track"]["artists"]) > 1 for s in scrobbles), "multi-artist entries"
    assert any(" • " in a for s in scrobbles for a in s["track"]["artists"]), "' • ' combos"


def test_spotify_shape(tiny):
    g = tiny["spotify_extended"]
    assert g.path.is_dir() and g.files
    rows = []
    for path in g.files:
        assert re.fullmatch(r"Streaming_History_Audio_\d{4}(-\d{4})?_\d+\.json", path.name)
        data = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(data, list)
        rows.extend(data)
    assert len(rows) == g.counts["records"]
    for r in rows:
        assert set(r) == SPOTIFY_FIELDS
        assert RFC3339.match(r["ts"])
        assert isinstance(r["ms_played"], int) and r["ms_played"] >= 0
        assert isinstance(r["incognito_mode"], bool) and isinstance(r["shuffle"], bool)
    music = [r for r in rows if r["episode_name"] is None]
    podcasts = [r for r in rows if r["episode_name"] is not None]
    assert len(music) == TINY + g.counts["duplicates"]
    assert podcasts and all(r["master_metadata_track_name"] is None for r in podcasts)
    reasons = Counter(r["reason_end"] for r in music)
    assert reasons["trackdone"] > 0.7 * len(music) and len(reasons) > 1
    assert any(r["incognito_mode"] for r in rows)
    assert any("(feat. " in (r["master_metadata_track_name"] or "") for r in music)
    assert [r["ts"] for r in music] == sorted(r["ts"] for r in music)


def _lastfm_pages(g: workload.Generated) -> list[dict]:
    pages = json.loads(g.path.read_text(encoding="utf-8"))
    assert isinstance(pages, list) and pages
    return pages


def test_lastfm_json_shape(tiny):
    g = tiny["lastfm_json"]
    assert re.fullmatch(r"recenttracks-[\w]+-\d+\.json", g.path.name)
    pages = _lastfm_pages(g)
    tracks = []
    for number, page in enumerate(pages, 1):
        assert set(page) == {"track", "@attr"}
        assert page["@attr"]["page"] == str(number)
        assert len(page["track"]) <= 200 + (number == 1)
        tracks.extend(page["track"])
    now, dated = tracks[0], tracks[1:]
    assert now["@attr"] == {"nowplaying": "true"} and "date" not in now
    assert len(dated) == TINY + g.counts["duplicates"]
    for t in dated:
        assert {"artist", "album", "name", "mbid", "date", "image"} <= set(t)
        assert t["artist"]["#text"] and t["name"]
        assert t["date"]["uts"].isdigit() and LASTFM_TIME.match(t["date"]["#text"])
        for mbid in (t["mbid"], t["artist"]["mbid"], t["album"]["mbid"]):
            assert mbid == "" or _is_uuid(mbid)
    uts = [int(t["date"]["uts"]) for t in dated]
    assert uts == sorted(uts, reverse=True), "newest first, like the API"
    assert any(" feat. " in t["artist"]["#text"] for t in dated)
    assert any(t["album"]["#text"] == "" for t in dated)
    assert any(t["artist"]["mbid"] for t in dated) and any(not t["artist"]["mbid"] for t in dated)


def test_lastfm_csv_shape(tiny):
    g = tiny["lastfm_csv"]
    with g.path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
        "uts",
        "utc_time",
        "artist",
        "artist_mbid",
        "album",
        "album_mbid",
        "track",
        "track_mbid",
    ]
    body = rows[1:]
    assert len(body) == TINY + g.counts["duplicates"]
    assert all(len(r) == 8 for r in body)
    assert all(r[0].isdigit() and LASTFM_TIME.match(r[1]) for r in body)
    assert [int(r[0]) for r in body] == sorted((int(r[0]) for r in body), reverse=True)
    assert all(m == "" or _is_uuid(m) for r in body for m in (r[3], r[5], r[7]))


def test_listenbrainz_zip_shape(tiny):
    g = tiny["listenbrainz_zip"]
    assert re.fullmatch(r"listenbrainz_[\w]+_\d+\.zip", g.path.name)
    listens = []
    with zipfile.ZipFile(g.path) as zf:
        names = zf.namelist()
        assert "user.json" in names
        assert set(json.loads(zf.read("user.json"))) == {"user_id", "username"}
        month_files = [n for n in names if n.startswith("listens/")]
        assert month_files and all(LB_MONTH.match(n) for n in month_files)
        for name in month_files:
            year, month = map(int, LB_MONTH.match(name).groups())
            for line in zf.read(name).decode().splitlines():
                listen = json.loads(line)
                when = time.gmtime(listen["listened_at"])
                assert (when.tm_year, when.tm_mon) == (year, month)
                listens.append(listen)
    assert len(listens) == TINY
    mapped = 0
    for listen in listens:
        assert isinstance(listen["listened_at"], int)
        assert isinstance(listen["inserted_at"], (int, float))
        meta = listen["track_metadata"]
        assert meta["artist_name"] and meta["track_name"] and _is_uuid(meta["recording_msid"])
        info = meta["additional_info"]
        assert "submission_client" in info
        for key in ("recording_mbid", "release_mbid"):
            assert key not in info or _is_uuid(info[key])
        assert all(_is_uuid(m) for m in info.get("artist_mbids", []))
        mapping = meta["mbid_mapping"]
        if mapping is not None:
            mapped += 1
            assert _is_uuid(mapping["recording_mbid"])
            assert [a["artist_mbid"] for a in mapping["artists"]] == mapping["artist_mbids"]
            for a in mapping["artists"]:
                assert set(a) == {"artist_credit_name", "join_phrase", "artist_mbid"}
            assert mapping["artists"][-1]["join_phrase"] == ""
    assert 0 < mapped < len(listens), "some listens are mapped, some are not"
    assert any("release_name" not in item["track_metadata"] for item in listens)
    assert any("recording_mbid" in item["track_metadata"]["additional_info"] for item in listens)


def test_koito_shape(tiny):
    g = tiny["koito"]
    assert g.path.name.startswith("koito_export_")
    data = json.loads(g.path.read_text(encoding="utf-8"))
    assert data["version"] == "1" and RFC3339.match(data["exported_at"]) and data["user"]
    listens = data["listens"]
    assert len(listens) == TINY
    assert [x["listened_at"] for x in listens] == sorted(x["listened_at"] for x in listens)
    for x in listens:
        assert RFC3339.match(x["listened_at"]) and isinstance(x["client"], str)
        assert set(x["track"]) == {"mbid", "duration", "aliases"}
        assert set(x["album"]) == {"image_url", "mbid", "aliases", "various_artists"}
        assert x["artists"] and all(a["is_primary"] is False for a in x["artists"])
        for entity in (x["track"], x["album"], *x["artists"]):
            assert entity["mbid"] is None or _is_uuid(entity["mbid"])
            assert [a["is_primary"] for a in entity["aliases"]] == [True]


# ---------------------------------------------------------------------------------- quirks


def test_mbids_are_stable_per_entity(tiny):
    """One artist spelling never carries two different MBIDs (Last.fm CSV)."""
    with tiny["lastfm_csv"].path.open(encoding="utf-8", newline="") as f:
        seen: dict[str, set[str]] = {}
        for row in csv.DictReader(f):
            if row["artist_mbid"]:
                seen.setdefault(row["artist"], set()).add(row["artist_mbid"])
    assert seen and all(len(m) == 1 for m in seen.values())


def test_duplicates_only_where_the_format_allows_them(tiny):
    """Spotify and Last.fm carry a few exact double scrobbles; Maloja, LB and Koito none."""
    with tiny["lastfm_csv"].path.open(encoding="utf-8", newline="") as f:
        keys = [(r["uts"], r["track"]) for r in csv.DictReader(f)]
    assert 0 < len(keys) - len(set(keys)) == tiny["lastfm_csv"].counts["duplicates"]
    rows = [r for p in tiny["spotify_extended"].files for r in json.loads(p.read_text())]
    music = [(r["ts"], r["spotify_track_uri"]) for r in rows if r["episode_name"] is None]
    assert len(music) - len(set(music)) == tiny["spotify_extended"].counts["duplicates"] > 0


def test_catalog_has_unicode_feat_and_case_variants():
    cat = catalog("seed")
    names = [a.name for a in cat.artists]
    assert any(re.search(r"[\u4e00-\u9fff]", n) for n in names), "CJK"
    assert any(re.search(r"[À-ɏ]", n) for n in names), "accents"
    assert any(any(ord(ch) > 0xFFFF for ch in n) for n in names), "emoji (astral plane)"
    variants = [a for a in cat.artists if a.variant]
    assert variants
    assert all(a.variant != a.name and a.variant.casefold() == a.name.casefold() for a in variants)
    assert len({n.casefold() for n in names}) == len(names)
    assert all(workload._clean_artist(n) for n in names)
    styles = Counter(t.feat_style for t in cat.tracks)
    assert styles["artist"] and styles["title"] and styles[None]


# ---------------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes(tmp_path, tiny):
    workload.catalog.cache_clear()
    workload.timeline.cache_clear()
    for fmt, first in tiny.items():
        again = write(fmt, "tiny", tmp_path / fmt)
        assert _all_bytes(again.files) == _all_bytes(first.files), fmt


def test_other_seed_gives_other_bytes(tmp_path, tiny):
    other = write("maloja", "tiny", tmp_path, seed=2)
    assert other.path.read_bytes() != tiny["maloja"].path.read_bytes()


def test_cli_in_a_fresh_process_writes_the_same_bytes(tmp_path, tiny):
    """Determinism must not depend on the process (no hash randomization leaks in)."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.workload",
            "--format",
            "lastfm_json",
            "--size",
            "tiny",
            "--out",
            str(tmp_path),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    path = Path(proc.stdout.splitlines()[0])
    assert json.loads(proc.stdout.splitlines()[1])["listens"] == TINY
    assert path.read_bytes() == tiny["lastfm_json"].path.read_bytes()


# ---------------------------------------------------------------------------------- sizes


def test_seed_catalog_has_the_cardinalities_of_the_49k_history():
    counts = catalog("seed").counts()
    assert counts["scrobbles"] == 49_050
    assert counts["artists"] == counts["artists_used"] == 5_589
    assert counts["albums"] == counts["albums_used"] == 2_628
    assert counts["tracks"] == 15_000


def test_seed_maloja_file_uses_every_artist_and_album(tmp_path):
    g = write("maloja", "seed", tmp_path)
    data = json.loads(g.path.read_text(encoding="utf-8"))
    scrobbles = data["scrobbles"]
    assert len(scrobbles) == 49_050
    artists = {
        part.casefold() for s in scrobbles for a in s["track"]["artists"] for part in a.split(" • ")
    }
    albums = {
        (s["track"]["album"]["albumtitle"], s["track"]["album"]["artists"][0])
        for s in scrobbles
        if s["track"]["album"]
    }
    assert len(artists) == 5_589
    assert len(albums) == 2_628
    spellings = {a for s in scrobbles for a in s["track"]["artists"][0].split(" • ")[:1]}
    assert len(spellings) > len({a.casefold() for a in spellings}), "case variants are present"


def test_large_and_numeric_sizes():
    large = shape_for("large")
    assert large.scrobbles == 1_000_000 and large.artists == 4 * 5_589 and large.albums == 4 * 2_628
    assert shape_for(20_000).scrobbles == shape_for("20000").scrobbles == 20_000
    with pytest.raises(ValueError):
        shape_for("huge")


def test_spotify_splits_into_files_with_year_names(tmp_path):
    g = write("spotify_extended", 20_000, tmp_path)
    assert len(g.files) == g.counts["files"] >= 2
    assert sum(len(json.loads(p.read_text())) for p in g.files) == g.counts["records"]
    assert generate("maloja", 20_000, tmp_path).name.startswith("maloja_export_")

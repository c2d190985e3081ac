"""The wheel carries everything: every package folder, and the top-level sql/ as koito_assets.sql.

The second test is what a user of a built wheel does: install it into a fresh virtual
environment, then run ``koito-import migrate`` and one small import from outside the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import psycopg

from tests.defs.exports import sample_scrobbles, write_maloja

ROOT = Path(__file__).resolve().parent.parent


def _listed_packages() -> set[str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return set(tomllib.load(handle)["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_listed_in_pyproject():
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "koito_assets").rglob("__init__.py")
    }
    assert _listed_packages() == on_disk | {"koito_assets.sql"}


def _build_wheel(out: Path) -> Path:
    # Built from a copy: setuptools leaves build/ and *.egg-info behind in the tree it builds.
    source = out.parent / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".*", "build", "*.egg-info", "__pycache__", "tests", "benchmarks"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (wheel,) = out.glob("koito_assets-*.whl")
    return wheel


def test_wheel_installs_into_a_fresh_venv_and_imports(db_url: str, tmp_path: Path):
    wheel = _build_wheel(tmp_path / "dist")
    names = set(zipfile.ZipFile(wheel).namelist())
    for sql_dir in ("koito", "koito_import", "imports"):
        assert any(
            n.startswith(f"koito_assets/sql/{sql_dir}/") and n.endswith(".sql") for n in names
        )

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # The dependencies come from this environment's site-packages; the project itself only from
    # the wheel (an editable install's finder is a .pth hook, and a path added by a .pth file
    # does not run that folder's own .pth files).
    fresh_site = next((venv / "lib").glob("python3*/site-packages"))
    (fresh_site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "elsewhere"
    export = write_maloja(work / "maloja_export_1.json", sample_scrobbles())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOITO_", "PYTHON"))}
    env.update(KOITO_DATABASE_URL=db_url, KOITO_CONFIG_DIR=str(work / "koito"))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=300)

    where = run(
        str(venv / "bin" / "python"), "-c", "import koito_assets; print(koito_assets.__file__)"
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(fresh_site)

    migrated = run(str(venv / "bin" / "koito-import"), "migrate")
    assert migrated.returncode == 0, migrated.stderr
    imported = run(str(venv / "bin" / "koito-import"), "import", str(export), "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["files"][0]["listens_inserted"] == 7
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM listens").fetchone()[0] == 7

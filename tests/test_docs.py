"""Every citation in the repository points inside it, at something that exists.

Code, tests, benchmarks, SQL and documents explain themselves by citing the repository's own
documents by path and section: ``docs/design.md §5.3``, ``docs/koito-reference.md §2.4–§2.8``,
``docs/koito-reference.md §10 T12`` (a trap of that section). The rules checked here:

- a ``NAME.md`` path is written from the repository's root and names a file that exists;
- a path starting with one of the repository's top folders (``docs/``, ``koito_assets/``,
  ``tests/``, ``benchmarks/``, ``sql/``) exists, unless git ignores it (an output location);
  ``tests/x.py::test_name`` also names a test defined in that file;
- every ``§N`` follows a cited ``.md`` path (a list such as ``§2.4, §2.6 and §5`` may follow one
  path) and names a numbered heading of that file; inside a document a bare ``§N`` means the
  document itself;
- a trap (``T1``–``T20``) is cited as ``docs/koito-reference.md §10 T12``; only that document
  names traps bare;
- nothing points outside the repository: no ``../shared``, ``spec §``, ``spec/…``,
  ``environment notes``, ``field notes`` and the like.

Only comments and strings of Python files are read for traps, so code such as ``T1 = "…"`` is
not mistaken for one.
"""

from __future__ import annotations

import io
import re
import subprocess
import tokenize
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOP_FOLDERS = ("docs", "koito_assets", "tests", "benchmarks", "sql")
TEXT_SUFFIXES = frozenset({".py", ".md", ".sql", ".toml", ".yaml", ".yml", ".txt", ".cfg", ".ini"})
TEXT_NAMES = frozenset({"Makefile", ".ci/run"})
TRAPS_DOC = "docs/koito-reference.md"
# This file states the rules with examples and plants bad citations to test itself.
SELF = "tests/test_docs.py"

_MD_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.md)\b(?!\()")
_REPO_PATH = re.compile(r"(?<![\w./-])((?:" + "|".join(TOP_FOLDERS) + r")/[\w./-]*)(::(\w+))?")
# One item of a section list: separators, then §N(.N)* or a trap T1–T20.
_ITEM = re.compile(
    r"(?:[\s,;–-]|#|\band\b|\bor\b)*"
    r"(?:§\s?(?P<section>\d+(?:\.\d+)*)(?![\d.]*\w)|(?P<trap>\bT(?:[1-9]|1\d|20)\b))"
)
_SECTION_SIGN = re.compile(r"§")
_TRAP = re.compile(r"\bT(?:[1-9]|1\d|20)\b")
_HEADING = re.compile(r"^(#{1,6})\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)
_TRAP_DEFINITION = re.compile(r"\*\*(T\d{1,2})\*\*")
_OUTSIDE = [
    (
        re.compile(r"\.\./shared\b|(?<![\w-])shared/(?:spec|design)"),
        "points outside the repository",
    ),
    (re.compile(r"\bspec\s*§|\bspec\s+T\d|(?<![\w/])spec/[\w-]+\.md"), "cites the spec, not docs/"),
    (
        re.compile(r"\b(?:environment|field|dagster)[ -]notes\b", re.IGNORECASE),
        "cites notes outside the repository",
    ),
    (re.compile(r"(?<!docs/)(?<![\w-])design\s*§"), "cites the design without docs/design.md"),
]


def _is_text(root: Path, name: str) -> bool:
    path = Path(name)
    return (path.suffix in TEXT_SUFFIXES or name in TEXT_NAMES or path.name in TEXT_NAMES) and (
        root / name
    ).is_file()


def _gitignored_folders(root: Path) -> list[str]:
    """The folder entries of .gitignore ("benchmarks/out/", ".venv/"), for a tree without git."""
    ignore = root / ".gitignore"
    lines = ignore.read_text().splitlines() if ignore.is_file() else []
    return [line.strip() for line in lines if line.strip().endswith("/")]


def repo_files(root: Path = ROOT) -> list[str]:
    """Text files of the repository: tracked, or new and not ignored; relative to ``root``."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout.decode()
        names = {name for name in listed.split("\0") if name}
    except (OSError, subprocess.CalledProcessError):  # an unpacked archive: no git
        skipped = [folder.strip("/") for folder in _gitignored_folders(root)]
        names = {
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if not any(
                (part.startswith(".") and part != ".ci")
                or part in skipped
                or part.endswith(".egg-info")
                for part in path.relative_to(root).parent.parts
            )
        }
    return sorted(name for name in names if _is_text(root, name))


def _ignored_by_git(root: Path, paths: list[str]) -> set[str]:
    """The paths git ignores: outputs such as benchmarks/out/, which a fresh clone lacks."""
    if not paths:
        return set()
    try:
        result = subprocess.run(
            ["git", "check-ignore", "--no-index", "--stdin"],
            cwd=root,
            input="\n".join(p for path in paths for p in (path, path + "/")),
            capture_output=True,
            text=True,
        )
    except OSError:
        folders = _gitignored_folders(root)
        return {path for path in paths if any((path + "/").startswith(f) for f in folders)}
    return {path.rstrip("/") for path in result.stdout.split()}


class Documents:
    """The numbered sections (and the traps of each section) of the repository's documents."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._sections: dict[str, dict[str, str]] = {}

    def sections(self, doc: str) -> dict[str, str]:
        """Section number → its text (up to the next heading of the same or a higher level)."""
        if doc not in self._sections:
            text = (self.root / doc).read_text(encoding="utf-8")
            headings = list(_HEADING.finditer(text))
            found: dict[str, str] = {}
            for i, heading in enumerate(headings):
                level = len(heading.group(1))
                end = next(
                    (h.start() for h in headings[i + 1 :] if len(h.group(1)) <= level), len(text)
                )
                found[heading.group(2)] = text[heading.start() : end]
            self._sections[doc] = found
        return self._sections[doc]


def _prose(name: str, text: str) -> list[tuple[int, int]]:
    """Where a trap may be cited: comments and strings of Python, everything elsewhere."""
    if not name.endswith(".py"):
        return [(0, len(text))]
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.COMMENT, tokenize.STRING) or token.type == getattr(
                tokenize, "FSTRING_MIDDLE", -1
            ):
                (row0, col0), (row1, col1) = token.start, token.end
                spans.append((starts[row0 - 1] + col0, starts[row1 - 1] + col1))
    except (tokenize.TokenError, SyntaxError):
        return [(0, len(text))]
    return spans


def _citations(
    text: str, start: int, doc: str
) -> Iterator[tuple[int, int, str, str | None, str | None]]:
    """The section list from ``start`` on: (start, end, doc, section, trap) per item."""
    position, last_section = start, None
    while True:
        item = _ITEM.match(text, position)
        if item is None:
            return
        if item.group("section"):
            last_section = item.group("section")
            yield item.start("section") - 1, item.end(), doc, last_section, None
        elif last_section is None:
            return  # a trap right after a path, with no section: not part of this citation
        else:
            yield item.start("trap"), item.end(), doc, last_section, item.group("trap")
        position = item.end()


class _FileCheck:
    """The citations of one file, checked against the repository's documents."""

    def __init__(self, root: Path, documents: Documents, name: str) -> None:
        self.root, self.documents, self.name = root, documents, name
        self.text = (root / name).read_text(encoding="utf-8", errors="replace")
        self.errors: list[str] = []
        self.missing: list[tuple[str, str]] = []  # (path, where), judged later against git
        self.cited: list[tuple[int, int]] = []  # spans of § items and traps inside citations

    def where(self, offset: int) -> str:
        return f"{self.name}:{self.text.count(chr(10), 0, offset) + 1}"

    def is_cited(self, offset: int) -> bool:
        return any(begin <= offset < end for begin, end in self.cited)

    def check_list(self, start: int, doc: str) -> None:
        for begin, end, cited_doc, section, trap in _citations(self.text, start, doc):
            self.cited.append((begin, end))
            sections = self.documents.sections(cited_doc)
            if section not in sections:
                self.errors.append(f"{self.where(begin)}: {cited_doc} has no §{section}")
            elif trap and not re.search(rf"\*\*{trap}\*\*", sections[section]):
                self.errors.append(f"{self.where(begin)}: {cited_doc} §{section} defines no {trap}")

    def run(self) -> None:
        text = self.text
        for pattern, message in _OUTSIDE:
            for found in pattern.finditer(text):
                self.errors.append(f"{self.where(found.start())}: {message}: {found.group(0)!r}")

        for found in _MD_PATH.finditer(text):
            doc = found.group(1)
            if (self.root / doc).is_file():
                self.check_list(found.end(), doc)
            else:
                self.errors.append(f"{self.where(found.start())}: no file {doc} in the repository")

        for found in _REPO_PATH.finditer(text):
            path, test_name = found.group(1).rstrip(".,-"), found.group(3)
            if text[found.end() : found.end() + 1] in ("{", "<", "*", "["):
                continue  # a pattern or a placeholder (f"sql/{folder}/"), not a path
            if "NNNN" in path or path.endswith(".md"):
                continue
            if not (self.root / path).exists():
                self.missing.append((path.rstrip("/"), self.where(found.start())))
            elif test_name and not re.search(
                rf"^\s*(?:async\s+)?def {test_name}\(", (self.root / path).read_text(), re.M
            ):
                self.errors.append(f"{self.where(found.start())}: {path} defines no {test_name}")

        for sign in _SECTION_SIGN.finditer(text):
            if self.is_cited(sign.start()):
                continue
            if self.name.endswith(".md") and _ITEM.match(text, sign.start()):
                self.check_list(sign.start(), self.name)  # a bare § in a document: its own
            else:
                self.errors.append(f"{self.where(sign.start())}: § without the .md file it cites")

        if self.name != TRAPS_DOC:
            for begin, end in _prose(self.name, text):
                for trap in _TRAP.finditer(text, begin, end):
                    if not self.is_cited(trap.start()):
                        self.errors.append(
                            f"{self.where(trap.start())}: trap {trap.group(0)} without"
                            f" {TRAPS_DOC} §10 before it"
                        )


def citation_errors(root: Path, files: Iterable[str]) -> list[str]:
    """Every broken or outside citation in ``files`` (paths relative to ``root``)."""
    documents = Documents(root)
    errors: list[str] = []
    missing: list[tuple[str, str]] = []
    for name in files:
        check = _FileCheck(root, documents, name)
        check.run()
        errors += check.errors
        missing += check.missing
    ignored = _ignored_by_git(root, sorted({path for path, _ in missing}))
    errors += [
        f"{place}: no {path} in the repository" for path, place in missing if path not in ignored
    ]
    return errors


def test_every_citation_points_at_something_in_the_repository() -> None:
    errors = citation_errors(ROOT, [name for name in repo_files() if name != SELF])
    assert not errors, "broken citations:\n" + "\n".join(errors)


def test_the_documents_are_there_and_name_every_trap() -> None:
    for doc in ("docs/design.md", TRAPS_DOC, "docs/external-apis.md", "docs/performance.md"):
        assert (ROOT / doc).is_file(), doc
    traps = set(_TRAP_DEFINITION.findall(Documents(ROOT).sections(TRAPS_DOC)["10"]))
    assert traps == {f"T{n}" for n in range(1, 21)}


# -- the checker itself, on a small repository made for the test ------------------------------

SECTION = "\u00a7"  # so that this file's own text holds no broken citation
GOOD_DOCS = {
    "docs/design.md": "# Design\n\n## 5. Departures\n\n### 5.3 Hits fill\n\nSee "
    + SECTION
    + "5.\n",
    "docs/koito-reference.md": "# Reference\n\n## 10. Traps\n\n- **T12** Orphans.\n",
    "koito_assets/real.py": '"""A module."""\n\n\ndef test_real():\n    pass\n',
}


def _tiny_repo(tmp_path: Path, extra: dict[str, str]) -> list[str]:
    for name, text in {**GOOD_DOCS, **extra}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    return sorted({**GOOD_DOCS, **extra})


@pytest.mark.parametrize(
    "line",
    [
        f"x = 1  # see docs/design.md {SECTION}5.3",
        f"x = 1  # docs/design.md {SECTION}5\u2013{SECTION}5.3, {SECTION}5 and {SECTION}5.3",
        f"x = 1  # docs/design.md {SECTION}5.3 and {SECTION}5",
        f"x = 1  # docs/koito-reference.md {SECTION}10 T12",
        'T1 = "33333333-0000-4000-8000-000000000001"  # a name, not a trap',
        'WHEN = "2024-03-02T18:04:11Z"',
        "x = 1  # see koito_assets/real.py and koito_assets/real.py::test_real",
        "x = 1  # written to benchmarks/out/latest.json, an ignored output",
        "x = 1  # our migrations are sql/koito_import/NNNN_name.sql",
    ],
)
def test_good_citations_pass(tmp_path: Path, line: str) -> None:
    files = _tiny_repo(
        tmp_path, {"koito_assets/mod.py": line + "\n", ".gitignore": "benchmarks/out/\n"}
    )
    assert citation_errors(tmp_path, files) == []


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        (f"# see design.md {SECTION}5.3", "no file design.md"),
        (f"# design {SECTION}5.8", "without docs/design.md"),
        (f"# docs/design.md {SECTION}5.9", f"has no {SECTION}5.9"),
        (f"# docs/design.md {SECTION}5.3, {SECTION}7", f"has no {SECTION}7"),
        (f"# docs/missing.md {SECTION}1", "no file docs/missing.md"),
        ("# ../" + "shared/design.md", "outside the repository"),
        (f"# spec {SECTION}2.4", "cites the spec"),
        ("# (spec/koito-reference" + ".md)", "cites the spec"),
        (f"# environment notes {SECTION}1d", "notes outside"),
        ("# Koito deletes orphans (trap T12)", "trap T12 without"),
        ("# Koito does (T8)", "trap T8 without"),
        (f"# docs/koito-reference.md {SECTION}9 T12", f"has no {SECTION}9"),
        (f"# docs/koito-reference.md {SECTION}10 T3", "defines no T3"),
        (f"# loose {SECTION}2.4", f"{SECTION} without the .md file"),
        ("# see koito_assets/nowhere.py", "no koito_assets/nowhere.py"),
        ("# see koito_assets/real.py::test_missing", "defines no test_missing"),
    ],
)
def test_a_planted_bad_citation_is_caught(tmp_path: Path, line: str, complaint: str) -> None:
    files = _tiny_repo(tmp_path, {"koito_assets/mod.py": line + "\nx = 1\n"})
    errors = citation_errors(tmp_path, files)
    assert errors and all(e.startswith("koito_assets/mod.py:1: ") for e in errors), errors
    assert any(complaint in e for e in errors), errors


def test_bad_citations_in_sql_and_documents_are_caught(tmp_path: Path) -> None:
    files = _tiny_repo(
        tmp_path,
        {
            "sql/0001_x.sql": f"-- the cache (spec {SECTION}1)\nSELECT 1;\n",
            "docs/other.md": (
                f"# Other\n\n## 1. One\n\nAs in {SECTION}2 and docs/design.md {SECTION}6.\n"
            ),
        },
    )
    errors = citation_errors(tmp_path, files)
    assert any(e.startswith("sql/0001_x.sql:1: ") and "spec" in e for e in errors), errors
    assert any(
        e.startswith("docs/other.md:5: ") and f"other.md has no {SECTION}2" in e for e in errors
    )
    assert any(
        e.startswith("docs/other.md:5: ") and f"design.md has no {SECTION}6" in e for e in errors
    )

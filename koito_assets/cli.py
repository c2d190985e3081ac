"""``koito-import``: the command line.

Exit codes, the same for every command: 0 done; 1 an unexpected failure; 2 a file could not be
read (nothing was written for it); 3 the database is unreachable; 4 the database was refused
(not Koito v0.1.x; or, for merge-into-sqlite, a Koito SQLite database in use or of an unknown
version, left untouched). Errors are one line on stderr, never a traceback (``python -X dev``
shows one for an unexpected failure), never a password.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from koito_assets.settings import SettingsError, read_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNREADABLE = 2
EXIT_UNREACHABLE = 3
EXIT_REFUSED = 4


def _cmd_migrate(args: argparse.Namespace) -> int:
    from koito_assets.db.bootstrap import prepare_database
    from koito_assets.db.connection import mask_url, open_database

    settings = read_settings()
    with open_database(settings) as url:
        report = prepare_database(url, settings)
        what = []
        if report.koito_applied:
            what.append(f"Koito migrations {report.koito_applied}")
        if report.import_applied:
            what.append(f"koito_import migrations {report.import_applied}")
        if report.created_default_user:
            what.append(f"default user {settings.default_username!r}")
        print(f"{mask_url(url)}: " + ("applied " + ", ".join(what) if what else "up to date"))
    return EXIT_OK


def _cmd_db_url(args: argparse.Namespace) -> int:
    from koito_assets.db.bootstrap import prepare_database
    from koito_assets.db.connection import EMBEDDED_KOITO_DB, ensure_database
    from koito_assets.db.embedded import EmbeddedServer

    settings = read_settings()
    if settings.database_url:
        prepare_database(settings.database_url, settings)
        print(settings.database_url)
        return EXIT_OK
    server = EmbeddedServer(settings.embedded_data_dir)
    server.start()
    ensure_database(server.url(), EMBEDDED_KOITO_DB)
    url = server.url(EMBEDDED_KOITO_DB)
    prepare_database(url, settings)
    server.detach()  # keep it running for psql; `koito-import db-stop` stops it
    print(url)
    print(
        "koito-import: the embedded server keeps running; `koito-import db-stop` stops it",
        file=sys.stderr,
    )
    return EXIT_OK


def _cmd_db_stop(args: argparse.Namespace) -> int:
    from koito_assets.db.embedded import EmbeddedServer

    settings = read_settings()
    if settings.database_url:
        print(
            "koito-import: KOITO_DATABASE_URL is set; there is no embedded server to stop",
            file=sys.stderr,
        )
        return EXIT_OK
    server = EmbeddedServer(settings.embedded_data_dir)
    server.start()
    stopped = server.stop()
    print(
        "embedded server stopped"
        if stopped
        else "embedded server still in use by another process; left running"
    )
    return EXIT_OK


def _cmd_parse(args: argparse.Namespace) -> int:
    from koito_assets.sources.summary import run_parse_command

    return run_parse_command(args.path, as_json=args.json, settings=read_settings())


def _cmd_import(args: argparse.Namespace) -> int:
    from koito_assets.commands.import_files import run_import_command

    return run_import_command(args.paths, as_json=args.json, settings=read_settings())


def _cmd_images(args: argparse.Namespace) -> int:
    from koito_assets.commands.images import run_images_command

    return run_images_command(as_json=args.json, download=args.download, settings=read_settings())


def _cmd_merge_into_sqlite(args: argparse.Namespace) -> int:
    from koito_assets.commands.merge_into_sqlite import run_merge_command

    return run_merge_command(
        args.koito_db,
        since=args.since,
        until=args.until,
        file_key=args.file,
        backup=not args.no_backup,
        as_json=args.json,
        settings=read_settings(),
    )


def _cmd_export(args: argparse.Namespace) -> int:
    from koito_assets.commands.export import run_export_command

    return run_export_command(
        args.out,
        since=args.since,
        until=args.until,
        file_key=args.file,
        as_json=args.json,
        settings=read_settings(),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="koito-import",
        description="Import listening history exports into a Koito database on PostgreSQL.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_: str):
        sub = commands.add_parser(name, help=help_, description=help_)
        sub.set_defaults(handler=handler)
        return sub

    add("migrate", _cmd_migrate, "bring the database to Koito v0.1.x plus koito_import, then exit")
    add(
        "db-url",
        _cmd_db_url,
        "print the database URL in use (starts the embedded server if needed)",
    )
    add("db-stop", _cmd_db_stop, "stop the embedded server unless another process is using it")
    parse = add(
        "parse", _cmd_parse, "dry run: read an export file and report what would be imported"
    )
    parse.add_argument("path")
    parse.add_argument("--json", action="store_true", help="print one JSON object")
    imp = add("import", _cmd_import, "import export files through the asset graph, in-process")
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.add_argument("--json", action="store_true", help="print one JSON object")
    images = add("images", _cmd_images, "run the image backfill once")
    images.add_argument("--json", action="store_true", help="print one JSON object")
    images.add_argument("--download", action="store_true", help="also download into image_cache/")
    export = add(
        "export",
        _cmd_export,
        "write a Koito export file that a running Koito >= 0.3 imports from its import/ folder",
    )
    export.add_argument("out", metavar="OUT", help="the file, or a folder to name it in")
    _add_listen_selection(export)
    export.add_argument("--json", action="store_true", help="print one JSON object")
    merge = add(
        "merge-into-sqlite",
        _cmd_merge_into_sqlite,
        "merge what we imported into a Koito >= 0.3 SQLite database (stop Koito first)",
    )
    merge.add_argument("koito_db", metavar="KOITO_DB", help="Koito's database file, koito.db")
    _add_listen_selection(merge)
    merge.add_argument(
        "--no-backup", action="store_true", help="skip the backup koito.db.before-import-<time>"
    )
    merge.add_argument("--json", action="store_true", help="print the report as one JSON object")
    return parser


def _add_listen_selection(parser: argparse.ArgumentParser) -> None:
    """--since / --until / --file: which of our listens an export or a merge takes."""
    parser.add_argument(
        "--since", type=_time_bound(False), help="first moment (ISO 8601, UTC by default)"
    )
    parser.add_argument(
        "--until", type=_time_bound(True), help="last moment, inclusive (a date: its whole day)"
    )
    parser.add_argument("--file", metavar="NAME", help="only the listens this import file added")


def _time_bound(end_of_day: bool):
    from koito_assets.commands.time_bounds import time_bound

    return time_bound(end_of_day)


def main(argv: Sequence[str] | None = None) -> int:
    from koito_assets.db.connection import DatabaseUnreachable
    from koito_assets.db.migrate import MigrationRefused
    from koito_assets.db.users import NoImportUser

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except DatabaseUnreachable as exc:
        print(f"koito-import: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except (MigrationRefused, NoImportUser) as exc:
        print(f"koito-import: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except SettingsError as exc:
        print(f"koito-import: configuration: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("koito-import: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # Bad input never gets here (it has its own messages and exit codes); a bug or an
        # unexpected server answer still gets one line. `python -X dev` shows the traceback.
        if sys.flags.dev_mode:
            raise
        reason = " ".join(str(exc).split())[:500]
        print(f"koito-import: unexpected error ({type(exc).__name__}): {reason}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())

"""``koito-import``: the command line.

Exit codes, the same for every command: 0 done; 1 an unexpected failure; 2 a file could not be
read (nothing was written for it); 3 the database is unreachable; 4 the database was refused
(not Koito v0.1.x). Errors are one line on stderr, never a traceback (``python -X dev`` shows
one for an unexpected failure), never a password.
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
    return parser


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

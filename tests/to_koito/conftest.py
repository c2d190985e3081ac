from tests.to_koito.sqlite_fixtures import import_file, make_db, second_db_url  # noqa: F401

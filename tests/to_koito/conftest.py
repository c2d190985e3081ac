from tests.to_koito.helpers import config_dir, settings  # noqa: F401  (fixtures)

from tests.to_koito.helpers import config_dir  # noqa: F401  (a fixture)

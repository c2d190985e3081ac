from pathlib import Path

import pytest

from koito_assets.settings_resource import SettingsResource
from tests.to_koito.helpers import isolated_settings
from tests.to_koito.sqlite_fixtures import import_file, make_db, second_db_url  # noqa: F401


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "koito"


@pytest.fixture
def settings(config_dir: Path) -> SettingsResource:
    return isolated_settings(config_dir)

"""The settings as a Dagster resource, so assets, checks, sensors and schedules take them as a
parameter that the UI shows and a run or a test can override."""

from __future__ import annotations

import dagster as dg
from pydantic import PrivateAttr

from koito_assets.settings import Settings, read_settings


class SettingsResource(dg.ConfigurableResource):
    """The project's settings: the process environment, with ``overrides`` winning.

    ``overrides`` maps ``KOITO_*`` variable names to values (for example ``KOITO_CONFIG_DIR``);
    secrets belong in the environment, not here, because resource config is shown in the UI.
    """

    overrides: dict[str, str] = {}
    _value: Settings | None = PrivateAttr(default=None)

    @property
    def value(self) -> Settings:
        """The settings, read once for this resource."""
        if self._value is None:
            self._value = read_settings(self.overrides)
        return self._value

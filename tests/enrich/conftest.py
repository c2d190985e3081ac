"""Shared fixtures for the enrichment tests (policies live in tests.enrich.policies)."""

from __future__ import annotations

import pytest

from koito_assets.enrich.http import HttpService
from koito_assets.enrich.images.validate import ImageValidator
from tests.enrich.policies import FAST, FAST_RATE


@pytest.fixture
def images() -> ImageValidator:
    """An image checker for CDN URLs, tuned like FAST."""
    service = HttpService(
        "image host", None, rate_per_s=FAST_RATE, burst=50, policy=FAST, accept=None
    )
    return ImageValidator(service)

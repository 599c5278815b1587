"""The messaging tests read refusals in English (the source language)."""

from collections.abc import Iterator

import pytest

from app.core.i18n import locale_scope


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with locale_scope("en"):
        yield

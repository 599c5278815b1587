"""A worker process that dies at once, for the supervisor's tests (a module of its own,
so that a spawned process imports little)."""

from __future__ import annotations

import sys
from typing import Any


def die_at_once(**_kwargs: Any) -> None:
    sys.exit(3)

"""The back office for the election office, administrators and coordinators."""

from quart import Blueprint

blueprint = Blueprint("planning", __name__)

from app.planning import (  # noqa: E402, F401
    admin,
    elections,
    home,
    people,
    premises,
    registers_io,
    settings_pages,
)

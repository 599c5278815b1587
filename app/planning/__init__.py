"""The back office for the election office, administrators and coordinators."""

from quart import Blueprint

blueprint = Blueprint("planning", __name__)

from app.planning import admin, elections, home, people, premises, registers_io  # noqa: E402, F401

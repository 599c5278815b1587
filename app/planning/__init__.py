"""The back office for the election office, administrators and coordinators."""

from quart import Blueprint

blueprint = Blueprint("planning", __name__)

from app.planning import (  # noqa: E402, F401
    admin,
    autostaff,
    course_reports,
    courses,
    elections,
    home,
    inbox,
    people,
    premises,
    public_site,
    registers_io,
    settings_pages,
    staffing,
    staffing_reports,
)

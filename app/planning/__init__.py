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
    ops_dashboard,
    ops_exports,
    ops_fragments,
    people,
    posters,
    premises,
    public_site,
    push,
    registers_io,
    settings_pages,
    staffing,
    staffing_reports,
)

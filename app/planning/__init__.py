"""The back office for the election office, administrators and coordinators."""

from quart import Blueprint

from app.core.error_pages import answer_refusal
from app.core.errors import DomainError
from app.planning import (
    admin,
    autostaff,
    candidates,
    course_reports,
    course_sessions,
    courses,
    dispatches,
    documents,
    duplicates,
    elections,
    erasure,
    home,
    inbox,
    mailing,
    material_assets,
    material_logistics,
    material_needs,
    material_reports,
    materials,
    message_templates,
    messaging_sender,
    ops_dashboard,
    ops_exports,
    ops_fragments,
    ops_messages,
    pay,
    payroll,
    people,
    person_staffing,
    population,
    posters,
    premises,
    public_site,
    push,
    registers_io,
    reminders,
    roll_call,
    settings_pages,
    sign_in_security,
    sms_replies,
    staffing,
    staffing_reports,
    statistics,
    working_rules,
)

#: The modules whose views make up the back office, each with its ``routes``.
VIEW_MODULES = (
    admin,
    autostaff,
    candidates,
    course_reports,
    courses,
    course_sessions,
    roll_call,
    dispatches,
    documents,
    duplicates,
    elections,
    erasure,
    home,
    inbox,
    messaging_sender,
    mailing,
    material_assets,
    material_logistics,
    materials,
    material_needs,
    material_reports,
    message_templates,
    ops_dashboard,
    ops_exports,
    pay,
    payroll,
    ops_messages,
    people,
    person_staffing,
    population,
    posters,
    premises,
    public_site,
    push,
    registers_io,
    reminders,
    settings_pages,
    sign_in_security,
    sms_replies,
    staffing,
    staffing_reports,
    statistics,
    working_rules,
)


def create_blueprint() -> Blueprint:
    """The back office with every view module's routes, under the one name ``planning``
    (endpoints read ``planning.<view>``); also what the live dashboard draws for the
    election-day events its socket sends."""
    blueprint = Blueprint("planning", __name__)
    for module in VIEW_MODULES:
        module.routes.register_on(blueprint)
    ops_fragments.register()
    # The face's one answer to a refused action (the rule: app.core.errors).
    blueprint.register_error_handler(DomainError, answer_refusal)
    return blueprint

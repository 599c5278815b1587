"""The clerk portal: mobile first, for poll clerks and station leads."""

from quart import Blueprint, current_app

from app.core.error_pages import answer_refusal
from app.core.errors import DomainError
from app.portal import (
    calendar,
    courses,
    deliveries,
    election_day,
    home,
    install,
    pay,
    profile,
    push,
    station_live,
    team,
    undertaking,
)

#: The modules whose views make up the portal, each with its ``routes``.
VIEW_MODULES = (
    calendar,
    courses,
    deliveries,
    election_day,
    home,
    install,
    pay,
    profile,
    push,
    team,
    undertaking,
)


async def _portal_context() -> dict[str, object]:
    """Which portal pages exist, so the menu shows only what this build has."""
    return {"portal_endpoints": set(current_app.view_functions)}


def create_blueprint() -> Blueprint:
    """The portal with every view module's routes, under the one name ``portal``."""
    blueprint = Blueprint("portal", __name__)
    blueprint.context_processor(_portal_context)
    for module in VIEW_MODULES:
        module.routes.register_on(blueprint)
    # What a station's socket draws for the clerks' election-day page.
    station_live.register()
    # The face's one answer to a refused action (the rule: app.core.errors).
    blueprint.register_error_handler(DomainError, answer_refusal)
    return blueprint

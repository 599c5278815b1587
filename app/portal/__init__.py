"""The clerk portal: mobile first, for poll clerks and station leads."""

from quart import Blueprint

blueprint = Blueprint("portal", __name__)


@blueprint.context_processor
async def _portal_context() -> dict[str, object]:
    """Which portal pages exist, so the menu shows only what this build has."""
    from quart import current_app

    return {"portal_endpoints": set(current_app.view_functions)}


from app.portal import (  # noqa: E402, F401
    calendar,
    courses,
    election_day,
    home,
    install,
    profile,
    push,
    team,
)

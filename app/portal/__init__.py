"""The clerk portal: mobile first, for poll clerks and station leads."""

from quart import Blueprint

blueprint = Blueprint("portal", __name__)

from app.portal import home  # noqa: E402, F401

"""The public face: a municipality's information pages and forms, and signing in."""

from quart import Blueprint

from app.core.error_pages import answer_refusal
from app.core.errors import DomainError
from app.public import accounts, offers, second_factor, site


def create_accounts_blueprint() -> Blueprint:
    """Signing in and out, password reset, language: the pages outside any municipality."""
    blueprint = Blueprint("accounts", __name__)
    for module in (accounts, second_factor):
        module.routes.register_on(blueprint)
    # The face's one answer to a refused action (the rule: app.core.errors).
    blueprint.register_error_handler(DomainError, answer_refusal)
    return blueprint


def create_site_blueprint() -> Blueprint:
    """A municipality's public site, with the answers to offers mailed to applicants,
    under the one name ``public``."""
    blueprint = Blueprint("public", __name__)
    for module in (site, offers):
        module.routes.register_on(blueprint)
    blueprint.register_error_handler(DomainError, answer_refusal)
    return blueprint

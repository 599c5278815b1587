"""The public face: a municipality's information pages and forms, and signing in."""

from app.public import offers as _offers  # noqa: F401  (routes on the site blueprint)
from app.public.accounts import blueprint as accounts_blueprint
from app.public.site import blueprint as site_blueprint

__all__ = ["accounts_blueprint", "site_blueprint"]

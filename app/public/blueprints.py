"""The public face's two blueprints: the municipality's site and signing in.

They live apart from their views so that ``app.public.refusals`` can register the face's
one refusal handler on them while the views import ``on_refusal`` from it (as the other
faces' views do with the blueprint in their package).
"""

from __future__ import annotations

from quart import Blueprint

#: A municipality's public site, at /<tenant>/.
site_blueprint = Blueprint("public", __name__)
#: Signing in and out, password reset, language and choosing a municipality, at /.
accounts_blueprint = Blueprint("accounts", __name__)

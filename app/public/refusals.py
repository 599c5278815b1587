"""The public face's one handler for refused actions, on both its blueprints.

Views import ``on_refusal`` from here, which also registers the handler on the
blueprints: a view that says what to show on a refusal always has it answered.
The rule itself is in ``app.core.errors``.
"""

from __future__ import annotations

from app.core.error_pages import answer_refusal
from app.core.errors import DomainError
from app.core.web import on_refusal
from app.public.blueprints import accounts_blueprint, site_blueprint

site_blueprint.register_error_handler(DomainError, answer_refusal)
accounts_blueprint.register_error_handler(DomainError, answer_refusal)

__all__ = ["on_refusal"]

"""The JSON API at /api/v1: bearer tokens per tenant, OpenAPI, problem documents."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import quart_schema.conversion
from pydantic import BaseModel, Field, TypeAdapter
from quart import Blueprint, Quart, Response, current_app, g, request
from quart_schema import (
    HttpSecurityScheme,
    Info,
    QuartSchema,
    RequestSchemaValidationError,
    tag,
    validate_querystring,
    validate_response,
)
from quart_schema.validation import RequestHeadersValidationError

from app.api import (
    applications,
    checkins,
    courses,
    dispatches,
    gateway,
    materials,
    messaging,
    pay,
    realtime,
    registers,
    requests,
    staffing,
)
from app.api.openapi import API_PREFIX, OPENAPI_PATH, ApiIdConverter, StemmaOpenAPIProvider
from app.api.schema import QueryId, problems
from app.api.scopes import expired_token, missing_scope, required_scope
from app.core.accounts.api_tokens import authenticate_api_token
from app.core.audit_search import AuditFilter, audit_entries_before
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.models import Tenant, utcnow
from app.core.problems import ApiError, problem_response
from app.core.routes import Routes
from app.core.tenant_gate import enter_request_tenant
from app.core.validation import FieldErrors
from app.core.web import db
from app.domain.registers.merging import person_history

#: The modules of the API's resources, each with its ``routes``.
RESOURCE_MODULES = (
    applications,
    checkins,
    courses,
    dispatches,
    materials,
    messaging,
    pay,
    realtime,
    registers,
    staffing,
)

#: This module's own: the token check, the problem documents, the tenant and its audit log.
routes = Routes()

#: Endpoints a signed-in browser may also call with its session cookie instead of a
#: bearer token; the view itself checks the user, their tenant and the CSRF token.
SESSION_ENDPOINTS = frozenset({"api.api_check_in"})


@functools.lru_cache(maxsize=256)
def _type_adapter_of(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def shared_type_adapter(kind: Any, *args: Any, **kwargs: Any) -> TypeAdapter[Any]:
    """One pydantic ``TypeAdapter`` per type, made once and kept: an adapter is
    immutable and safe to share. quart-schema makes a new one for every request body
    and every response it checks, some 3 % of the CPU of a process serving check-ins
    and reconnecting sockets (bench --only realtime, the kill)."""
    if args or kwargs:
        return TypeAdapter(kind, *args, **kwargs)
    try:
        return _type_adapter_of(kind)
    except TypeError:  # an unhashable type: made each time, as before
        return TypeAdapter(kind)


def register_api(app: Quart) -> None:
    conversion: Any = quart_schema.conversion
    conversion.TypeAdapter = shared_type_adapter
    app.url_map.converters["id"] = ApiIdConverter
    QuartSchema(
        app,
        openapi_path=OPENAPI_PATH,
        redoc_ui_path=None,
        scalar_ui_path=None,
        swagger_ui_path=None,
        info=Info(title="Stemma API", version="1"),
        security_schemes={"bearer": HttpSecurityScheme(scheme="bearer", bearer_format="opaque")},
        security=[{"bearer": []}],
        openapi_provider_class=StemmaOpenAPIProvider,
    )
    app.register_blueprint(create_blueprint())
    # The SMS gateway's callbacks: under /api/ (no CSRF), outside the token-checked API.
    app.register_blueprint(gateway.create_blueprint())


@routes.before_request
async def _authenticate() -> Response | None:
    """Every API call names its tenant through its token; nothing else sets it."""
    if request.path == f"{API_PREFIX}/openapi.json":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        if request.endpoint in SESSION_ENDPOINTS and g.get("user") is not None:
            return None
        return _unauthorized()
    token = await authenticate_api_token(db(), secret.strip())
    if token is None:
        return _unauthorized()
    if token.expired(utcnow()):
        return expired_token()
    view = current_app.view_functions.get(request.endpoint or "")
    scope = required_scope(request.endpoint or "", view, request.method) if view else None
    if scope is not None and scope not in token.scopes:
        return missing_scope(scope)
    g.api_token = token
    enter_request_tenant(token.tenant)
    return None


def _unauthorized() -> Response:
    response = problem_response(401, _("A valid API token is required."))
    response.headers["WWW-Authenticate"] = 'Bearer realm="stemma"'
    return response


@routes.errorhandler(ApiError)
async def _api_error(error: ApiError) -> Response:
    return problem_response(error.status, error.title, error.detail, **error.extra)


@routes.errorhandler(DomainError)
async def _domain_error(error: DomainError) -> Response:
    extra: dict[str, Any] = {"field": error.field} if error.field else {}
    if isinstance(error, FieldErrors):
        extra = {"errors": [{"field": f, "message": m} for f, m in error.errors.items()]}
    return problem_response(
        error.status,
        error.message if not extra.get("errors") else _("The request is not valid."),
        **extra,
    )


@routes.errorhandler(RequestSchemaValidationError)
async def _validation_error(error: RequestSchemaValidationError) -> Response:
    errors: list[dict[str, Any]] = getattr(error.validation_error, "errors", lambda: [])()
    in_headers = isinstance(error, RequestHeadersValidationError)
    return problem_response(
        400,
        _("The request is not valid."),
        errors=[
            {"field": _field_name(item["loc"], in_headers), "message": item["msg"]}
            for item in errors
        ],
    )


def _field_name(location: tuple[Any, ...], in_headers: bool) -> str:
    """``elections.0.days`` in a body; a header as it is spelled (``Idempotency-Key``)."""
    if in_headers:
        return "-".join(part.capitalize() for part in str(location[0]).split("_"))
    return ".".join(str(part) for part in location)


# --- endpoints --------------------------------------------------------------------------


class TenantOut(BaseModel):
    slug: str
    name: str
    locale: str
    timezone: str


@routes.get("/tenant")
@tag(["tenant"])
@validate_response(TenantOut)
async def get_tenant() -> TenantOut:
    """The municipality this token belongs to."""
    tenant: Tenant = g.tenant
    return TenantOut(
        slug=tenant.slug, name=tenant.name, locale=tenant.locale, timezone=tenant.timezone
    )


class AuditQuery(BaseModel):
    code: str | None = Field(None, max_length=100)
    person_id: QueryId | None = Field(
        None,
        description="Only the entries about this person (the register's id, never an"
        " identity number), with those written under records merged into them; an"
        " unknown person is 404",
    )
    before_id: QueryId | None = None
    limit: int = Field(100, ge=1, le=500)


class AuditEntryOut(BaseModel):
    id: int
    created_at: datetime
    actor: str
    code: str
    object_type: str | None
    object_id: str | None
    data: dict[str, object]


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_before_id: int | None


@routes.get("/audit-entries")
@tag(["audit"])
@problems(404)
@validate_querystring(AuditQuery)
@validate_response(AuditPage)
async def list_audit_entries(query_args: AuditQuery) -> AuditPage:
    """The tenant's audit log, newest first, of everything or of one person (as the
    back office's log filtered to a person); page with ``before_id``."""
    audit_filter = AuditFilter(code=query_args.code)
    if query_args.person_id is not None:
        audit_filter = await person_history(db(), query_args.person_id, audit_filter)
    rows = await audit_entries_before(db(), audit_filter, query_args.before_id, query_args.limit)
    items = [
        AuditEntryOut(
            id=row.id,
            created_at=row.created_at,
            actor=row.actor_label,
            code=row.code,
            object_type=row.object_type,
            object_id=row.object_id,
            data=row.data,
        )
        for row in rows
    ]
    next_id = rows[-1].id if len(rows) == query_args.limit else None
    return AuditPage(items=items, next_before_id=next_id)


def create_blueprint() -> Blueprint:
    """The API under ``/api/v1``: the token check, the problem documents, and the
    endpoints of this module and of every resource module, under the one name ``api``."""
    blueprint = Blueprint("api", __name__, url_prefix=API_PREFIX)
    routes.register_on(blueprint)
    # After the token check: an unknown token is told so before anything else.
    requests.routes.register_on(blueprint)
    for module in RESOURCE_MODULES:
        module.routes.register_on(blueprint)
    return blueprint

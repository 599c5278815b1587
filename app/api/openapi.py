"""The API's OpenAPI document: only the JSON API, with every answer a route can give.

quart-schema documents a route's own successful answers; this adds what the document
would otherwise leave out, so that a client (and schemathesis) can rely on it: the
bounds of path ids, the problem documents (``application/problem+json``) each route
may answer with, and the empty 204 answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quart_schema.openapi import OpenAPIProvider
from quart_schema.validation import QUART_SCHEMA_REQUEST_ATTRIBUTE
from werkzeug.routing import Rule
from werkzeug.routing.converters import BaseConverter, IntegerConverter

from app.api.schema import (
    PROBLEM_DESCRIPTIONS,
    QUART_SCHEMA_PROBLEMS_ATTRIBUTE,
    Problem,
)
from app.api.scopes import document_access, required_scope
from app.core.validation import MAX_ID

API_PREFIX = "/api/v1"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"

#: Routes answering with no body (``@no_content``).
QUART_SCHEMA_NO_CONTENT_ATTRIBUTE = "_stemma_no_content"

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROBLEM_CONTENT_TYPE = "application/problem+json"
COMPONENTS_REF = "#/components/schemas/{model}"


def no_content[F](func: F) -> F:
    """Document a route's 204 answer (no body)."""
    setattr(func, QUART_SCHEMA_NO_CONTENT_ATTRIBUTE, True)
    return func


def problem_components() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template=COMPONENTS_REF, mode="serialization")
    definitions = schema.pop("$defs", {})
    return {**definitions, "Problem": schema}


def problem_response_object(status: int) -> dict[str, Any]:
    return {
        "description": PROBLEM_DESCRIPTIONS[status],
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


class ApiIdConverter(IntegerConverter):
    """``<id:...>`` in API paths: any run of digits, so that a number past the columns
    reaches the API's own check (``app.api.requests``) and answers 404 as the document
    says. The app's bounded ``int`` would leave such a path to no rule, and werkzeug
    answers 405 when another rule of the same shape has other methods."""


class StemmaOpenAPIProvider(OpenAPIProvider):
    """Documents only the JSON API, not the HTML faces."""

    def generate_rules(self) -> Iterable[Rule]:
        for rule in super().generate_rules():
            if rule.rule.startswith(API_PREFIX + "/") and rule.rule != OPENAPI_PATH:
                yield rule

    def build_path_parameter(self, name: str, converter: BaseConverter) -> dict[str, Any]:
        parameter = super().build_path_parameter(name, converter)
        if isinstance(converter, IntegerConverter):
            # Every integer in an API path is an id of a 32-bit column.
            parameter["schema"] = {
                "type": "integer",
                "format": "int32",
                "minimum": 1,
                "maximum": MAX_ID,
            }
        return parameter

    def build_headers_parameters(
        self, model: type[Any]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        parameters, definitions = super().build_headers_parameters(model)
        required = {name for name, field in model.model_fields.items() if field.is_required()}
        for parameter in parameters:
            if parameter["name"].replace("-", "_") in required:
                parameter["required"] = True
        return parameters, definitions

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        func = self._app.view_functions[rule.endpoint]
        statuses = {400, 401, *getattr(func, QUART_SCHEMA_PROBLEMS_ATTRIBUTE, ())}
        if rule.arguments:
            statuses.add(404)
        if getattr(func, QUART_SCHEMA_REQUEST_ATTRIBUTE, None) is not None:
            statuses.add(413)
        # Every write goes through a service whose refusal answers 422, and any
        # request with text that cannot be stored (a NUL) is refused with 422 too.
        statuses.add(422)
        for operations in paths.values():
            for method, operation in operations.items():
                # The 401 and, where a scope is asked, the 403 and the scope.
                document_access(operation, required_scope(rule.endpoint, func, method.upper()))
                if "requestBody" in operation:
                    operation["requestBody"]["required"] = True
                responses = operation["responses"]
                if getattr(func, QUART_SCHEMA_NO_CONTENT_ATTRIBUTE, False):
                    responses[204] = {"description": "Done; no content"}
                for status in sorted(statuses):
                    responses[status] = problem_response_object(status)
        components.update(problem_components())
        return paths, components

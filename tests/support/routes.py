"""The app's routes as the sweeping tests see them: every tenant route with its
permission (the isolation walker), every route of the HTML faces, and the forms a page
draws (the form fuzzer)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from quart import Quart
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

SAMPLE_VALUES = {"int": "1", "default": "x", "string": "x"}

#: The blueprints of the HTML faces (the API has its own sweep over its OpenAPI document).
HTML_FACES = ("planning", "portal", "public", "accounts")

_VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>")


def sample_path(rule: Rule, tenant: str = "lund", value: str | None = None) -> str:
    """The rule's path in ``tenant``, each variable filled with a sample (or ``value``)."""
    path = rule.rule.replace("<tenant>", tenant)
    return _VARIABLE.sub(
        lambda m: value or SAMPLE_VALUES.get(m.group(1) or "default", "1"),
        path,
    )


def methods_of(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def required_permission(app: Quart, rule: Rule) -> str | None:
    return getattr(app.view_functions[rule.endpoint], "required_permission", None)


def tenant_routes(app: Quart) -> list[tuple[str, str, str]]:
    """(method, path in tenant 'lund', permission) for every protected tenant route."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "<tenant>" not in rule.rule:
            continue
        permission = required_permission(app, rule)
        if permission is None:
            continue
        path = sample_path(rule)
        for method in methods_of(rule):
            routes.append((method, path, permission))
    return routes


@dataclass(frozen=True)
class FaceRoute:
    """One method of one route of an HTML face."""

    method: str
    rule: Rule
    face: str
    permission: str | None

    @property
    def endpoint(self) -> str:
        return self.rule.endpoint

    @property
    def has_int_variable(self) -> bool:
        return "<int:" in self.rule.rule


def face_routes(app: Quart) -> list[FaceRoute]:
    """Every method of every route of the HTML faces, in url_map order."""
    routes = []
    for rule in app.url_map.iter_rules():
        face = rule.endpoint.split(".")[0]
        if face not in HTML_FACES:
            continue
        for method in methods_of(rule):
            routes.append(FaceRoute(method, rule, face, required_permission(app, rule)))
    return routes


@dataclass
class FoundForm:
    """A form (or an element posting with HTMX) found on a page: where it posts to and
    the names of its fields."""

    action: str
    names: set[str] = field(default_factory=set)


class _FormFinder(HTMLParser):
    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.forms: list[FoundForm] = []
        self._open: FoundForm | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        posts_to = values.get("hx-post")
        if tag == "form":
            method = values.get("method", "get").lower()
            action = posts_to or (values.get("action") if method == "post" else None)
            if posts_to or method == "post":
                self._open = FoundForm(action or self.page_path)
                self.forms.append(self._open)
            return
        if posts_to:
            found = FoundForm(posts_to)
            if values.get("name"):
                found.names.add(values["name"])
            self.forms.append(found)
        named = tag in ("input", "select", "textarea", "button") and values.get("name")
        if named and self._open is not None:
            self._open.names.add(values["name"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def forms_on(page_path: str, html: str) -> list[FoundForm]:
    """The posting forms of a page, each with its action (a path) and field names."""
    finder = _FormFinder(page_path)
    finder.feed(html)
    return finder.forms


def post_endpoint(app: Quart, action: str) -> tuple[str, str] | None:
    """(endpoint, path) that a form's action posts to, or None when it matches none."""
    path = urlsplit(action).path
    try:
        endpoint, _args = app.url_map.bind("localhost").match(path, method="POST")
    except HTTPException:
        return None
    return str(endpoint), path

"""The sandbox the office's templates are rendered in, the check made when one is
saved, and the rendering of a message from its current source.

A template may only name merge fields, test them (``{% if station.name %}``) and pass
them through a few text filters: no calls, no subscripts, no attributes beyond the
fields, no globals. The check refuses anything else when the template is saved,
with the line; rendering runs in Jinja's immutable sandbox with strict undefined
values, so a default file or an old version is held to the same rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateSyntaxError,
    nodes,
)
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _
from app.domain.messaging import MessagingError
from app.domain.messaging.fields import field_names
from app.domain.messaging.sources import MESSAGE_TEMPLATES, current_source

#: The filters a template may use: text only, nothing that reaches outside the value.
FILTERS = ("upper", "lower", "capitalize", "title", "trim", "default")

_ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.If,
    nodes.Name,
    nodes.Getattr,
    nodes.Filter,
    nodes.Const,
    nodes.Not,
    nodes.And,
    nodes.Or,
    nodes.CondExpr,
)


def _environment() -> ImmutableSandboxedEnvironment:
    environment = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    environment.globals.clear()
    environment.filters = {name: environment.filters[name] for name in FILTERS}
    environment.tests = {name: environment.tests[name] for name in ("defined", "undefined", "none")}
    return environment


_sandbox = _environment()


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _dotted(node: nodes.Node) -> str | None:
    """``person.first_name`` for a chain of attributes on a name; None for anything else."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        head = _dotted(node.node)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _refuse(line: int, message: str, field: str) -> MessagingError:
    return MessagingError(_("Line %(line)s: %(problem)s", line=line, problem=message), field)


def _check_node(node: nodes.Node, allowed: frozenset[str], field: str) -> None:
    if not isinstance(node, _ALLOWED_NODES):
        raise _refuse(
            node.lineno,
            _("only merge fields, “if” and text filters can be used here."),
            field,
        )
    if isinstance(node, nodes.Name | nodes.Getattr):
        name = _dotted(node)
        if name is None:
            raise _refuse(node.lineno, _("only merge fields can be read here."), field)
        if name not in allowed:
            raise _refuse(node.lineno, _("unknown field “%(field)s”.", field=name), field)
        return
    if isinstance(node, nodes.Filter) and node.name not in FILTERS:
        raise _refuse(node.lineno, _("unknown filter “%(filter)s”.", filter=node.name), field)
    for child in node.iter_child_nodes():
        _check_node(child, allowed, field)


class HasFields(Protocol):
    """A message kind: a catalogue entry or ``editing.Kind``."""

    @property
    def fields(self) -> tuple[str, ...]: ...


def check_source(
    text: str, allowed: frozenset[str] | set[str] | HasFields, field: str = "body"
) -> None:
    """Refuse a template that does not parse or names anything but ``allowed`` fields
    (a set of names, or a message kind: a catalogue entry or ``editing.Kind``).

    The refusal names the line and the field or construct, at the form's ``field``.
    """
    if isinstance(allowed, frozenset | set):
        names = frozenset(allowed)
    else:
        names = field_names(allowed.fields)
    try:
        tree = _sandbox.parse(text)
    except TemplateSyntaxError as error:
        raise _refuse(error.lineno, _syntax_problem(error.message or ""), field) from None
    _check_node(tree, names, field)


def check_required(text: str, required: tuple[str, ...], field: str = "body") -> None:
    """Refuse a (checked) template that does not show each ``required`` field as it is,
    outside any "if" and filter: the link a sign-in mail is sent for cannot be edited
    away, nor hidden behind a condition that another recipient's data makes false."""
    if not required:
        return
    shown: set[str] = set()
    for node in _sandbox.parse(text).body:
        if isinstance(node, nodes.Output):
            shown.update(name for item in node.nodes if (name := _dotted(item)) is not None)
    for name in required:
        if name not in shown:
            raise MessagingError(
                _(
                    "Keep the field “%(field)s” in the text, as it is and outside any “if”: "
                    "the message is sent for it.",
                    field=f"{{{{ {name} }}}}",
                ),
                field,
            )


def only_printed(text: str, prefix: str) -> bool:
    """Whether every field under ``prefix`` (``person.``) is only printed as it is in a
    (checked) template: never tested, filtered or combined. Such a template renders
    alike for everyone but those fields, so a dispatch may render it once with marks
    in their place and put each person's values in (see ``dispatches.texts``)."""

    def sound(node: nodes.Node, parent: nodes.Node | None) -> bool:
        name = _dotted(node) if isinstance(node, nodes.Name | nodes.Getattr) else None
        if name is not None and name.startswith(prefix):
            return isinstance(parent, nodes.Output)
        return all(sound(child, node) for child in node.iter_child_nodes())

    return sound(_sandbox.parse(text), None)


def _syntax_problem(message: str) -> str:
    """The parser's (English) complaint in the writer's words, for the common slips."""
    if message.startswith("Unexpected end of template") and "'endif'" in message:
        return _("an “{% if … %}” has no “{% endif %}” after it.")
    if message.startswith("Expected an expression"):
        return _("a “{{ }}” or “{% if %}” lacks the field's name.")
    if message.startswith("Encountered unknown tag"):
        tag = message.split("'")[1] if message.count("'") >= 2 else ""
        if tag in ("endif", "else", "elif"):
            return _("an “{%% %(tag)s %%}” has no “{%% if … %%}” before it.", tag=tag)
        return _("“{%% %(tag)s %%}” is not known; only “if” can be used here.", tag=tag)
    if message.startswith("unexpected '}'") or message.startswith("expected token"):
        return _("a “{{” or “{%” is not closed as it began (“}}” or “%}”).")
    return _("the template cannot be read (%(error)s).", error=message)


@lru_cache(maxsize=512)
def _compiled(text: str) -> Template:
    """A source compiled once: compiling costs milliseconds, rendering microseconds, and a
    dispatch renders one text for thousands of people."""
    return _sandbox.from_string(text)


def render_source(text: str, fields: dict[str, Any], field: str = "body") -> str:
    """Render a (checked) template with the merge fields in the sandbox."""
    try:
        return _compiled(text).render(fields)
    except TemplateSyntaxError as error:
        raise _refuse(
            error.lineno, _("the template cannot be read (%(error)s).", error=error.message), field
        ) from None
    except (SecurityError, UndefinedError) as error:
        raise MessagingError(
            _("The template names something that is not a merge field: %(error)s", error=error),
            field,
        ) from None


_LINK = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]]")


def _paragraph(block: str) -> Markup:
    lines: list[Markup] = []
    for line in block.split("\n"):
        pieces: list[Markup] = []
        position = 0
        for match in _LINK.finditer(line):
            pieces.append(escape(line[position : match.start()]))
            pieces.append(Markup('<a href="{0}">{0}</a>').format(match.group(0)))
            position = match.end()
        pieces.append(escape(line[position:]))
        lines.append(Markup("").join(pieces))
    return Markup("<p>{}</p>").format(Markup("<br>\n").join(lines))


def text_to_html(text: str) -> Markup:
    """Paragraphs at blank lines, line breaks kept, links made clickable, all escaped."""
    blocks = [block.strip("\n") for block in re.split(r"\n\s*\n", text.strip())]
    return Markup("\n").join(_paragraph(block) for block in blocks if block)


_frame_environment = Environment(
    loader=FileSystemLoader(MESSAGE_TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
)


def frame_html(subject: str, text: str, locale: str, fields: dict[str, Any]) -> str:
    """The HTML mail: the text's paragraphs in the municipality's frame."""
    contact = fields.get("contact", {})
    return _frame_environment.get_template("_frame.html").render(
        locale=locale,
        subject=subject,
        body=text_to_html(text),
        municipality=fields.get("municipality", {}).get("name", ""),
        logo=fields.get("municipality", {}).get("logo", ""),
        contact_email=contact.get("email", ""),
        contact_phone=contact.get("phone", ""),
    )


async def render_message(
    session: AsyncSession, key: str, channel: str, locale: str, fields: dict[str, Any]
) -> Rendered:
    """The message in ``locale``: the office's saved text when it has one, else the default."""
    subject_source, body_source = await current_source(session, key, channel, locale)
    subject = " ".join(render_source(subject_source, fields, "subject").split())
    text = render_source(body_source, fields, "body")
    if channel == "email":
        return Rendered(subject, text, frame_html(subject, text, locale, fields))
    return Rendered("", text.strip(), "")

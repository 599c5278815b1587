"""The sandbox: only merge fields, refusals with the line, and every default renders."""

from __future__ import annotations

import pytest

from app.domain.messaging import MessagingError
from app.domain.messaging.catalog import LOCALES, MESSAGES
from app.domain.messaging.fields import example_fields, field_names
from app.domain.messaging.render import check_source, frame_html, render_source, text_to_html
from app.domain.messaging.sources import MESSAGE_TEMPLATES, default_source, has_default

ALLOWED = field_names(("election", "place", "offer"))


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ person.__class__ }}",
        "{{ person._sa_instance_state }}",
        "{{ person['first_name'] }}",
        "{{ person.first_name.upper() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum }}",
        "{{ range(10) }}",
        "{% for x in person %}{{ x }}{% endfor %}",
        "{% set x = 1 %}",
        "{% include 'base.html' %}",
        "{% macro m() %}{% endmacro %}",
        "{{ person.first_name | attr('__class__') }}",
        "{{ person.first_name | format('%s') }}",
        "{{ 7 * 7 }}",
    ],
)
def test_it_refuses_anything_but_fields_ifs_and_text_filters(source: str) -> None:
    with pytest.raises(MessagingError) as refused:
        check_source(f"Hej\n{source}", ALLOWED)
    assert refused.value.field == "body"
    assert refused.value.message.startswith("Line 2:"), refused.value.message


def test_the_sandbox_refuses_private_attributes_at_render_too() -> None:
    # An old version or a default file is rendered in the sandbox even unchecked.
    with pytest.raises(MessagingError):
        render_source("{{ ''.__class__.__mro__ }}", {})
    with pytest.raises(MessagingError):
        render_source("{{ person.missing }}", {"person": {"first_name": "Åsa"}})


def test_an_unknown_field_is_named_with_its_line() -> None:
    with pytest.raises(MessagingError) as refused:
        check_source("Hej {{ person.first_name }}\n\n{{ person.shoe_size }}", ALLOWED, "subject")
    assert refused.value.field == "subject"
    assert "Line 3" in refused.value.message and "person.shoe_size" in refused.value.message


def test_a_syntax_error_is_refused_with_its_line() -> None:
    with pytest.raises(MessagingError) as refused:
        check_source("Hej\nrad två\n{% if station.name %}utan slut", ALLOWED)
    assert "Line 3" in refused.value.message or "Line 4" in refused.value.message
    with pytest.raises(MessagingError) as refused:
        check_source("{{ person.first_name ", ALLOWED)
    assert "Line 1" in refused.value.message


def test_fields_ifs_and_filters_render() -> None:
    source = "{{ person.first_name | upper }}{% if address %}, {{ address }}{% endif %}"
    check_source(source, ALLOWED)
    fields = {"person": {"first_name": "Åsa"}, "address": ""}
    assert render_source(source, fields) == "ÅSA"


def test_a_field_of_another_kind_is_refused() -> None:
    with pytest.raises(MessagingError, match=r"offer\.link"):
        check_source("{{ offer.link }}", field_names(("election",)))
    with pytest.raises(MessagingError, match=r"offer\.link"):
        check_source("{{ offer.link }}", MESSAGES["course_booked"])
    check_source("{{ offer.link }}", MESSAGES["staffing_offer"])


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_key_has_defaults_in_every_language_that_render(key: str) -> None:
    kind = MESSAGES[key]
    allowed = field_names(kind.fields)
    examples = example_fields(kind.fields)
    for channel in kind.channels:
        for locale in LOCALES:
            assert has_default(key, channel, locale), (key, channel, locale)
            subject, body = default_source(key, channel, locale)
            assert body.strip()
            assert bool(subject) == (channel == "email")
            check_source(subject, allowed, "subject")
            check_source(body, allowed)
            assert "{" not in render_source(body, examples)


def test_every_default_file_belongs_to_a_key() -> None:
    for path in MESSAGE_TEMPLATES.glob("*.txt"):
        key, channel, locale, _txt = path.name.split(".")
        assert key in MESSAGES and channel in MESSAGES[key].channels and locale in LOCALES


def test_the_html_mail_escapes_and_links() -> None:
    html = str(text_to_html("Hej <b>Åsa</b>\n\nSvara: https://x.test/offer?token=a&b=1."))
    assert "&lt;b&gt;Åsa&lt;/b&gt;" in html
    assert '<a href="https://x.test/offer?token=a&amp;b=1">' in html
    assert html.count("<p>") == 2


def test_the_html_mail_frame_names_the_municipality_its_logo_and_contact() -> None:
    fields = {
        "municipality": {"name": "Åby <kommun>", "logo": "https://x.test/aby/logo"},
        "contact": {"email": "val@aby.test", "phone": ""},
    }
    html = frame_html("Ämne", "Hej\n\nhttps://x.test/o", "sv", fields)
    assert '<html lang="sv">' in html and "<title>Ämne</title>" in html
    assert '<img src="https://x.test/aby/logo" alt="Åby &lt;kommun&gt;"' in html
    assert '<a href="mailto:val@aby.test">' in html
    assert '<a href="https://x.test/o">' in html
    plain = frame_html("Ämne", "Hej", "sv", {**fields, "municipality": {"name": "Åby"}})
    assert "<img" not in plain and "Åby" in plain


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("Hej {% if address %}{{ address }}", "has no “{% endif %}” after it"),
        ("Hej {{ }}", "lacks the field's name"),
        ("Hej {% if %}x{% endif %}", "lacks the field's name"),
        ("Hej {% endif %}", "an “{% endif %}” has no “{% if … %}” before it"),
        ("Hej {% repeat %}", "“{% repeat %}” is not known"),
        ("Hej {{ address }", "is not closed as it began"),
        ("Hej {{ person.first_name address }}", "is not closed as it began"),
    ],
)
def test_a_syntax_error_is_explained_in_the_writers_words(source: str, said: str) -> None:
    with pytest.raises(MessagingError) as refused:
        check_source(source, ALLOWED)
    assert refused.value.message.startswith("Line 1: ") and said in refused.value.message
    assert "Jinja" not in refused.value.message and "expected" not in refused.value.message


@pytest.mark.parametrize("key", ["shift_changed", "staffing_withdrawn"])
@pytest.mark.parametrize(("locale", "said"), [("sv", " som "), ("da", " som "), ("en", " as ")])
def test_a_role_inside_a_sentence_is_written_in_lower_case(
    key: str, locale: str, said: str
) -> None:
    """ "din plats som röstmottagare", not "som Röstmottagare" (the role's name is
    written capitalised, as a heading)."""
    examples = example_fields(MESSAGES[key].fields)
    examples["role"] = {"name": "Röstmottagare"}
    _subject, body = default_source(key, "sms", locale)
    text = render_source(body, examples)
    assert f"{said}röstmottagare" in text and "Röstmottagare" not in text

"""A dispatch's text rendered once for many: each person's text is exactly what a
render for them alone makes, whatever the template does with the person's fields."""

from __future__ import annotations

import pytest

from app.domain.dispatches.texts import Source, Texts

SHARED = {
    "station": {"name": "Hamnskolan"},
    "municipality": {"name": "Lunds kommun", "logo": ""},
    "contact": {"email": "val@lund.test", "phone": ""},
}
PEOPLE = [("Alva", "Alva Test"), ("", ""), ("Åke", "Åke  von Dübeln"), ("{{ x }}", "%s \\1")]


@pytest.mark.parametrize(
    "body",
    [
        "Hej {{ person.first_name }}! Vi ses på {{ station.name }}, {{ person.name }}.",
        "Hej {{ person.first_name | upper }}!",
        "{% if person.first_name %}Hej {{ person.first_name }}!{% else %}Hej!{% endif %}",
        "{{ person.name if station.name else '' }} på {{ station.name }}",
        "Ingen person alls, bara {{ station.name }}.",
    ],
)
@pytest.mark.parametrize("channel", ["sms", "email"])
def test_a_text_made_once_for_many_is_each_persons_own(body: str, channel: str) -> None:
    subject = "Till {{ person.name }} om {{ station.name }}" if channel == "email" else None
    texts = Texts({(channel, "sv"): Source(subject, body)})
    for first_name, name in PEOPLE:
        fields = {**SHARED, "person": {"first_name": first_name, "name": name}}
        alone = texts.render(channel, "sv", fields)
        shared = texts.render_shared(channel, "sv", ("station", 1), SHARED, first_name, name)
        assert shared == alone

"""How the form macros show errors: the summary in the form's order naming each field, and
a group's error tied to each of its boxes (``templates/macros/forms.html``)."""

from __future__ import annotations

import re
from typing import Any

from quart import Quart, render_template_string
from quart.testing import QuartClient

from app.planning.forms import ApiTokenForm
from tests.factories import post_form


async def _render(app: Quart, source: str, **context: Any) -> str:
    async with app.test_request_context("/"):
        return await render_template_string(source, **context)


def _summary_links(html: str) -> list[tuple[str, str]]:
    summary = html.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    return re.findall(r'<a href="#([^"]+)">([^<]*)</a>', summary)


async def test_the_login_summary_names_each_field_in_the_form_order(client: QuartClient) -> None:
    response = await post_form(client, "/login", {"email": "", "password": ""})
    html = await response.get_data(as_text=True)
    links = _summary_links(html)
    # Two links that both read "This field is required" said nothing of which field.
    assert [target for target, _text in links] == ["email", "password"]
    assert links[0][1].startswith("E-post: ")
    assert links[1][1].startswith("Lösenord: ")
    assert links[0][1] != links[1][1]


async def test_the_plain_summary_follows_the_fields_not_the_errors(app: Quart) -> None:
    html = await _render(
        app,
        '{% from "macros/forms.html" import plain_error_summary %}'
        "{{ plain_error_summary(errors, labels, prefix='shift-new-') }}",
        # The service found the later field's error first.
        errors={"ends_at": "Too late", "form": "Not saved", "name": "Missing"},
        labels={"name": "Name", "day": "Day", "ends_at": "Ends"},
    )
    assert _summary_links(html) == [
        ("field-shift-new-name", "Name: Missing"),
        ("field-shift-new-ends_at", "Ends: Too late"),
    ]
    assert html.index("Not saved") < html.index("Missing")


async def test_a_group_error_is_tied_to_every_box(app: Quart) -> None:
    html = await _render(
        app,
        '{% from "macros/forms.html" import choice_group %}'
        "{{ choice_group('days', 'Days', {}, {'days': 'Choose a day'}, choices) }}",
        choices=[("mon", "Monday"), ("tue", "Tuesday"), ("wed", "Wednesday")],
    )
    boxes = re.findall(r'<input type="checkbox"[^>]*>', html)
    assert len(boxes) == 3
    for box in boxes:
        assert 'aria-invalid="true"' in box
        assert 'aria-describedby="field-days-error"' in box
    assert '<p class="error" id="field-days-error">Choose a day</p>' in html
    # Without an error the boxes are neither invalid nor described by it.
    clean = await _render(
        app,
        '{% from "macros/forms.html" import choice_group %}'
        "{{ choice_group('days', 'Days', {}, {}, choices) }}",
        choices=[("mon", "Monday")],
    )
    assert "aria-invalid" not in clean and "field-days-error" not in clean


async def test_a_wtforms_checkbox_group_is_a_fieldset_with_the_error_on_each_box(
    app: Quart,
) -> None:
    async with app.test_request_context("/"):
        form = ApiTokenForm()
        form.validate()
        form.scopes.errors = ["Choose at least one"]
        html = await render_template_string(
            '{% from "macros/forms.html" import field, error_summary %}'
            "{{ error_summary(form) }}{{ field(form.scopes) }}",
            form=form,
        )
    assert "<legend>" in html and 'for="scopes"' not in html
    boxes = re.findall(r'<input[^>]*type="checkbox"[^>]*>', html)
    assert boxes
    for box in boxes:
        assert 'aria-invalid="true"' in box
        assert "scopes-error" in box
    # The summary links to the first box, which exists.
    assert ("scopes-0", "Vad den får göra: Choose at least one") in _summary_links(html)
    assert 'id="scopes-0"' in html

"""The one pager under every paged list: its links keep the list's query, swap by HTMX
where the list asks, and name their direction as the list does."""

from __future__ import annotations

from types import SimpleNamespace

from quart import Quart, render_template_string

from app.core.i18n import locale_scope

PAGER = (
    '{% from "macros/pager.html" import pager with context %}'
    "{{ pager(paging, 'planning.people_list', {'tenant': 'lund', 'q': 'berg'}, **options) }}"
)


async def _pager(app: Quart, page: int, pages: int, **options: object) -> str:
    async with app.test_request_context("/"):
        with locale_scope("en"):
            paging = SimpleNamespace(page=page, pages=pages)
            return await render_template_string(PAGER, paging=paging, options=options)


async def test_it_links_both_ways_keeping_the_query(app: Quart) -> None:
    html = await _pager(app, 2, 3)
    assert "Page 2 of 3" in html
    assert 'href="/lund/planning/people/?q=berg&amp;page=1">Previous</a>' in html
    assert 'href="/lund/planning/people/?q=berg&amp;page=3">Next</a>' in html
    assert "hx-get" not in html


async def test_it_swaps_by_htmx_and_names_its_links_as_asked(app: Quart) -> None:
    html = await _pager(app, 1, 2, target="#people-results", previous="Newer", next="Older")
    assert "Newer" not in html  # no page before the first
    assert 'hx-get="/lund/planning/people/?q=berg&amp;page=2"' in html
    assert 'hx-target="#people-results" hx-push-url="true">Older</a>' in html


async def test_a_single_page_has_no_pager(app: Quart) -> None:
    assert "pager" not in await _pager(app, 1, 1)

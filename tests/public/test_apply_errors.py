"""The application form's errors: the summary lists them in the order of the fields on the
page, whatever order the service found them in, and a checkbox group's error reaches each
of its boxes."""

import re
from typing import Any

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.datastructures import MultiDict

from app.core.models import Tenant
from tests.factories import make_open_election, post_form
from tests.public.test_site import _form, _post


def _broken_form(election: Any) -> MultiDict[str, str]:
    """An application with errors in several fields, the groups' among them."""
    return _form(
        election,
        first_name="",
        mobile="123",
        consent=[],
        **{f"days_{election.id}": [], f"kinds_{election.id}": []},
    )


async def test_the_summary_follows_the_form_and_each_box_carries_its_groups_error(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    response = await _post(client, "/lund/apply", _broken_form(election))
    body = await response.get_data(as_text=True)
    assert response.status_code == 422
    summary, page = body.split('id="error-summary"', 1)[1].split("</div>", 1)
    targets = re.findall(r'href="#([^"]+)"', summary)
    assert {"field-first_name", "field-mobile", "field-consent"} <= set(targets), targets
    assert f"field-days_{election.id}" in targets, targets
    # Each link names its field, and the links stand in the order of the fields below.
    assert re.search(r'href="#field-mobile">[^<:]+: ', summary)
    positions = [page.index(f'id="{target}"') for target in targets]
    assert f'<span lang="sv">{election.name}</span>' not in body  # a Swedish page
    assert positions == sorted(positions), targets
    days = re.findall(rf'<input type="checkbox" name="days_{election.id}"[^>]*>', page)
    assert days
    for box in days:
        assert 'aria-invalid="true"' in box
        assert f'aria-describedby="field-days_{election.id}-error"' in box
    # On an English page the election's Swedish name is marked Swedish, in the summary too.
    await post_form(client, "/lang", {"lang": "en", "next": "/"})
    response = await _post(client, "/lund/apply", _broken_form(election))
    body = await response.get_data(as_text=True)
    summary = body.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    assert f'(<span lang="sv">{election.name}</span>)' in summary
    assert f'<legend><span lang="sv">{election.name}</span></legend>' in body

"""The course pages of the back office: catalogue, sessions, booking, roll call, results."""

import datetime as dt
import re
from typing import Any

import pytest
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import luhn

from app.core.audit import Actor
from app.core.models import AuditEntry, OutboxMessage, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.courses import booking
from app.domain.models import CourseBooking, CourseSession, Qualification
from app.domain.staffing.assignments import assign_person
from tests.factories import (
    csrf_token,
    letterhead,
    local_today,
    login,
    make_clerk,
    make_course,
    make_course_session,
    make_person,
    make_room,
    make_staffed_station,
)

ACTOR = Actor.system("test")
BASE = "/lund/planning/courses"


async def _sign_in(client: QuartClient, user: User) -> None:
    """Sign in reading English, so the tests do not depend on the translations."""
    async with client.session_transaction() as session:
        session["lang"] = "en"
    await login(client, user)


async def post_form(client: QuartClient, path: str, data: dict[str, Any] | None = None) -> Any:
    """Post a form whose values may be lists (sent as repeated fields)."""
    pairs = [
        (key, item)
        for key, value in (data or {}).items()
        for item in (value if isinstance(value, list) else [value])
    ]
    token = await csrf_token(client)
    return await client.post(path, form=[*pairs, ("csrf_token", token)])


async def _text(response: Any) -> str:
    return str(await response.get_data(as_text=True))


async def _bookings(db: AsyncSession, tenant: Tenant) -> dict[int, tuple[int, str]]:
    """{person id: (session id, state)} of every booking."""
    with tenant_scope(tenant.id):
        rows = await db.scalars(
            select(CourseBooking)
            .order_by(CourseBooking.id)
            .execution_options(populate_existing=True)
        )
        return {b.person_id: (b.session_id, b.state) for b in rows}


async def _book(db: AsyncSession, tenant: Tenant, session_id: int, person_id: int) -> Any:
    with tenant_scope(tenant.id):
        return await booking.book_person(db, ACTOR, letterhead(tenant), session_id, person_id)


@pytest.fixture
async def course(db: AsyncSession, tenant: Tenant) -> Any:
    return await make_course(db, tenant, name="Grundutbildning röstmottagare")


@pytest.fixture
async def course_session(db: AsyncSession, tenant: Tenant, course: Any) -> Any:
    return await make_course_session(db, tenant, course, capacity=2)


def _urls(course: Any, course_session: Any) -> list[str]:
    one = f"{BASE}/{course.id}/sessions/{course_session.id}"
    return [
        f"{BASE}/",
        f"{BASE}/new",
        f"{BASE}/{course.id}",
        f"{BASE}/{course.id}/edit",
        f"{BASE}/{course.id}/sessions/new",
        f"{BASE}/{course.id}/book-many",
        f"{BASE}/results/new",
        f"{BASE}/{course.id}/results/import",
        one,
        f"{one}/edit",
        f"{one}/cancel",
        f"{one}/roll-call",
    ]


async def test_it_shows_every_page_to_a_planner(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, course: Any,
    course_session: Any,
) -> None:  # fmt: skip
    await _sign_in(client, planner)
    for url in _urls(course, course_session):
        response = await client.get(url)
        assert response.status_code == 200, url
    listing = await _text(await client.get(f"{BASE}/"))
    assert "Grundutbildning röstmottagare" in listing and "New course" in listing


async def test_it_sends_the_anonymous_to_login_and_hides_everything_from_others(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User, clerk: User,
    course: Any, course_session: Any,
) -> None:  # fmt: skip
    urls = _urls(course, course_session)
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    await _sign_in(client, outsider)
    for url in urls:
        assert (await client.get(url)).status_code == 404, url
    # The outsider's own municipality has no such course either.
    assert (await client.get(f"/malmo/planning/courses/{course.id}")).status_code == 404
    clerks: Any = client.app.test_client()
    await _sign_in(clerks, clerk)
    for url in urls:
        assert (await clerks.get(url)).status_code == 403, url
    refused = await post_form(
        clerks, f"{urls[8]}/book", {"person_id": str((await make_person(db, tenant)).id)}
    )
    assert refused.status_code == 403


async def test_it_lets_a_coordinator_look_but_not_change(
    client: QuartClient, coordinator: User, course: Any, course_session: Any
) -> None:
    await _sign_in(client, coordinator)
    page = await _text(await client.get(f"{BASE}/{course.id}"))
    assert "Add a session" not in page and "/book-many" not in page
    assert (await client.get(f"{BASE}/{course.id}/sessions/new")).status_code == 403


async def test_it_creates_and_edits_a_course_and_filters_by_election(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    election = s["election"]
    await _sign_in(client, planner)
    bad = await post_form(
        client, f"{BASE}/new", {"name": "Webbutbildning", "kind": "online", "external_url": ""}
    )
    assert bad.status_code == 422
    assert "needs its web address" in await _text(bad)
    created = await post_form(
        client,
        f"{BASE}/new",
        {
            "name": "Webbutbildning",
            "kind": "online",
            "external_url": "https://www.val.se/utbildning",
            "election_id": str(election.id),
            "duration_minutes": "60",
            "role_type_ids": [str(s["roles"]["chair"].id), str(s["roles"]["clerk"].id)],
            "active": "1",
        },
    )
    assert created.status_code == 302
    course_id = int(created.headers["Location"].rsplit("/", 1)[1])
    page = await _text(await client.get(f"{BASE}/{course_id}"))
    assert "Webbutbildning" in page and election.name in page
    edited = await post_form(
        client,
        f"{BASE}/{course_id}/edit",
        {"name": "Webbutbildning 2", "kind": "online", "external_url": "https://val.se",
         "valid_years": "3"},
    )  # fmt: skip
    assert edited.status_code == 302
    other = await make_course(db, tenant, election=await _another_election(db, tenant))
    listing = await _text(await client.get(f"{BASE}/?election={election.id}"))
    assert "Webbutbildning 2" in listing and other.name not in listing


async def _another_election(db: AsyncSession, tenant: Tenant) -> Any:
    from tests.factories import make_election

    return await make_election(db, tenant, name="Kyrkovalet 2029", election_day="2029-09-16",
                               advance_start="", advance_end="", kind="church")  # fmt: skip


async def test_it_adds_a_session_and_refuses_a_small_room_and_a_busy_teacher(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, course: Any
) -> None:
    room = await make_room(db, tenant, room="Sal B")  # 40 seats
    teacher = await make_person(db, tenant, first_name="Lärar", last_name="Larsson")
    await _sign_in(client, planner)
    url = f"{BASE}/{course.id}/sessions/new"
    form = await _text(await client.get(url))
    assert "Sal B (40)" in form
    day = str(local_today(tenant) + dt.timedelta(days=20))
    data = {"day": day, "starts_at": "18:00", "ends_at": "20:00", "room_id": str(room.id),
            "language": "sv"}  # fmt: skip
    found = await post_form(client, url, {**data, "teacher_q": "Lärar", "action": "find_teachers"})
    assert found.status_code == 200 and f'value="{teacher.id}"' in await _text(found)
    too_many = await post_form(client, url, {**data, "capacity": "41"})
    assert too_many.status_code == 422 and "seats 40" in await _text(too_many)
    saved = await post_form(client, url, {**data, "teacher_ids": str(teacher.id)})
    assert saved.status_code == 302
    with tenant_scope(tenant.id):
        first = await db.scalar(select(CourseSession).where(CourseSession.course_id == course.id))
    assert first is not None and first.capacity == 40  # the room's seats by default
    clash = await post_form(
        client, url, {**data, "starts_at": "19:00", "ends_at": "21:00",
                      "teacher_ids": str(teacher.id)},
    )  # fmt: skip
    assert clash.status_code == 422 and "already teaches" in await _text(clash)
    page = await _text(await client.get(f"{BASE}/{course.id}"))
    assert "Larsson" in page and "0/40" in page


async def test_it_books_until_full_then_offers_the_waiting_list_and_refuses_twice(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, course: Any,
    course_session: Any,
) -> None:  # fmt: skip
    people = [await make_person(db, tenant, last_name=f"Bokad{i}") for i in range(4)]
    await _sign_in(client, planner)
    url = f"{BASE}/{course.id}/sessions/{course_session.id}"
    search = await _text(await post_form(client, f"{url}/search", {"q": "Anna"}))
    assert "Bokad0" in search
    for person in people[:2]:
        assert (
            await post_form(client, f"{url}/book", {"person_id": str(person.id)})
        ).status_code == 302
    twice = await post_form(client, f"{url}/book", {"person_id": str(people[0].id)})
    assert twice.status_code == 409 and "already booked" in await _text(twice)
    full = await post_form(client, f"{url}/book", {"person_id": str(people[2].id)})
    body = await _text(full)
    assert full.status_code == 409 and "The session is full" in body
    assert 'name="waiting" value="1"' in body and "to the waiting list" in body
    waiting = await post_form(
        client, f"{url}/book", {"person_id": str(people[2].id), "waiting": "1"}
    )
    assert waiting.status_code == 302
    states = await _bookings(db, tenant)
    assert [states[p.id][1] for p in people[:3]] == ["booked", "booked", "waiting"]
    page = await _text(await client.get(url))
    assert "2 of 2 booked" in page and "Bokad2" in page


async def test_it_cancels_and_moves_bookings_and_the_waiting_list_moves_up(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, course: Any,
    course_session: Any,
) -> None:  # fmt: skip
    later = await make_course_session(
        db, tenant, course, day=local_today(tenant) + dt.timedelta(days=21)
    )
    one, two, three = [await make_person(db, tenant) for _ in range(3)]
    first = await _book(db, tenant, course_session.id, one.id)
    await _book(db, tenant, course_session.id, two.id)
    with tenant_scope(tenant.id):
        await booking.book_person(db, ACTOR, letterhead(tenant), course_session.id, three.id,
                                  join_waiting_list=True)  # fmt: skip
    await _sign_in(client, planner)
    url = f"{BASE}/{course.id}/sessions/{course_session.id}"
    moved = await post_form(
        client, f"{url}/bookings/{first.id}/move", {"new_session_id": str(later.id)}
    )
    assert moved.status_code == 302
    states = await _bookings(db, tenant)
    assert states[one.id] == (later.id, "booked")
    assert states[three.id] == (course_session.id, "booked")  # moved up into the seat
    elsewhere = await post_form(
        client, f"{BASE}/{course.id}/sessions/{later.id}/bookings/{first.id}/cancel"
    )
    assert elsewhere.status_code == 302
    assert (await _bookings(db, tenant))[one.id][1] == "cancelled"
    # A booking reached through another session's address is not found.
    wrong = await post_form(client, f"{url}/bookings/{first.id}/cancel")
    assert wrong.status_code == 404


async def test_it_cancels_a_session_after_saying_how_many_are_told(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, course: Any,
    course_session: Any,
) -> None:  # fmt: skip
    for _ in range(2):
        await _book(db, tenant, course_session.id, (await make_person(db, tenant, email=None)).id)
    await _sign_in(client, planner)
    url = f"{BASE}/{course.id}/sessions/{course_session.id}/cancel"
    confirm = await _text(await client.get(url))
    assert "2 people are booked or waiting and will be told" in confirm
    done = await post_form(client, url, {"reason": "Läraren är sjuk"})
    assert done.status_code == 302
    with tenant_scope(tenant.id):
        status = await db.scalar(
            select(CourseSession.status)
            .where(CourseSession.id == course_session.id)
            .execution_options(populate_existing=True)
        )
    assert status == "cancelled"
    again = await post_form(client, url, {"reason": ""})
    assert again.status_code == 409


async def _assigned(db: AsyncSession, tenant: Tenant, s: dict[str, Any], count: int) -> list[Any]:
    people = []
    for index in range(count):
        person = await make_clerk(db, tenant, s["election"], last_name=f"Otränad{index}")
        with tenant_scope(tenant.id):
            await assign_person(db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id,
                                override=True)  # fmt: skip
        people.append(person)
    return people


async def test_it_books_untrained_clerks_after_a_preview_and_refuses_a_changed_plan(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, owner_db: AsyncSession
) -> None:
    s = await make_staffed_station(db, tenant)
    # Assigned before the course exists (afterwards the course is a hard staffing rule).
    people = await _assigned(db, tenant, s, 3)
    course = await make_course(db, tenant, election=s["election"])
    small = await make_course_session(db, tenant, course, capacity=2)
    await _sign_in(client, planner)
    url = f"{BASE}/{course.id}/book-many"
    preview = await _text(
        await client.get(f"{url}?preview=1&election_id={s['election'].id}&session_ids={small.id}")
    )
    assert "2 people get a seat" in preview and "1 person is left without a seat" in preview
    planned = sorted(p.id for p in people)[:2]
    form = {
        "election_id": str(s["election"].id),
        "session_ids": str(small.id),
        "person_ids": [str(pid) for pid in planned],
    }
    # Someone books one of them meanwhile: the plan changed, nothing is written.
    with tenant_scope(tenant.id):
        other = await make_course_session(db, tenant, course)
    await _book(db, tenant, other.id, planned[0])
    changed = await post_form(client, url, form)
    body = await _text(changed)
    assert changed.status_code == 409 and "changed meanwhile" in body
    assert "Nothing has been booked" in body
    assert sorted(await _bookings(db, tenant)) == [planned[0]]
    # Confirming what the fresh preview shows books it.
    fresh = sorted(set(p.id for p in people) - {planned[0]})
    done = await post_form(client, url, {**form, "person_ids": [str(pid) for pid in fresh]})
    assert done.status_code == 302
    states = await _bookings(db, tenant)
    assert all(states[pid] == (small.id, "booked") for pid in fresh)
    with tenant_scope(tenant.id):
        keys = list(await owner_db.scalars(select(OutboxMessage.idempotency_key)))
    assert sum(key.startswith("course-booked:") for key in keys) == 3


async def test_it_books_one_station_team(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    other = await make_staffed_station(db, tenant, s["election"], name="Västerskolan")
    team = await _assigned(db, tenant, s, 2)
    await _assigned(db, tenant, other, 1)
    course = await make_course(db, tenant, election=s["election"])
    course_session = await make_course_session(db, tenant, course)
    await _sign_in(client, planner)
    url = f"{BASE}/{course.id}/book-many"
    picker = await _text(await client.get(f"{url}?session_ids={course_session.id}"))
    assert "Västerskolan" in picker and "Hamnskolan" in picker
    preview = await _text(
        await client.get(
            f"{url}?preview=1&election_id={s['election'].id}&station_id={s['station'].id}"
            f"&session_ids={course_session.id}"
        )
    )
    assert "2 people get a seat" in preview
    done = await post_form(
        client,
        url,
        {
            "election_id": str(s["election"].id),
            "station_id": str(s["station"].id),
            "session_ids": str(course_session.id),
            "person_ids": [str(p.id) for p in team],
        },
    )
    assert done.status_code == 302
    assert sorted(await _bookings(db, tenant)) == sorted(p.id for p in team)


async def test_it_takes_the_roll_call_all_or_nothing_and_walk_ins_only_when_confirmed(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, course: Any
) -> None:
    today = await make_course_session(db, tenant, course, day=local_today(tenant), capacity=5)
    came, away = await make_person(db, tenant), await make_person(db, tenant)
    walker = await make_person(db, tenant, first_name="Gående", last_name="Gustavsson")
    b1 = await _book(db, tenant, today.id, came.id)
    b2 = await _book(db, tenant, today.id, away.id)
    await _sign_in(client, planner)
    url = f"{BASE}/{course.id}/sessions/{today.id}/roll-call"
    page = await _text(await client.get(url))
    assert f'name="mark-{b1.id}"' in page and "2</strong> not marked" in page
    # A booking of another session spoils the whole roll call: nothing is saved.
    bad = await post_form(
        client,
        url,
        {f"mark-{b1.id}": "attended", f"mark-{b2.id}": "no_show", "mark-999999": "attended"},
    )
    assert bad.status_code == 409 and "changed meanwhile" in await _text(bad)
    assert (await _bookings(db, tenant))[came.id][1] == "booked"
    saved = await post_form(client, url, {f"mark-{b1.id}": "attended", f"mark-{b2.id}": "no_show"})
    assert saved.status_code == 302
    states = await _bookings(db, tenant)
    assert (states[came.id][1], states[away.id][1]) == ("attended", "no_show")
    counted = await _text(await client.get(url))
    assert "1</strong> attended" in counted and "1</strong> did not come" in counted
    # A walk-in: first told they are not booked, then recorded only on confirmation.
    search = await _text(await post_form(client, f"{url}/search", {"q": "Gående"}))
    assert "Gustavsson" in search
    asked = await post_form(client, f"{url}/walk-in", {"person_id": str(walker.id)})
    body = await _text(asked)
    assert asked.status_code == 409 and "is not booked on this session" in body
    assert 'name="confirmed" value="1"' in body
    assert walker.id not in await _bookings(db, tenant)
    confirmed = await post_form(
        client, f"{url}/walk-in", {"person_id": str(walker.id), "confirmed": "1"}
    )
    assert confirmed.status_code == 302
    assert (await _bookings(db, tenant))[walker.id] == (today.id, "attended")
    with tenant_scope(tenant.id):
        holders = set(await db.scalars(select(Qualification.person_id)))
    assert holders == {came.id, walker.id}


async def test_it_refuses_a_roll_call_before_the_day(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, course: Any,
    course_session: Any,
) -> None:  # fmt: skip
    person = await make_person(db, tenant)
    made = await _book(db, tenant, course_session.id, person.id)
    await _sign_in(client, planner)
    url = f"{BASE}/{course.id}/sessions/{course_session.id}/roll-call"
    assert "from the day of the session" in await _text(await client.get(url))
    refused = await post_form(client, url, {f"mark-{made.id}": "attended"})
    assert refused.status_code == 409


async def test_it_records_a_result_by_hand_and_shows_it_on_the_person_page(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, course: Any,
    course_session: Any,
) -> None:  # fmt: skip
    person = await make_person(db, tenant, first_name="Resultat", last_name="Ruud")
    await _book(db, tenant, course_session.id, person.id)
    await _sign_in(client, planner)
    url = f"{BASE}/results/new"
    found = await _text(
        await post_form(
            client, f"{BASE}/results/search", {"q": "Resultat", "course": str(course.id)}
        )
    )
    assert f"person={person.id}" in found
    future = str(local_today(tenant) + dt.timedelta(days=5))
    bad = await post_form(client, url, {"person_id": str(person.id), "course_id": str(course.id),
                                        "achieved_on": future})  # fmt: skip
    assert bad.status_code == 422 and "in the future" in await _text(bad)
    done = await post_form(client, url, {"person_id": str(person.id), "course_id": str(course.id),
                                         "achieved_on": "2026-03-01", "result": "19/20"})  # fmt: skip
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/people/{person.id}")
    page = await _text(await client.get(f"/lund/planning/people/{person.id}"))
    assert course.name in page and "19/20" in page and "Recorded by hand" in page
    assert "Booked" in page and "Record a result" in page


async def test_it_searches_by_a_whole_id_number_without_putting_it_in_a_url(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, course: Any,
    course_session: Any,
) -> None:  # fmt: skip
    """A whole personnummer is posted, finds exactly that person, and a query string
    carrying one is ignored and never echoed."""
    body = "800101123"
    number = f"19{body}{luhn.calc_check_digit(body)}"
    typed = f"{number[2:8]}-{number[8:]}"  # as people type it: 800101-1234
    await make_person(db, tenant, first_name="Hela", last_name="Numret", national_id=number)
    twin = "800101456"
    await make_person(db, tenant, first_name="Samma", last_name="Dagen",
                      national_id=f"19{twin}{luhn.calc_check_digit(twin)}")  # fmt: skip
    today = await make_course_session(db, tenant, course, day=local_today(tenant), capacity=5)
    await _sign_in(client, planner)
    one = f"{BASE}/{course.id}/sessions/{course_session.id}"
    pages = {
        one: f"{one}/search",
        f"{BASE}/{course.id}/sessions/{today.id}/roll-call": (
            f"{BASE}/{course.id}/sessions/{today.id}/roll-call/search"
        ),
        f"{BASE}/results/new": f"{BASE}/results/search",
    }
    for page, search in pages.items():
        form = await _text(await client.get(page))
        # The search form posts (with its CSRF token) to the search address.
        assert re.search(rf'<form method="post" action="{re.escape(search)}[^"]*"[^>]*role="search">\s*'
                         r'<input type="hidden" name="csrf_token"', form), page  # fmt: skip
        assert 'method="get"' not in form, page
        for query in (number, typed):
            found = await post_form(client, search, {"q": query})
            text = await _text(found)
            assert found.status_code == 200, search
            assert "Numret" in text and "Dagen" not in text, (search, query)
        # A number in the query string is not searched for, nor shown back.
        sent_back = await client.get(page, query_string={"q": number, "course": str(course.id)})
        assert sent_back.status_code == 302, page
        clean = sent_back.headers["Location"]
        assert number not in clean and "q=" not in clean and clean.split("?")[0].endswith(page)
        text = await _text(await client.get(clean))
        assert number not in text and "Numret" not in text, page
        # The search address asked for with GET (the language switch) leads back.
        back = await client.get(search, query_string={"q": number})
        assert back.status_code == 302 and back.headers["Location"].endswith(page), search
        # Without the CSRF token the search is refused.
        assert (await client.post(search, form={"q": number})).status_code in (400, 403), search
    with tenant_scope(tenant.id):
        audited = list(
            await db.scalars(
                select(AuditEntry).where(AuditEntry.code == "people.search.by_national_id")
            )
        )
    assert len(audited) == 6 and all(number not in str(entry.data) for entry in audited)


async def test_it_imports_results_all_or_nothing(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, course: Any
) -> None:
    await make_person(db, tenant, email="anna@example.se")
    await make_person(db, tenant, email="bo@example.se")
    await _sign_in(client, planner)
    url = f"{BASE}/{course.id}/results/import"

    async def upload(text: str) -> Any:
        from io import BytesIO

        from quart.datastructures import FileStorage

        token = (await _text(await client.get(url))).split('name="csrf_token" value="')[1]
        return await client.post(
            url,
            form={"csrf_token": token.split('"')[0]},
            files={"file": FileStorage(BytesIO(("\ufeff" + text).encode()), "results.csv")},
        )

    wrong = await upload(
        "email;date;result\nanna@example.se;2026-05-02;ok\nnobody@example.se;2026-05-02;ok\n"
    )
    body = await _text(wrong)
    assert wrong.status_code == 422 and "Row 3: no person with this email." in body
    with tenant_scope(tenant.id):
        assert list(await db.scalars(select(Qualification))) == []
    right = await upload(
        "email,date,result\nanna@example.se,2026-05-02,ok\nbo@example.se,2026-05-03,\n"
    )
    assert right.status_code == 302
    with tenant_scope(tenant.id):
        assert len(list(await db.scalars(select(Qualification)))) == 2


async def test_it_hides_courses_on_the_person_page_from_those_without_course_access(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    person = await make_person(db, tenant)
    await _sign_in(client, planner)
    page = await _text(await client.get(f"/lund/planning/people/{person.id}"))
    assert 'id="courses"' in page and "No courses yet." in page

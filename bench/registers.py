"""Register benchmarks on the Stockholm-scale demo municipality (600 districts,
660 stations, 15,000 people): person search, the station list, and importing
15,000 people from an XLSX file through the app."""

from __future__ import annotations

import io
import random
import re
import time
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from app import create_app
from app.core.migrations import upgrade_async
from app.core.settings import load_settings
from app.demo import DEMO_PASSWORD, create_demo
from app.demo.data import FIRST_NAMES, LAST_NAMES, personnummer
from bench.common import signed_in_client, summary, timed


def _xlsx_of_new_people(count: int) -> bytes:
    rng = random.Random("bench-import")
    # Born before 1946, where the demo's own people are not, so no row is a duplicate.
    used: set[str] = set()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Personer")
    sheet.append(
        ["Förnamn", "Efternamn", "Personnummer", "E-post", "Mobil", "Adress", "Postnummer", "Ort"]
    )
    for number in range(count):
        national_id = personnummer(rng, used, first_year=1925, years=20)
        sheet.append(
            [
                rng.choice(FIRST_NAMES),
                rng.choice(LAST_NAMES),
                national_id,
                f"import.{number}@example.org",
                f"073{3000000 + number:07d}",
                "Importgatan 1",
                "222 22",
                "Lund",
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def run(database_url: str | None, data_dir: Path, repeat: int = 100) -> None:
    print("== registers (large demo municipality) ==")
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'registers.db'}"
    await upgrade_async(url)
    settings = load_settings(
        data_dir=data_dir, database_url=url, secret_key="r" * 40, run_worker_in_process=False
    )
    app = create_app(settings)
    start = time.perf_counter()
    await create_demo(app.extensions["stemma"].session_factory, size="large")
    print(f"{'make the large demo municipality':<44} {time.perf_counter() - start:7.2f} s")
    async with app.test_app() as test_app:
        client = await signed_in_client(test_app, "planner@storstad.stemma.test", DEMO_PASSWORD)
        htmx = {"HX-Request": "true"}

        async def get(path: str, headers: dict[str, str] | None = None) -> Any:
            response = await client.get(path, headers=headers or {})
            assert response.status_code == 200, (path, response.status_code)
            return await response.get_data()

        base = "/storstad/planning"
        prefixes = ["and", "lin", "ber", "eri", "sv", "moh", "karl", "ei"]
        latencies = []
        for index in range(repeat):
            prefix = prefixes[index % len(prefixes)]
            latencies += await timed(lambda p=prefix: get(f"{base}/people/?q={p}", htmx), 1)  # type: ignore[misc]
        print(summary("person search, name prefix (HTMX fragment)", latencies))
        print(
            summary(
                "person search, id number",
                await timed(lambda: get(f"{base}/people/?q=19800101", htmx), repeat),
            )
        )
        print(
            summary(
                "person search, mobile",
                await timed(lambda: get(f"{base}/people/?q=070-174 06 10", htmx), repeat),
            )
        )
        print(
            summary(
                "people list page (full page)", await timed(lambda: get(f"{base}/people/"), repeat)
            )
        )
        listing = (await get(f"{base}/elections/")).decode()
        election_path = re.search(r'href="(/storstad/planning/elections/\d+/)"', listing)
        assert election_path is not None
        print(
            summary(
                "station list (election structure, 660 stations)",
                await timed(lambda: get(election_path.group(1)), 50),
            )
        )

        content = _xlsx_of_new_people(15_000)
        page = await client.get(f"{base}/import")
        token = (
            (await page.get_data(as_text=True)).split('name="csrf_token" value="')[1].split('"')[0]
        )
        from quart.datastructures import FileStorage

        start = time.perf_counter()
        response = await client.post(
            f"{base}/import",
            form={"kind": "people", "csrf_token": token},
            files={"file": FileStorage(io.BytesIO(content), filename="people.xlsx")},
        )
        staged = time.perf_counter() - start
        assert response.status_code == 302, await response.get_data(as_text=True)
        commit = await client.post(response.headers["Location"], form={"csrf_token": token})
        total = time.perf_counter() - start
        assert commit.status_code == 302, (await commit.get_data(as_text=True))[:2000]
        print(f"{'import 15,000 people from XLSX (check)':<44} {staged:7.2f} s")
        print(f"{'import 15,000 people from XLSX (check + commit)':<44} {total:7.2f} s")
    await app.extensions["stemma"].engine.dispose()

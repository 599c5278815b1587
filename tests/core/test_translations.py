"""Every user-facing string has a Swedish and a Danish translation."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def test_it_translates_every_string_into_swedish_and_danish(tmp_path: Path) -> None:
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "lazy_gettext",
            "-o",
            str(template),
            "--no-location",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with template.open("rb") as handle:
        wanted = {
            message.id if isinstance(message.id, str) else message.id[0]
            for message in read_po(handle)
            if message.id
        }
    assert len(wanted) > 50
    for locale in ("sv", "da"):
        with (ROOT / "app" / "translations" / locale / "LC_MESSAGES" / "messages.po").open(
            "rb"
        ) as handle:
            catalog = read_po(handle, locale=locale)
        translated = {
            message.id if isinstance(message.id, str) else message.id[0]
            for message in catalog
            if message.id
            and not message.fuzzy
            and all(message.string if isinstance(message.string, tuple) else [message.string])
        }
        missing = sorted(wanted - translated)
        assert not missing, f"{locale} lacks: {missing}"


def test_it_keeps_placeholders_intact_in_translations() -> None:
    import re

    for locale in ("sv", "da"):
        with (ROOT / "app" / "translations" / locale / "LC_MESSAGES" / "messages.po").open(
            "rb"
        ) as handle:
            for message in read_po(handle, locale=locale):
                if not message.id:
                    continue
                source = message.id if isinstance(message.id, str) else message.id[1]
                target = message.string if isinstance(message.string, str) else message.string[-1]
                assert set(re.findall(r"%\(\w+\)s", source)) == set(
                    re.findall(r"%\(\w+\)s", target)
                ), (locale, source)

"""`make run` as the README gives it to a newcomer: on another port (`make run
PORT=8108`) the links it mails point at that port, not at the default 8000 (found
walking the README: the applicant's confirmation linked to a server that was not
there)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run_commands(*options: str, **env: str) -> list[str]:
    """The commands `make run` would run (dry run), those of the stemma command."""
    environment = {k: v for k, v in os.environ.items() if k != "STEMMA_BASE_URL"} | env
    made = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", *options],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in made.stdout.splitlines() if "stemma " in line]


def _base_url(command: str, **env: str) -> str:
    """What STEMMA_BASE_URL the command gets, as the shell reads its line."""
    environment = {k: v for k, v in os.environ.items() if k != "STEMMA_BASE_URL"} | env
    prefix = command.partition(".venv/bin/stemma")[0]  # the assignments before it, if any
    shown = subprocess.run(
        ["sh", "-c", f"{prefix} sh -c 'echo \"$STEMMA_BASE_URL\"'"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return shown.stdout.strip()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_on_another_port_mails_links_to_that_port() -> None:
    commands = _run_commands("PORT=8108")
    demo = next(line for line in commands if "stemma demo" in line)
    serve = next(line for line in commands if "stemma serve" in line)
    assert "--port 8108" in serve
    assert _base_url(demo) == "http://127.0.0.1:8108"
    assert _base_url(serve) == "http://127.0.0.1:8108"
    # An address the operator set is kept.
    assert _base_url(serve, STEMMA_BASE_URL="https://val.example.se") == "https://val.example.se"

"""The systemd units in deploy/systemd run commands that exist, restart on failure (but
not on a bad setting), and their settings file names only settings Stemma reads."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

from app.cli import main
from app.core.settings import FILE_SETTINGS, Settings

UNITS = Path(__file__).resolve().parents[1] / "deploy" / "systemd"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name, encoding="utf-8")
    return parser


@pytest.mark.parametrize(
    ("name", "command"),
    [("stemma-serve.service", "serve"), ("stemma-worker.service", "worker")],
)
def test_each_unit_runs_its_command_and_restarts_on_failure(name: str, command: str) -> None:
    unit = _unit(name)
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/.venv/bin/stemma") and argv[1] == command
    assert command in main.commands
    options = {p.opts[0] for p in main.commands[command].params}
    assert {arg.split("=")[0] for arg in argv[2:] if arg.startswith("--")} <= options
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # a bad setting: no restart loop
    assert service["EnvironmentFile"] == "/etc/stemma/env"
    assert service["User"] != "root"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_settings_file_names_only_settings_stemma_reads() -> None:
    known = {f"STEMMA_{name.upper()}" for name in Settings.model_fields}
    known |= {f"STEMMA_{name.upper()}_FILE" for name in FILE_SETTINGS}
    named = [
        line.lstrip("#").split("=")[0]
        for line in (UNITS / "stemma.env.example").read_text(encoding="utf-8").splitlines()
        if line.lstrip("#").startswith("STEMMA_")
    ]
    assert len(named) > 5
    assert sorted(set(named) - known) == []

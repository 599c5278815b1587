import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.core.settings import SettingsError, load_settings


def test_it_fills_in_the_embedded_defaults(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'stemma.db'}"
    assert settings.redis_url is None
    assert len(settings.secret_key) >= 32


def test_it_generates_the_development_secret_key_once(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path).secret_key
    second = load_settings(data_dir=tmp_path).secret_key
    assert first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("name", "value", "variable"),
    [
        ("database_url", "mysql://root@localhost/stemma", "STEMMA_DATABASE_URL"),
        ("redis_url", "http://localhost:6379", "STEMMA_REDIS_URL"),
        ("base_url", "localhost:8000", "STEMMA_BASE_URL"),
        ("secret_key", "too-short", "STEMMA_SECRET_KEY"),
        ("smtp_port", 70000, "STEMMA_SMTP_PORT"),
        ("default_locale", "de", "STEMMA_DEFAULT_LOCALE"),
    ],
)
def test_it_refuses_a_bad_value_naming_the_variable(
    tmp_path: Path, name: str, value: object, variable: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(data_dir=tmp_path, **{name: value})
    assert str(caught.value).startswith(variable + ":")


def test_it_accepts_a_plain_postgresql_url(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, database_url="postgresql://u@db/stemma")
    assert settings.database_url == "postgresql+asyncpg://u@db/stemma"


def test_it_reads_secrets_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "key"
    secret_file.write_text("k" * 40 + "\n")
    monkeypatch.setenv("STEMMA_SECRET_KEY_FILE", str(secret_file))
    monkeypatch.delenv("STEMMA_SECRET_KEY", raising=False)
    assert load_settings(data_dir=tmp_path).secret_key == "k" * 40


def test_it_names_an_unreadable_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEMMA_SECRET_KEY_FILE", str(tmp_path / "missing"))
    monkeypatch.delenv("STEMMA_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="STEMMA_SECRET_KEY_FILE: cannot read"):
        load_settings(data_dir=tmp_path)


def test_it_refuses_to_start_the_cli_with_a_clear_message(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "STEMMA_DATA_DIR": str(tmp_path),
        "STEMMA_DATABASE_URL": "oracle://nope",
    }
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "STEMMA_DATABASE_URL: must start with postgresql://" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_pool_size_reaches_the_engine_and_bursts_wait_instead_of_overflowing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.db import create_engine

    monkeypatch.setenv("STEMMA_DATABASE_POOL_SIZE", "7")
    settings = load_settings(
        data_dir=tmp_path, database_url="postgresql+asyncpg://stemma@db.invalid/stemma"
    )
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    try:
        pool: Any = engine.pool
        assert (pool.size(), pool._max_overflow) == (7, 0)
    finally:
        await engine.dispose()
    monkeypatch.setenv("STEMMA_DATABASE_POOL_SIZE", "1")
    with pytest.raises(SettingsError, match="STEMMA_DATABASE_POOL_SIZE"):
        load_settings(data_dir=tmp_path)

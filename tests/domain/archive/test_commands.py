"""`stemma tenant export` and `stemma tenant import` as an operator runs them."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from click.testing import CliRunner

from app.cli import main
from app.core.settings import Settings


def _environment(settings: Settings) -> dict[str, str]:
    return {
        "STEMMA_DATABASE_URL": settings.database_url,
        "STEMMA_DATA_DIR": str(settings.data_dir),
        "STEMMA_SECRET_KEY": settings.secret_key,
    }


def test_an_operator_exports_and_imports_a_municipality(settings: Settings, tmp_path: Path) -> None:
    runner = CliRunner(env=_environment(settings))
    made = runner.invoke(main, ["tenant", "create", "--slug", "orebro", "--name", "Örebro kommun"])
    assert made.exit_code == 0, made.output
    out = tmp_path / "orebro.tar.gz"

    exported = runner.invoke(main, ["tenant", "export", "--tenant", "orebro", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert f"to {out}" in exported.output
    assert out.stat().st_mode & 0o077 == 0  # personal data: the owner's only
    with tarfile.open(out, "r:gz") as archive:
        assert archive.getnames()[0] == "manifest.json"
        manifest = json.loads(archive.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["tenant"]["name"] == "Örebro kommun"
    assert manifest["tables"]["role_types"]["rows"] > 0

    imported = runner.invoke(main, ["tenant", "import", "--file", str(out), "--slug", "orebro-2"])
    assert imported.exit_code == 0, imported.output
    assert "/orebro-2/" in imported.output

    again = runner.invoke(main, ["tenant", "import", "--file", str(out)])
    assert again.exit_code == 1
    assert "slug" in again.output and "Traceback" not in again.output

    missing = runner.invoke(main, ["tenant", "export", "--tenant", "nowhere", "--out", str(out)])
    assert missing.exit_code == 1
    assert "Traceback" not in missing.output

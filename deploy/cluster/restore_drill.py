"""The restore drill (``make restore-drill``): a backup that restores, to the moment asked for.

Against the cluster on one machine (``make cluster``), with pgBackRest's repository under
``var/cluster/pgbackrest/`` (stanza ``stemma``, WAL archived by every member):

1. ``pgbackrest check``, then a full backup of the PostgreSQL primary;
2. a write after the backup (a table of 1,000 rows), which only the archived WAL holds;
3. the row count and a checksum of every table of the ``stemma`` database (the md5 of
   its rows' md5s in order), then a named restore point, then the same figures again:
   when they differ (an instance wrote meanwhile), the point is made again;
4. a write after the point (another table), which the restore must not hold, and
   ``pgbackrest check`` again, so that the WAL up to there is in the archive;
5. a point-in-time restore (``--type=name``) of the backup and the archived WAL into a
   fresh instance under ``var/cluster/restore/`` on port 5444, started by ``pg_ctl``
   and promoted at the point;
6. the same figures from the restored instance, table by table, against the original's.

Exit status 0 when every table matches (the first table with them) and the second is
absent; both are dropped from the cluster again. The figures (backup and
restore seconds, sizes, tables, rows) are printed and written to ``var/restore-drill.json``.
Every step has a time limit. The cluster is started when it is not running and stopped
again at the end; the restored instance is always stopped and removed (``--keep`` leaves
it, and a cluster started here, running).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from deploy.cluster.members import (  # noqa: E402
    cluster_env,
    primary_number,
    run_drill,
)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
#: The restored instance's port: the cluster's members use 5441-5443 (docs/cluster.md).
RESTORE_PORT = 5444
DATABASE = "stemma"
BEFORE = "restore_drill_before_the_point"
AFTER = "restore_drill_after_the_point"
#: Limits, in seconds, of the slow steps.
BACKUP_SECONDS = 600
RESTORE_SECONDS = 600
RECOVERY_SECONDS = 300

#: Every table of the database that holds its rows in the WAL (unlogged tables come
#: back empty by design), partitions and their parents alike.
TABLES_SQL = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1
"""


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} restore-drill: {message}", flush=True)


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL's tools do not run as root: as root, they run as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def run(command: list[str], timeout: float, check: bool = True) -> str:
    """The output of one of the cluster's tools; its error output when it fails."""
    done = subprocess.run(  # noqa: S603 - our own commands, no shell
        command, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])}... failed: {done.stderr.strip()[-800:]}")
    return done.stdout


def primary_member(env: dict[str, str]) -> tuple[Path, int]:
    """The socket folder and port of the member Patroni calls the primary."""
    number = primary_number(env)
    if number is None:
        raise RuntimeError("no PostgreSQL primary")
    return Path(env["CLUSTER_DIR"]) / f"pg{number}", int(env["PG_PORTS"].split()[number])


def psql(socket: Path, port: int, sql: str, timeout: float = 120) -> str:
    """``sql`` run as the superuser over the member's socket (trusted there)."""
    command = ["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"]
    command += ["-h", str(socket), "-p", str(port), "-U", "postgres", "-d", DATABASE, "-c", sql]
    return run(as_postgres(command), timeout).strip()


def sums_sql(tables: list[str]) -> str:
    """One statement (one snapshot) with each table's rows and the md5 of its rows'
    md5s in order: two tables with the same rows have the same figures."""
    # The names come from pg_class, quoted there (quote_ident).
    parts = [
        f"SELECT '{table}', count(*),"  # noqa: S608
        f" coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '')"
        f" FROM {table} t"
        for table in tables
    ]
    return "\nUNION ALL\n".join(parts)


def table_sums(socket: Path, port: int) -> dict[str, tuple[int, str]]:
    """Each table's row count and checksum, from one snapshot."""
    tables = psql(socket, port, TABLES_SQL).splitlines()
    sums: dict[str, tuple[int, str]] = {}
    if not tables:
        return sums
    for line in psql(socket, port, sums_sql(tables), timeout=600).splitlines():
        table, count, digest = line.split("|")
        sums[table] = (int(count), digest)
    return sums


def compare(
    original: dict[str, tuple[int, str]], restored: dict[str, tuple[int, str]]
) -> list[str]:
    """What differs between the original's tables and the restored ones, in words."""
    differences = [f"{table}: missing from the restore" for table in original.keys() - restored]
    differences += [f"{table}: not in the original" for table in restored.keys() - original]
    for table in sorted(original.keys() & restored.keys()):
        (rows, digest), (rows_back, digest_back) = original[table], restored[table]
        if rows != rows_back:
            differences.append(f"{table}: {rows} rows, {rows_back} restored")
        elif digest != digest_back:
            differences.append(f"{table}: {rows} rows, but their contents differ")
    return sorted(differences)


def pgbackrest(config: Path, *args: str, timeout: float = BACKUP_SECONDS) -> str:
    return run(as_postgres(["pgbackrest", f"--config={config}", "--stanza=stemma", *args]), timeout)


def restore_point(socket: Path, port: int, name: str) -> dict[str, tuple[int, str]]:
    """A restore point named ``name`` and the tables' figures at it: taken before and
    after the point, and the point made again until nothing was written in between."""
    for _attempt in range(10):
        before = table_sums(socket, port)
        psql(socket, port, f"SELECT pg_create_restore_point('{name}')")
        after = table_sums(socket, port)
        if before == after:
            return before
        log("written to while the point was made; once more")
        name += "x"
    raise RuntimeError("the database never stood still for a restore point")


def restore_config(env: dict[str, str], folder: Path) -> Path:
    """pgBackRest's configuration for restoring the cluster's repository into ``folder``."""
    repo = Path(env["CLUSTER_DIR"]) / "pgbackrest"
    config = folder / "pgbackrest.conf"
    config.write_text(
        "[global]\n"
        f"repo1-path={repo / 'repo'}\n"
        f"log-path={folder / 'log'}\n"
        f"lock-path={folder / 'lock'}\n"
        f"spool-path={folder / 'lock'}\n"
        "\n[stemma]\n"
        f"pg1-path={folder / 'data'}\n"
    )
    return config


def prepare_folder(folder: Path) -> None:
    if folder.exists():
        stop_restored(folder)
        shutil.rmtree(folder)
    for sub in ("", "log", "lock", "data"):
        (folder / sub).mkdir(mode=0o700, exist_ok=True)
    if os.geteuid() == 0:
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, "postgres", "postgres")


def start_restored(folder: Path) -> None:
    """The restored instance, on its own port and socket, archiving nothing (its WAL
    must not reach the cluster's repository) and waiting for no synchronous standby."""
    data = folder / "data"
    options = " ".join(
        [
            f"-c port={RESTORE_PORT}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={folder}",
            "-c archive_mode=off",
            "-c synchronous_standby_names=''",
            f"-c hba_file={data / 'pg_hba.conf'}",
            f"-c ident_file={data / 'pg_ident.conf'}",
            "-c cluster_name=stemma-restore",
        ]
    )
    command = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "log" / "postgres.log")]
    run(as_postgres([*command, "-o", options, "start"]), timeout=60)


def stop_restored(folder: Path) -> None:
    if (folder / "data" / "postmaster.pid").exists():
        command = [str(PG_BIN / "pg_ctl"), "-D", str(folder / "data"), "-m", "fast", "-w"]
        run(as_postgres([*command, "stop"]), timeout=120, check=False)


def wait_until_promoted(folder: Path) -> None:
    """Until the restored instance has replayed to the point and was promoted."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while time.monotonic() < deadline:
        try:
            if psql(folder, RESTORE_PORT, "SELECT pg_is_in_recovery()", timeout=10) == "f":
                return
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        time.sleep(1)
    raise RuntimeError(f"not promoted within {RECOVERY_SECONDS} s: {folder}/log/postgres.log")


def backup_figures(config: Path) -> dict[str, Any]:
    info = json.loads(pgbackrest(config, "--output=json", "info", timeout=60))
    latest = info[0]["backup"][-1]
    archive = info[0]["archive"][-1] if info[0]["archive"] else {}
    return {
        "backup_label": latest["label"],
        "backup_type": latest["type"],
        "database_bytes": latest["info"]["size"],
        "backup_repo_bytes": latest["info"]["repository"]["delta"],
        "wal_archived": f"{archive.get('min')}..{archive.get('max')}",
    }


def drill(env: dict[str, str], keep: bool, until: str) -> dict[str, Any]:
    config = Path(env["CLUSTER_DIR"]) / "pgbackrest.conf"
    folder = Path(env["CLUSTER_DIR"]) / "restore"
    socket, port = primary_member(env)
    figures: dict[str, Any] = {"primary_port": port}
    started = time.monotonic()

    log("pgbackrest check (the archive takes WAL)")
    pgbackrest(config, "check", timeout=180)
    log("a full backup")
    moment = time.monotonic()
    pgbackrest(config, "--type=full", "backup")
    figures["backup_seconds"] = round(time.monotonic() - moment, 1)
    figures.update(backup_figures(config))

    name = f"drill-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        psql(socket, port, f"DROP TABLE IF EXISTS {BEFORE}, {AFTER}")
        psql(
            socket,
            port,
            f"CREATE TABLE {BEFORE} AS SELECT n, md5(n::text) AS digest"  # noqa: S608 - ours
            " FROM generate_series(1, 1000) AS n",
        )
        log(f"the tables' figures and the restore point {name}")
        moment = time.monotonic()
        original = restore_point(socket, port, name)
        figures["checksum_seconds"] = round(time.monotonic() - moment, 1)
        psql(socket, port, f"CREATE TABLE {AFTER} AS SELECT now() AS written")
        pgbackrest(config, "check", timeout=180)  # the WAL up to here is archived

        log(f"restoring to {name} into {folder}")
        prepare_folder(folder)
        restore = restore_config(env, folder)
        target = ["--type=name", f"--target={name}"] if until == "point" else ["--type=immediate"]
        moment = time.monotonic()
        pgbackrest(
            restore,
            *target,
            "--target-action=promote",
            "--archive-mode=off",
            "restore",
            timeout=RESTORE_SECONDS,
        )
        figures["restore_seconds"] = round(time.monotonic() - moment, 1)
        try:
            moment = time.monotonic()
            start_restored(folder)
            wait_until_promoted(folder)
            figures["recovery_seconds"] = round(time.monotonic() - moment, 1)
            restored = table_sums(folder, RESTORE_PORT)
            after = psql(folder, RESTORE_PORT, f"SELECT to_regclass('{AFTER}') IS NOT NULL")
        finally:
            if not keep:
                stop_restored(folder)
                shutil.rmtree(folder, ignore_errors=True)
    finally:
        psql(socket, port, f"DROP TABLE IF EXISTS {BEFORE}, {AFTER}")

    differences = compare(original, restored)
    figures.update(
        {
            "restore_point": name,
            "tables": len(original),
            "rows": sum(rows for rows, _digest in original.values()),
            "tables_matching": len(original) - len({d.split(":")[0] for d in differences}),
            "differences": differences[:20],
            "write_after_the_point_restored": after == "t",
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    figures["passed"] = f"public.{BEFORE}" in original and not differences and after == "f"
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the restored instance (and a cluster started here) running",
    )
    parser.add_argument(
        "--until",
        choices=("point", "backup"),
        default="point",
        help="restore to the restore point (the drill), or only to the end of the backup"
        " (the drill must then fail: the rows written after the backup are missing)",
    )
    options = parser.parse_args()
    env = cluster_env()
    return run_drill(
        "restore-drill", env, options.keep, lambda: drill(env, options.keep, options.until), log
    )


if __name__ == "__main__":
    sys.exit(main())

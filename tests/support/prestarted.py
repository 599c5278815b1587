"""`stemma` commands as processes of their own, forked from an interpreter that has the
app's code loaded already.

Starting `python -m app.cli serve` costs some 4 s of CPU before the first request:
the interpreter, then importing the app (SQLAlchemy's models, Redis, fontTools, ...)
and the Argon2 hash made at import. The browser tests start a server each, so a
worker keeps one such interpreter (the launcher, started once, single-threaded, no
event loop) and each server is a child forked from it: a process of its own, with
its own environment, log, sockets and signals, running the same `stemma serve` from
`main` on; only the imports are done before. How a new interpreter starts the
command is what the drills check (`tests/test_cli.py`, `tests/realtime`).

The launcher reads one request a line (JSON: the command's arguments, environment and
log file) and answers with the child's process id. Children are reaped by the kernel
(SIGCHLD ignored in the launcher), so the caller follows a child by its id alone.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]


class Child:
    """A forked command, watched and stopped by its process id (what the tests used of
    ``subprocess.Popen``: ``poll``, ``terminate``, ``kill``, ``wait``)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        """None while the child runs, else 0: its exit status went to the launcher's
        kernel reaping, so the log says how it ended."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return 0
        return None

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"process {self.pid}", timeout)
            time.sleep(0.02)
        return 0

    def _signal(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, number)


class Launcher:
    """The worker's pre-loaded interpreter (started on first use, ended with ``close``)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None

    def start(self, arguments: list[str], environment: dict[str, str], log: Path) -> Child:
        process = self._running()
        assert process.stdin is not None and process.stdout is not None
        request = {"arguments": arguments, "environment": environment, "log": str(log)}
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        answer = process.stdout.readline()
        if not answer:
            raise RuntimeError("the launcher of `stemma` processes went away")
        return Child(int(answer))

    def close(self) -> None:
        if self._process is None:
            return
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=5)
        self._process = None

    def _running(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.prestarted"],
                cwd=_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        return self._process


def _child(request: dict[str, object]) -> None:
    """In the forked child: become the command (never returns)."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        log = os.open(str(request["log"]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(null)
        os.close(log)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own, for its life
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        environment = request["environment"]
        assert isinstance(environment, dict)
        os.environ.clear()
        os.environ.update(environment)
        arguments = request["arguments"]
        assert isinstance(arguments, list)
        sys.argv = ["stemma", *arguments]

        from app.cli import main

        main(args=arguments, prog_name="stemma")
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:
        # The log says what went wrong; the process ends all the same.
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _prepare_for_children(templates_code: Path) -> None:
    """What every child would otherwise do again at its start, done once here.

    - The objects loaded so far are moved out of the collector's sight (``gc.freeze``,
      as Python's documentation advises before forking): the full collection that
      ``stemma serve`` makes before serving (``tune_garbage_collector``) then walks only
      the child's own objects, not every module, class and function of the app again
      (a quarter of a second of CPU a server).
    - The languages' data the pages name (Babel's, read from disk) is read here.
    - Argon2 with its lowest costs, as in the test process (``cheap_password_hashing``
      in ``tests/conftest.py``): a server hashed the password of each user the demo
      made again at the real costs on their first sign-in (the hash "needs rehash"),
      verified their later sign-ins at those costs and checked an unknown email against
      a hash at them, some 0.17 s of CPU each. The same code runs;
      ``tests/core/test_security.py`` checks the real costs.
    - Templates a child compiled are kept in ``templates_code`` (Jinja's own bytecode
      cache, by template and source checksum), so the next child loads their code
      instead of compiling them again: a browser test's server compiled every page it
      drew, some 15 % of its CPU.
    """
    from argon2 import PasswordHasher
    from jinja2 import FileSystemBytecodeCache
    from quart import Quart

    from app.core import security
    from app.core.i18n import language_name
    from app.core.settings import SUPPORTED_LOCALES

    for locale in SUPPORTED_LOCALES:
        language_name(locale)
    security._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    security._DUMMY_HASH = security._hasher.hash(security.new_token(16))
    Quart.jinja_options = {
        **Quart.jinja_options,
        "bytecode_cache": FileSystemBytecodeCache(str(templates_code)),
    }
    gc.collect()
    gc.freeze()


def _serve_requests() -> None:
    """The launcher: load the app's code, then fork a child per request line."""
    import app.cli  # noqa: F401 - loaded once, before any fork

    # Forking copies only the calling thread: a lock another thread held would stay
    # held in the child for good.
    assert threading.active_count() == 1, threading.enumerate()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    with tempfile.TemporaryDirectory(prefix="stemma-templates-") as templates_code:
        _prepare_for_children(Path(templates_code))
        _fork_per_request()


def _fork_per_request() -> None:
    """A child per request line, until the tests close the launcher's input."""
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(pid, flush=True)


if __name__ == "__main__":
    _serve_requests()

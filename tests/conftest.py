"""Shared fixtures.

``db_url`` gives each test its own empty database, once on SQLite (a file in tmp_path) and once
on PostgreSQL (a fresh database ``hw_<random>`` on 127.0.0.1:5432, dropped afterwards), so every
storage test runs against both. Tests run in parallel (pytest-xdist), so no database is shared.
PostgreSQL being unreachable skips those tests locally but fails them under CI (CI=true), so
CI can never silently skip PostgreSQL.

Every test also gets ``HEALTHWATCH_DB`` pointing into its tmp_path, so nothing writes a
``healthwatch.sqlite`` into the working folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

PG_ADMIN_DSN = os.environ.get("HEALTHWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _isolated_default_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEALTHWATCH_DB", str(tmp_path / "default.sqlite"))


def _pg_unavailable(reason: str) -> None:
    message = f"PostgreSQL at {PG_ADMIN_DSN} is unreachable ({reason})"
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; CI must run the storage tests on PostgreSQL", pytrace=False)
    pytest.skip(message)


def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database's URL, dropped when the generator is closed (for
    fixtures of any scope; skips the test when PostgreSQL does not answer)."""
    import psycopg

    from healthwatch.store.db import dispose_engine

    name = f"hw_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _pg_unavailable(str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}/{name}"
    try:
        yield url
    finally:
        dispose_engine(url)
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; dropped after the test."""
    yield from postgres_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, once per backend."""
    if request.param == "sqlite":
        from healthwatch.store.db import dispose_engine

        url = f"sqlite:///{tmp_path / 'store.sqlite'}"
        yield url
        dispose_engine(url)
    else:
        yield request.getfixturevalue("postgres_url")


@pytest.fixture
def seeded_db_url(db_url: str) -> str:
    """``db_url`` with the built-in regions, 2021 city populations and plans loaded.

    Opening a session never fills a database (reading never writes), so tests that need the
    reference data load it explicitly, as ``healthwatch demo`` does for a user.
    """
    from healthwatch.services.database import install_builtin

    install_builtin(db_url)
    return db_url


@pytest.fixture
def seeded_sqlite(tmp_path: Path) -> Iterator[str]:
    """An SQLite file path with the built-in reference data loaded, for real-subprocess CLI tests.

    The CLI's read commands refuse a missing database, so a test of ``users``/``data`` commands
    prepares the database first, as a user would with ``healthwatch demo``.
    """
    from healthwatch.services.database import install_builtin
    from healthwatch.store.db import dispose_engine

    path = str(tmp_path / "seeded.sqlite")
    install_builtin(path)
    dispose_engine(path)  # the subprocesses under test open it themselves
    yield path
    dispose_engine(path)


REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def require_or_skip(condition: bool, reason: str) -> None:
    """Skip when ``condition`` is false, except under CI (``CI=true``), where it is a failure.

    For tests that need something outside the checkout (``../shared`` seeds and references, an
    optional comparison package): a developer without it gets a visible skip, while CI, which
    must have everything, can never pass by skipping.
    """
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must provide it", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_shared(*parts: str) -> Path:
    """The path ``../shared/<parts>``; skip when it is missing, fail under CI."""
    path = SHARED.joinpath(*parts)
    require_or_skip(path.exists(), f"{path} not found")
    return path


def import_or_fail_in_ci(module: str) -> Any:
    """``pytest.importorskip`` that fails under CI instead of skipping."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        require_or_skip(False, f"{module} is not installed ({exc})")


def _run_cli(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``healthwatch ARGS`` as a real process (``python -m healthwatch``) of this checkout.

    A subprocess sees what a user sees: output that C libraries write straight to file
    descriptor 1 (solver banners), exit codes, and no traceback on stderr.
    """
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), full_env.get("PYTHONPATH", "")) if p
    )
    return subprocess.run(
        [sys.executable, "-m", "healthwatch", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
        cwd=full_env.get("HW_TEST_CWD"),
    )


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_cli("plans", "list", "--json")``: the real command in a subprocess (see _run_cli)."""
    return _run_cli


def strict_json_loads(text: str) -> Any:
    """Parse JSON refusing NaN and Infinity, as strict consumers (jq, JSON.parse) do."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def free_port() -> int:
    """A TCP port nobody listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class DemoRun:
    """A ``healthwatch demo --port P`` subprocess started by :func:`running_demo`.

    ``out`` and ``err`` fill with the lines the process writes; once the ``with`` block has
    ended (and the process stopped) they hold everything, so a test can check the shutdown.
    """

    base: str
    proc: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return "".join(self.out)

    @property
    def errors(self) -> str:
        return "".join(self.err)


def _collect(stream: IO[str], into: list[str]) -> None:
    """Read a pipe to its end, so the process never blocks on a full pipe."""
    for line in stream:
        into.append(line)


@contextlib.contextmanager
def running_demo(db: str, cwd: Path, *, start_s: float = 900) -> Iterator[DemoRun]:
    """Run ``healthwatch demo --port P --db DB`` as a user does; yield it once it answers.

    The demo prints its logins (``demo-NAME PASSWORD ...``) and then the address; both are read
    from its output (``passwords``: what a person would copy). ``start_s`` bounds the building
    of the demo database before the address appears (minutes on a loaded 2-core machine). On
    leaving, the server gets Ctrl-C (SIGINT) and must stop within a minute.
    """
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "healthwatch", "demo", "--port", str(port), "--db", db],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    run = DemoRun(base=f"http://127.0.0.1:{port}", proc=proc)
    readers = [
        threading.Thread(target=_collect, args=(stream, into), daemon=True)
        for stream, into in ((proc.stdout, run.out), (proc.stderr, run.err))
    ]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + start_s
        while not any(f"{run.base}/" in line for line in run.out):
            assert time.monotonic() < deadline, f"no address line within {start_s:.0f} s"
            assert proc.poll() is None, run.output + run.errors
            time.sleep(0.5)
        run.passwords = {
            parts[0]: parts[1]
            for parts in (line.split() for line in list(run.out))
            if parts and parts[0].startswith("demo-")
        }
        for _ in range(240):  # the address is printed just before uvicorn listens
            try:
                with urllib.request.urlopen(f"{run.base}/api/v1/health", timeout=10) as r:
                    assert json.load(r)["status"] == "ok"
                    break
            except OSError:  # not listening yet, or too busy starting to answer in time
                assert proc.poll() is None, run.output + run.errors
                time.sleep(0.5)
        else:
            raise AssertionError("the demo server did not answer /api/v1/health in 2 minutes")
        yield run
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            for reader in readers:  # the pipes close with the process: read to their end
                reader.join(timeout=10)

"""Database URLs, engines, migrations and transactional sessions.

The database is an SQLite file by default (``./healthwatch.sqlite``, WAL mode, foreign keys on) or
whatever ``--db`` / ``$HEALTHWATCH_DB`` names: a bare path means an SQLite file, anything with
``://`` is an SQLAlchemy URL (``postgresql://`` is read as ``postgresql+psycopg://``). A URL whose
backend or driver is not installed (``mysql://`` without a driver, ``foo://``) is refused with a
bilingual :class:`~healthwatch.errors.HealthwatchError`, never a traceback.

The schema belongs to the Alembic migrations packaged in ``store/migrations``; :func:`upgrade`
runs them in code (no ``alembic.ini``). :func:`session_scope` is the one way to get a session; it
commits on success and rolls back on any error, so a failed command writes nothing.

Reading never writes. A read session (the default) refuses a missing SQLite file instead of
creating it (a typo in ``--db`` must not silently give an empty new database) and refuses a
database whose schema is not current instead of migrating it. Only ``create=True`` (``demo``,
``db upgrade``, explicit load and import commands) creates and migrates. Nothing here fills
tables: loading the built-in regions, populations and plans is the job of
:mod:`healthwatch.services.database` and the demo, not a side effect of opening a session.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from healthwatch.errors import HealthwatchError, NotFoundError
from healthwatch.store.audit import AuditedSession
from healthwatch.store.quick import ReadConnection

DEFAULT_SQLITE = "healthwatch.sqlite"
ENV_VAR = "HEALTHWATCH_DB"
MIGRATIONS = Path(__file__).parent / "migrations"

_engines: dict[str, Engine] = {}
_ready: set[str] = set()
_lock = threading.Lock()


def _unsupported(raw: str, reason: str, reason_zh: str) -> HealthwatchError:
    return HealthwatchError(
        f"Unsupported database {raw!r} ({reason}). Give an SQLite file path or a URL such as "
        "postgresql+psycopg://user@host:5432/db.",
        f"不支持的数据库地址 {raw!r}（{reason_zh}）。请给出 SQLite 文件路径，或形如 "
        "postgresql+psycopg://user@host:5432/db 的地址。",
    )


def resolve_url(db: str | None = None) -> str:
    """The SQLAlchemy URL for ``--db`` (or ``$HEALTHWATCH_DB``, or the default SQLite file).

    Refuses (HealthwatchError) a URL that is malformed or whose backend or driver is not
    installed, so that a wrong ``--db`` is one clear line instead of a traceback.
    """
    raw = db or os.environ.get(ENV_VAR) or DEFAULT_SQLITE
    if "://" not in raw:
        return f"sqlite:///{Path(raw).expanduser().resolve()}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    try:
        url = make_url(raw)
    except ArgumentError:
        raise _unsupported(raw, "not a database URL", "不是数据库地址") from None
    try:
        url.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise _unsupported(
            raw, f"unknown backend {url.drivername!r}", f"未知的数据库类型 {url.drivername!r}"
        ) from None
    except ImportError as exc:
        driver = exc.name or str(exc)
        raise _unsupported(
            raw, f"its driver {driver} is not installed", f"未安装其驱动 {driver}"
        ) from None
    return raw


def shown_url(db: str | None = None) -> str:
    """The database URL for ``--db`` as users see it: resolved, with the password hidden."""
    return make_url(resolve_url(db)).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def get_engine(db: str | None = None) -> Engine:
    """One engine per URL per process (SQLite: WAL journal, foreign keys enforced)."""
    url = resolve_url(db)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            # A pre-ping guards against server-side disconnects; an SQLite file has no server,
            # and the ping would double the cost of the web app's one read per request.
            sqlite = url.startswith("sqlite")
            engine = create_engine(url, json_serializer=_dumps, pool_pre_ping=not sqlite)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            _engines[url] = engine
    return engine


def dispose_engine(db: str | None = None) -> None:
    """Close the pooled connections of one database and forget that it was prepared."""
    url = resolve_url(db)
    with _lock:
        engine = _engines.pop(url, None)
        if engine is not None:
            engine.dispose()
        _ready.discard(url)


def dispose_engines() -> None:
    """Close every pooled connection (before dropping a test database, for example)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _ready.clear()


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _unreachable(url: str, exc: Exception) -> HealthwatchError:
    shown = shown_url(url)
    return HealthwatchError(
        f"Cannot open the database {shown}: {exc.__class__.__name__}. Check --db / "
        f"{ENV_VAR} and that the server is running.",
        f"无法打开数据库 {shown}。请检查 --db / {ENV_VAR} 以及数据库服务是否在运行。",
    )


def upgrade(db: str | None = None, revision: str = "head") -> str | None:
    """Migrate the database to ``revision`` (default: the newest); returns the new revision.

    Upgrades keep every row: migrations only add and transform, they never drop user data.
    """
    url = resolve_url(db)
    engine = get_engine(url)
    cfg = alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        raise _unreachable(url, exc) from exc
    return current_revision(url)


def sqlite_file_missing(db: str | None = None) -> bool:
    """True when ``db`` names an SQLite file that does not exist (opening it would create it)."""
    parsed = make_url(resolve_url(db))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return not Path(str(parsed.database)).exists()


def current_revision(db: str | None = None) -> str | None:
    """The Alembic revision the database is at (None for an empty or missing database).

    Reading the revision never creates a missing SQLite file.
    """
    url = resolve_url(db)
    if sqlite_file_missing(url):
        return None
    try:
        with get_engine(url).connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise _unreachable(url, exc) from exc


def _missing_database(url: str) -> NotFoundError:
    shown = shown_url(url)
    return NotFoundError(
        f"There is no database at {shown}. Check --db / {ENV_VAR}; create one with "
        "`healthwatch demo` or `healthwatch db upgrade`.",
        f"数据库 {shown} 不存在。请检查 --db / {ENV_VAR}；可用 `healthwatch demo` 或 "
        "`healthwatch db upgrade` 创建。",
    )


def _ensure_ready(url: str, create: bool) -> None:
    """Check (read) or bring (create) the database to the newest schema."""
    if url in _ready:
        return
    if not create and sqlite_file_missing(url):
        raise _missing_database(url)
    current, head = current_revision(url), head_revision()
    if current != head:
        if not create:
            if current is None:
                raise _missing_database(url)
            raise HealthwatchError(
                f"The database {shown_url(url)} is at schema revision {current}, not {head}: "
                "run `healthwatch db upgrade` first (it keeps every row).",
                f"数据库 {shown_url(url)} 的结构版本为 {current}，不是最新的 {head}："
                "请先运行 `healthwatch db upgrade`（不会丢失数据）。",
            )
        upgrade(url)
    _ready.add(url)


@contextmanager
def session_scope(
    db: str | None = None, *, actor: str | None = None, create: bool = False
) -> Iterator[Session]:
    """A session in one transaction: commit on success, roll back on any exception.

    ``create=False`` (reading, or changing what is there): the database must exist at the
    newest schema, else a bilingual error says how to create or upgrade it and nothing is
    written. ``create=True`` (demo, loads and imports): a missing database is created and an old
    one migrated (upgrade, never drop). No table is ever filled here.
    """
    url = resolve_url(db)
    _ensure_ready(url, create)
    session = AuditedSession(get_engine(url))
    session.info["actor"] = actor
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def read_connection(db: str | None = None) -> Iterator[ReadConnection]:
    """A pooled connection for :class:`QuickRead` lookups: no ORM session, no audit hook.

    Why: the web app checks the caller on every request, and an ORM session (or even a Core
    ``execute``) costs more than the answer. The database must exist at the newest schema, as
    for :func:`session_scope` (``create=False``); the pool rolls the connection back when it
    returns, so nothing can be written through it by accident.
    """
    url = _resolved.get(db) if db else None
    if url is None:
        url = resolve_url(db)
        if db and "://" in db:  # a full URL resolves to the same URL wherever it is used
            _resolved[db] = url
    _ensure_ready(url, False)
    engine = _engines.get(url) or get_engine(url)
    raw = engine.raw_connection()
    try:
        yield ReadConnection(raw, engine.dialect)
    finally:
        raw.close()


_resolved: dict[str, str] = {}

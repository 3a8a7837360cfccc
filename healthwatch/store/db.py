"""Database URLs, engines, migrations and transactional sessions.

The database is an SQLite file by default (``./healthwatch.sqlite``, WAL mode, foreign keys on) or
whatever ``--db`` / ``$HEALTHWATCH_DB`` names: a bare path means an SQLite file, anything with
``://`` is an SQLAlchemy URL (``postgresql://`` is read as ``postgresql+psycopg://``).

The schema belongs to the Alembic migrations packaged in ``store/migrations``; :func:`upgrade`
runs them in code (no ``alembic.ini``). :func:`session_scope` is the one way to get a session: it
migrates an old database to the current schema on first use (upgrade, never drop), fills an empty
one with the built-in regions, city populations and plans, and commits on success or rolls back on
any error, so a failed command writes nothing.
"""

from __future__ import annotations

import functools
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
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session

from healthwatch.errors import HealthwatchError
from healthwatch.store import audit as _audit  # noqa: F401  (registers the audit hook)
from healthwatch.store.models import Plan, Region

DEFAULT_SQLITE = "healthwatch.sqlite"
ENV_VAR = "HEALTHWATCH_DB"
MIGRATIONS = Path(__file__).parent / "migrations"

_engines: dict[str, Engine] = {}
_ready: set[str] = set()
_lock = threading.Lock()


def resolve_url(db: str | None = None) -> str:
    """The SQLAlchemy URL for ``--db`` (or ``$HEALTHWATCH_DB``, or the default SQLite file)."""
    raw = db or os.environ.get(ENV_VAR) or DEFAULT_SQLITE
    if "://" not in raw:
        return f"sqlite:///{Path(raw).expanduser().resolve()}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    try:
        make_url(raw)
    except ArgumentError as exc:
        raise HealthwatchError(
            f"Not a database URL: {raw!r} ({exc}). Give an SQLite file path or a URL such as "
            "postgresql+psycopg://user@host:5432/db.",
            f"无法识别的数据库地址 {raw!r}。请给出 SQLite 文件路径，或形如 "
            "postgresql+psycopg://user@host:5432/db 的地址。",
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
            engine = create_engine(url, json_serializer=_dumps, pool_pre_ping=True)
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
        _ready.difference_update({k for k in _ready if k.rsplit("#", 1)[0] == url})


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


def current_revision(db: str | None = None) -> str | None:
    """The Alembic revision the database is at (None for an empty database)."""
    url = resolve_url(db)
    try:
        with get_engine(url).connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise _unreachable(url, exc) from exc


def _ensure_ready(url: str, seed: bool) -> None:
    key = f"{url}#{seed}"
    if key in _ready:
        return
    if current_revision(url) != head_revision():
        upgrade(url)
    if seed:
        with Session(get_engine(url)) as session, session.begin():
            session.info["actor"] = "system:seed"
            seed_builtin(session)
    _ready.add(key)


def seed_builtin(session: Session) -> dict[str, int]:
    """Fill empty tables with the built-in Liaoning regions, 2021 city populations and plans."""
    from healthwatch.regions.hierarchy import liaoning_regions
    from healthwatch.regions.population import BUILTIN_SOURCE, builtin_city_populations
    from healthwatch.store.plans import save_plan
    from healthwatch.store.regions import save_populations, save_regions

    loaded = {"regions": 0, "populations": 0, "plans": 0}
    if not session.scalar(select(func.count()).select_from(Region)):
        loaded["regions"] = save_regions(session, liaoning_regions())
        loaded["populations"] = save_populations(
            session, builtin_city_populations(), actor="system:seed", source=BUILTIN_SOURCE
        )
    if not session.scalar(select(func.count()).select_from(Plan)):
        for document in builtin_plan_documents():
            save_plan(session, document, actor="system:seed")
            loaded["plans"] += 1
    return loaded


def builtin_plan_documents() -> list[dict[str, Any]]:
    """The built-in plans (Liaoning province, Anshan city) as JSON documents (fresh copies)."""
    return [json.loads(doc) for doc in _builtin_plan_texts()]


@functools.lru_cache(maxsize=1)
def _builtin_plan_texts() -> tuple[str, ...]:
    """Parsed once per process: the packaged plans do not change while it runs."""
    from healthwatch.plans.loader import builtin_plans

    return tuple(json.dumps(plan.to_json(), ensure_ascii=False) for plan in builtin_plans())


@contextmanager
def session_scope(
    db: str | None = None, *, actor: str | None = None, seed: bool = True
) -> Iterator[Session]:
    """A session in one transaction: commit on success, roll back on any exception.

    On first use in a process the database is migrated to the newest schema and, when ``seed``
    is true and its tables are empty, filled with the built-in data.
    """
    url = resolve_url(db)
    _ensure_ready(url, seed)
    session = Session(get_engine(url))
    session.info["actor"] = actor
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

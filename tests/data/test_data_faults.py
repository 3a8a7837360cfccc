"""Faults: a killed import leaves the database as it was; two imports at once both complete."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from test_data_store import counts

from healthwatch.data.synthetic import bulk_frame
from healthwatch.services import data as svc
from healthwatch.store.db import get_engine, session_scope
from healthwatch.users import LOCAL_ADMIN

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def db_url(db_url: str) -> str:
    """The empty database of conftest with the built-in reference data loaded (plans, regions)."""
    from healthwatch.services.database import install_builtin

    install_builtin(db_url)
    return db_url


def _spawn(db: str, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "healthwatch", "data", "import", str(path), "--db", db, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _writing(db: str) -> bool:
    """True once the other process is inside its bulk write."""
    if db.startswith("sqlite"):
        wal = Path(db.removeprefix("sqlite:///") + "-wal")
        return wal.exists() and wal.stat().st_size > 4_000_000
    with get_engine(db).connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY data_values%' "
                "AND pid <> pg_backend_pid()"
            )
        ).scalar()
    return bool(n)


def test_sigkill_during_a_large_import_leaves_the_database_as_before(db_url, tmp_path):
    seed = tmp_path / "seed.csv"
    seed.write_text("region,period,element,value\n210302,2023,beds,4100\n", encoding="utf-8")
    svc.import_file(seed, actor=LOCAL_ADMIN, db=db_url)
    before = counts(db_url)
    big = tmp_path / "big.csv"
    bulk_frame(150_000).to_csv(big, index=False)
    proc = _spawn(db_url, big)
    deadline = time.monotonic() + 120
    while not _writing(db_url):
        assert proc.poll() is None, f"import ended before it was killed: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert counts(db_url) == before
    # the database is not left locked or damaged: the same import now completes
    with session_scope(db_url) as s:
        assert s.execute(text("SELECT value FROM data_values")).scalar() == 4100
    result = svc.import_file(big, actor=LOCAL_ADMIN, db=db_url)
    assert result.inserted == 150_000


def test_two_imports_at_once_both_complete_and_no_value_is_lost(db_url, tmp_path):
    frame = bulk_frame(30_000, seed=3)
    a, b = frame.iloc[:17_000].copy(), frame.iloc[12_000:].copy()
    b.loc[b.index[:5_000], "value"] += 1  # 5,000 of the shared keys differ: one import wins later
    fa, fb = tmp_path / "a.csv", tmp_path / "b.csv"
    a.to_csv(fa, index=False)
    b.to_csv(fb, index=False)
    svc.current_values(db_url, actor=LOCAL_ADMIN)  # migrate and seed once, before the race
    procs = [_spawn(db_url, fa), _spawn(db_url, fb)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    values, imports = counts(db_url)
    assert imports == 2
    assert values == 30_000 + 5_000  # every key once, the shared ones in two versions
    current = svc.current_values(db_url, actor=LOCAL_ADMIN)
    assert len(current) == 30_000
    assert set(zip(current["region"], current["period"], current["element"], strict=True)) == set(
        zip(frame["region"], frame["period"], frame["element"], strict=True)
    )

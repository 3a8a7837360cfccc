"""`healthwatch serve` as a real process: it refuses a missing database, else listens, answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import free_port

REPO = Path(__file__).resolve().parents[2]


def test_serve_refuses_a_missing_database_and_creates_none(tmp_path: Path) -> None:
    db = tmp_path / "missing.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = ["serve", "--port", str(free_port()), "--db", str(db)]
    done = subprocess.run(
        [sys.executable, "-m", "healthwatch", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "不存在" in done.stderr and "There is no database" in done.stderr
    assert not db.exists()


def test_serve_answers_on_the_given_port(tmp_path: Path) -> None:
    from healthwatch.services.database import install_builtin
    from healthwatch.store.db import dispose_engine

    db = tmp_path / "serve.sqlite"
    install_builtin(str(db))  # as `healthwatch demo` would, with less data
    dispose_engine(str(db))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "healthwatch", "serve", "--port", str(port), "--db", str(db)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=1) as r:
                    assert json.load(r)["status"] == "ok"
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()[0]
                time.sleep(0.5)
        else:
            raise AssertionError("the server did not answer within 2 minutes")
        with urllib.request.urlopen(f"{base}/login", timeout=10) as r:
            page = r.read().decode()
            assert "登录" in page and r.headers["X-Frame-Options"] == "DENY"
        try:
            urllib.request.urlopen(f"{base}/api/v1/plans", timeout=10)
            raise AssertionError("anonymous request was answered")
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read())
            assert exc.code == 401 and body["code"] == "not_authenticated"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert f"http://127.0.0.1:{port}/" in out and "Traceback" not in out

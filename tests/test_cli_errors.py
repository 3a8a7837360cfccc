"""What a user sees when something goes wrong, in a real process: never a Python traceback.

An unexpected error (a bug) is provoked by replacing one library function with one that raises,
in a subprocess that then runs the real ``healthwatch.cli.main`` exactly as ``python -m
healthwatch`` does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO_ROOT

_BROKEN = textwrap.dedent(
    """
    import sys
    import healthwatch.plans.checks as checks

    def broken(*args, **kwargs):
        raise {exc}

    checks.check_builtin = broken
    from healthwatch.cli import main
    sys.argv = ["healthwatch", *{argv!r}]
    main()
    """
)


def _run_broken(exc: str, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _BROKEN.format(exc=exc, argv=argv)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        timeout=120,
    )


def test_unexpected_error_is_one_bilingual_line_and_a_log(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    proc = _run_broken(
        "RuntimeError('kaputt 42')",
        ["plans", "check", "--builtin", "--db", "postgresql://u:s3cret@h/db"],
        {"HEALTHWATCH_LOG_DIR": str(logs)},
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    line = lines[0]
    assert re.search(r"[\u4e00-\u9fff]", line.split(" / ")[0]), "Chinese first"
    assert "Unexpected error (RuntimeError)" in line
    written = list(logs.glob("error-*.log"))
    assert len(written) == 1
    assert str(written[0]) in line
    text = written[0].read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert "kaputt 42" in text
    assert "plans check --builtin" in text
    assert "s3cret" not in text, "database passwords are not logged"
    assert "postgresql://u:***@h/db" in text
    if os.name == "posix":
        assert written[0].stat().st_mode & 0o077 == 0, "the log is readable by its user only"


def test_unwritable_log_dir_falls_back(tmp_path: Path) -> None:
    """When $HEALTHWATCH_LOG_DIR cannot be used the log goes to the user's state folder."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    state = tmp_path / "state"
    proc = _run_broken(
        "ValueError('x')",
        ["plans", "check", "--builtin"],
        {"HEALTHWATCH_LOG_DIR": str(blocker / "sub"), "XDG_STATE_HOME": str(state)},
    )
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1
    written = list((state / "healthwatch").glob("error-*.log"))
    assert len(written) == 1
    assert str(written[0]) in proc.stderr


@pytest.mark.parametrize("how", ["option", "env"])
def test_debug_shows_the_traceback(tmp_path: Path, how: str) -> None:
    argv = ["plans", "check", "--builtin"]
    env = {"HEALTHWATCH_LOG_DIR": str(tmp_path)}
    if how == "option":
        argv = ["--debug", *argv]
    else:
        env["HEALTHWATCH_DEBUG"] = "1"
    proc = _run_broken("RuntimeError('kaputt 42')", argv, env)
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert "RuntimeError: kaputt 42" in proc.stderr
    assert not list(tmp_path.glob("error-*.log"))


def test_input_errors_keep_exit_2_without_log(tmp_path: Path) -> None:
    proc = _run_broken(
        "__import__('healthwatch.errors').errors.InputError("
        "[__import__('healthwatch.errors').errors.Problem('bad cell', '单元格有误', 'f.csv', 3)])",
        ["plans", "check", "--builtin"],
        {"HEALTHWATCH_LOG_DIR": str(tmp_path)},
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "f.csv:3: 单元格有误 / bad cell" in proc.stderr
    assert not list(tmp_path.glob("error-*.log"))


def test_ctrl_c_is_one_bilingual_line(tmp_path: Path) -> None:
    proc = _run_broken(
        "KeyboardInterrupt()",
        ["plans", "check", "--builtin"],
        {"HEALTHWATCH_LOG_DIR": str(tmp_path)},
    )
    assert proc.returncode == 130
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("已中断") and "Interrupted" in lines[0]


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery is POSIX")
def test_real_sigint_is_one_bilingual_line(tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT) during a command, not a simulated exception."""
    import signal
    import time

    code = textwrap.dedent(
        """
        import sys, time
        import healthwatch.plans.checks as checks

        def slow(*args, **kwargs):
            sys.stderr.write("ready\\n"); sys.stderr.flush()
            time.sleep(60)

        checks.check_builtin = slow
        from healthwatch.cli import main
        sys.argv = ["healthwatch", "plans", "check", "--builtin"]
        main()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().strip() == "ready"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert err.strip().startswith("已中断")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["plans"],
        ["plans", "load"],
        ["plans", "check"],
        ["db", "upgrade"],
        ["regions", "load"],
        ["demo"],
        ["access"],
        ["access", "facilities", "import"],
        ["surveil"],
        ["surveil", "detect"],
    ],
)
def test_dash_h_is_help_everywhere(run_cli, argv: list[str]) -> None:  # type: ignore[no-untyped-def]
    short, long = run_cli(*argv, "-h"), run_cli(*argv, "--help")
    assert short.returncode == 0, short.stderr
    assert short.stdout == long.stdout
    assert "Usage:" in short.stdout
    assert "显示帮助并退出" in short.stdout  # (Rich may wrap the English part)


def test_a_command_runs_with_rare_gc_and_main_restores_the_thresholds(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The collector's first threshold is raised while a command runs (start-up speed), and a
    caller that runs main() in its own process gets its own thresholds back."""
    import gc

    import healthwatch.cli as cli

    seen = []
    monkeypatch.setattr(
        cli, "build_app", lambda only=None: lambda **kw: seen.append(gc.get_threshold())
    )
    before = gc.get_threshold()
    cli.main(["regions", "list"])
    assert seen and seen[0][0] == cli.GC_FIRST_THRESHOLD
    assert gc.get_threshold() == before

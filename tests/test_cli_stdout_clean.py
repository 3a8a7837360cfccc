"""No library code writes to file descriptor 1: checked in a fresh process, as a user sees it.

HiGHS prints a banner with C ``printf`` when the first solver object of a process is built. That
goes to the process's real stdout, bypassing ``sys.stdout``, so in-process runners (Typer's
CliRunner, ``capsys``) never see it; only a real subprocess does. Each solve here runs in a new
interpreter because the banner is printed once per process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from conftest import REPO_ROOT

_SOLVE = textwrap.dedent(
    """
    from healthwatch.access.siting import Candidates, Demand, {model}
    demand = Demand(lon=[123.0, 123.1, 123.2], lat=[41.0, 41.05, 41.1],
                    population=[100.0, 200.0, 300.0], radius=15.0)
    candidates = Candidates(lon=[123.0, 123.15], lat=[41.0, 41.08])
    result = {model}(demand, candidates{extra})
    import sys
    sys.stderr.write("status=" + result.status + "\\n")
    """
)


@pytest.mark.parametrize(
    ("model", "extra"), [("lscp", ""), ("mclp", ", p=1"), ("mexclp", ", p=2, q=0.3")]
)
def test_solver_writes_nothing_to_stdout(model: str, extra: str) -> None:
    """The solve succeeds and the process's stdout (fd 1) stays empty: no HiGHS banner."""
    proc = subprocess.run(
        [sys.executable, "-c", _SOLVE.format(model=model, extra=extra)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "status=optimal" in proc.stderr
    assert proc.stdout == ""


def test_verbose_solver_log_goes_to_stderr() -> None:
    """Asking for the solver log still keeps stdout clean: the log is written to stderr."""
    code = _SOLVE.format(model="lscp", extra=", options=SolveOptions(verbose=True)").replace(
        "import Candidates,", "import SolveOptions, Candidates,"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "status=optimal" in proc.stderr
    assert "Coefficient ranges" in proc.stderr or "Solving" in proc.stderr


def test_python_output_before_the_solver_is_kept() -> None:
    """Silencing fd 1 around the solver's construction loses none of the program's own output."""
    solve = _SOLVE.format(model="lscp", extra="")
    code = f"print('before', flush=False)\n{solve}print('after')"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "before\nafter\n"

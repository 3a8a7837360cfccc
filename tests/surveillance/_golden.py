"""Golden files produced by R's `surveillance` package, and the live comparison against R.

Layout, one folder per method family under ``tests/surveillance/golden/<family>/``:

- ``cases.csv``: one row per case, columns ``case,method,dataset,freq,params``. ``method`` is the
  healthwatch method name (see ``healthwatch.surveillance.METHODS``); ``params`` is the control
  list in healthwatch's snake_case keyword form, ``;``-separated, e.g.
  ``b=5;w=3;alpha=0.05;reweight=TRUE;limit54=c(5,4);threshold_method=delta``.
- ``<case>.csv``: one row per cell, columns
  ``series,t[,date],observed,population,in_range,expected,upperbound,alarm`` (``NA`` where R
  gives none; ``population`` may be all NA; ``in_range`` is 1 for the cells R evaluated). With a
  ``date`` column the series is dated (an ``sts`` with ``epochAsDate = TRUE`` in R) and the
  ``Counts`` carries those dates, so methods that R aligns by calendar do so here too.

The R scripts that write them live in ``tests/surveillance/r/<family>.R`` and take the output
folder as their only argument, so a test can regenerate them live into a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from healthwatch.surveillance import Counts, DetectionResult, detect

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
R_SCRIPTS = HERE / "r"


@dataclass
class GoldenCase:
    name: str
    method: str
    dataset: str
    control: dict[str, Any]
    counts: Counts
    range: np.ndarray  # 1-based time points R evaluated
    expected: np.ndarray  # (len(range), N)
    upperbound: np.ndarray
    alarm: np.ndarray

    def __repr__(self) -> str:  # shown by pytest ids
        return f"GoldenCase({self.name})"


def parse_params(text: str) -> dict[str, Any]:
    """``b=5;reweight=TRUE;limit54=c(5,4);threshold_method=delta`` -> keyword arguments."""
    out: dict[str, Any] = {}
    if not isinstance(text, str) or not text.strip():
        return out
    for item in text.split(";"):
        key, _, raw = item.partition("=")
        out[key.strip()] = _parse_value(raw.strip())
    return out


def _parse_value(raw: str) -> Any:
    if raw in ("TRUE", "FALSE"):
        return raw == "TRUE"
    if raw in ("NULL", "NA"):
        return None
    m = re.fullmatch(r"c\((.*)\)", raw)
    if m:
        return tuple(_parse_value(x.strip()) for x in m.group(1).split(","))
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw.strip("\"'")


def _read_case(folder: Path, row: pd.Series) -> GoldenCase:
    cells = pd.read_csv(folder / f"{row['case']}.csv", na_values=["NA"], keep_default_na=True)
    names = list(dict.fromkeys(cells["series"].astype(str)))
    t_max = int(cells["t"].max())

    def grid(col: str) -> np.ndarray:
        g = np.full((t_max, len(names)), np.nan)
        col_idx = pd.Index(names).get_indexer(cells["series"].astype(str))
        g[cells["t"].to_numpy() - 1, col_idx] = cells[col].to_numpy(dtype=float)
        return g

    observed = grid("observed")
    population = grid("population") if cells["population"].notna().any() else None
    in_range = grid("in_range")
    rng = np.flatnonzero(np.nan_to_num(in_range[:, 0]) > 0) + 1
    sel = rng - 1
    epoch = None
    if "date" in cells.columns:  # a dated series (R's epochAsDate = TRUE): every row is there
        first = cells[cells["series"].astype(str) == names[0]].sort_values("t")
        epoch = first["date"].to_numpy().astype("datetime64[D]")
    counts = Counts.from_array(
        observed, freq=int(row["freq"]), names=names, population=population, epoch=epoch
    )
    return GoldenCase(
        name=str(row["case"]),
        method=str(row["method"]),
        dataset=str(row["dataset"]),
        control=parse_params(row["params"]),
        counts=counts,
        range=rng,
        expected=grid("expected")[sel],
        upperbound=grid("upperbound")[sel],
        alarm=grid("alarm")[sel],
    )


def load_cases(family: str, folder: Path | None = None) -> list[GoldenCase]:
    folder = folder or GOLDEN / family
    table = pd.read_csv(folder / "cases.csv", dtype=str, keep_default_na=False)
    return [_read_case(folder, row) for _, row in table.iterrows()]


def rscript() -> str:
    """Path of Rscript with the surveillance package, or skip the test."""
    exe = shutil.which("Rscript")
    if exe is None:
        pytest.skip("Rscript is not installed (the golden files are still checked)")
    return exe


def run_r_script(family: str, outdir: Path, timeout: int = 600) -> None:
    exe = rscript()
    env = dict(os.environ, LC_ALL="C")
    proc = subprocess.run(
        [exe, "--vanilla", str(R_SCRIPTS / f"{family}.R"), str(outdir)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if proc.returncode != 0:
        raise AssertionError(f"R script {family}.R failed:\n{proc.stderr[-4000:]}")


def assert_matches(
    result: DetectionResult,
    case: GoldenCase,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    check_expected: bool = True,
) -> None:
    """Alarms identical; upper bounds (and expected values) within ``rtol`` relative."""
    assert np.array_equal(result.t, case.range), f"{case.name}: evaluated time points differ"
    for label, ours, ref in (
        ("upperbound", result.upperbound, case.upperbound),
        ("expected", result.expected, case.expected),
    ):
        if label == "expected" and (not check_expected or np.all(np.isnan(ref))):
            continue
        both_nan = np.isnan(ours) & np.isnan(ref)
        close = np.isclose(ours, ref, rtol=rtol, atol=atol) | both_nan
        if not close.all():
            i, j = np.argwhere(~close)[0]
            raise AssertionError(
                f"{case.name}: {label} differs at t={case.range[i]} series "
                f"{case.counts.names[j]!r}: ours {ours[i, j]!r}, R {ref[i, j]!r} "
                f"({int((~close).sum())} cells differ)"
            )
    ref_alarm = case.alarm
    mask = ~np.isnan(ref_alarm)
    ours_alarm = np.asarray(result.alarm, dtype=float)
    diff = mask & (ours_alarm != ref_alarm)
    if diff.any():
        i, j = np.argwhere(diff)[0]
        raise AssertionError(
            f"{case.name}: alarm differs at t={case.range[i]} series {case.counts.names[j]!r}: "
            f"ours {bool(ours_alarm[i, j])}, R {bool(ref_alarm[i, j])} ({int(diff.sum())} cells)"
        )


def run_case(case: GoldenCase) -> DetectionResult:
    """The case's method through :func:`detect` on its counts, range and control, as R ran it."""
    return detect(case.counts, case.method, range=case.range, **case.control)


def assert_covers(
    cases: list[GoldenCase], methods: tuple[str, ...], *, datasets: int = 5, controls: int = 3
) -> None:
    """Each method's golden cases span at least ``datasets`` data sets and ``controls`` settings."""
    for method in methods:
        mine = [c for c in cases if c.method == method]
        assert len({c.dataset for c in mine}) >= datasets, method
        assert len({tuple(sorted(c.control.items(), key=str)) for c in mine}) >= controls, method

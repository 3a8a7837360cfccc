"""Backtest of the forecast intervals on real annual health series.

Data: ``gapminder`` from R's ``dslabs`` package (Debian ``r-cran-dslabs``): life expectancy and
infant mortality of 185 countries, 1960-2016, one value a year. For several forecast origins
and fitting windows of 6, 10 and 15 years, each series is fitted on the window and forecast 1-5
years ahead; the held-out values are compared with the 80 % interval.

    python benchmarks/forecast_backtest.py

prints the coverage (share of held-out values inside the 80 % interval; the target is 70-90 %),
the mean absolute percentage error and the median interval width, per indicator and window.
Exit code 1 when the overall coverage is outside 70-90 %.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from healthwatch.evaluate.forecast import forecast

R_EXPORT = (
    "library(dslabs); data(gapminder); write.csv(gapminder[, c('country','year',"
    "'life_expectancy','infant_mortality')], stdout(), row.names=FALSE)"
)


def load_gapminder() -> pd.DataFrame:
    """The dslabs gapminder table (country, year, life_expectancy, infant_mortality)."""
    out = subprocess.run(
        ["Rscript", "-e", R_EXPORT], capture_output=True, text=True, check=True, timeout=120
    )
    return pd.read_csv(io.StringIO(out.stdout))


def backtest(
    frame: pd.DataFrame,
    column: str,
    window: int,
    origins: tuple[int, ...] = (1985, 1990, 1995, 2000, 2005, 2010),
    horizon: int = 5,
    level: float = 0.8,
) -> dict[str, float]:
    wide = frame.pivot(index="country", columns="year", values=column)
    inside = total = 0
    ape: list[np.ndarray] = []
    width: list[np.ndarray] = []
    for origin in origins:
        fit_years = np.arange(origin - window + 1, origin + 1)
        test_years = np.arange(origin + 1, min(origin + horizon, 2016) + 1)
        if fit_years[0] < wide.columns.min() or len(test_years) == 0:
            continue
        fit = wide.loc[:, fit_years].to_numpy(dtype=float)
        test = wide.loc[:, test_years].to_numpy(dtype=float)
        keep = (~np.isnan(fit)).all(axis=1) & (~np.isnan(test)).all(axis=1)
        fit, test = fit[keep], test[keep]
        for j, year in enumerate(test_years):
            fc = forecast(fit_years, fit, int(year), level=level)
            actual = test[:, j]
            ok = (actual >= fc.low) & (actual <= fc.high)
            inside += int(ok.sum())
            total += len(actual)
            ape.append(np.abs(fc.value - actual) / np.abs(actual))
            width.append((fc.high - fc.low) / np.abs(actual))
    return {
        "n": float(total),
        "coverage": inside / total,
        "mape": float(np.mean(np.concatenate(ape))) * 100,
        "width": float(np.median(np.concatenate(width))) * 100,
    }


def main() -> int:
    frame = load_gapminder()
    inside = total = 0.0
    print("80% interval backtest on dslabs::gapminder (185 countries, 1960-2016)")
    print(
        f"{'indicator':<18}{'window':>7}{'held out':>10}{'coverage':>10}{'MAPE %':>9}"
        f"{'median width %':>16}"
    )
    for column in ("life_expectancy", "infant_mortality"):
        for window in (6, 10, 15):
            r = backtest(frame, column, window)
            inside += r["coverage"] * r["n"]
            total += r["n"]
            print(
                f"{column:<18}{window:>7}{int(r['n']):>10}{r['coverage']:>10.1%}"
                f"{r['mape']:>9.2f}{r['width']:>16.2f}"
            )
    overall = inside / total
    print(f"overall coverage {overall:.1%} of {int(total)} held-out values (target 70-90%)")
    return 0 if 0.70 <= overall <= 0.90 else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Write ``opensdg_progress.json``: Open SDG's own progress status and score on generated series.

Open SDG's progress measure lives in sdg-build (``sdg/ProgressMeasure.py``, MIT licence), which is
not published on PyPI. This script runs that published code, unchanged, on a set of series and
settings and stores inputs and answers, so that ``test_opensdg_reference.py`` can check that
:func:`healthwatch.evaluate.status.opensdg_progress` gives the same status and score.

Usage (with a checkout of https://github.com/open-sdg/sdg-build)::

    python tests/evaluate/golden/make_opensdg_goldens.py /path/to/sdg-build

Only ``sdg/Loggable.py`` and ``sdg/ProgressMeasure.py`` are loaded (the package's ``__init__``
imports every input and output format and their dependencies, none of which the progress code
uses). The indicator object they expect is the minimal one their code reads: ``inid``, ``data``
(a Year/Value frame), ``meta`` and ``options``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import types
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def load_progress_module(checkout: Path) -> types.ModuleType:
    sdg = types.ModuleType("sdg")
    sys.modules["sdg"] = sdg
    for name in ("Loggable", "ProgressMeasure"):
        spec = importlib.util.spec_from_file_location(
            f"sdg.{name}", checkout / "sdg" / f"{name}.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"sdg.{name}"] = module
        spec.loader.exec_module(module)
        if name == "Loggable":
            sdg.Loggable = module.Loggable  # type: ignore[attr-defined]
    return sys.modules["sdg.ProgressMeasure"]


class _Options:
    series_column = "Series"
    unit_column = "Units"
    progress_column = "Progress"
    non_disaggregation_columns: ClassVar[list[str]] = [
        "Year",
        "Series",
        "Units",
        "Value",
        "Progress",
    ]

    def get_observation_attributes(self) -> list[str]:
        return []


class _Indicator:
    def __init__(self, years: list[int], values: list[float | None], config: dict) -> None:
        self.inid = "case"
        self.data = pd.DataFrame({"Year": years, "Value": values})
        self.meta = {"auto_progress_calculation": True, "progress_calculation_options": [config]}
        self.options = _Options()


def cases(rng: np.random.Generator) -> list[dict]:
    """Hand-picked edge cases, then random series around the thresholds."""
    out: list[dict] = [
        # physicians per 1,000 (Liaoning): 2.38 -> 2.96, target 4 by 2025: moderate progress
        dict(
            years=[2015, 2020],
            values=[2.38, 2.96],
            base_year=2015,
            target=4.0,
            target_year=2025,
            direction="positive",
        ),
        # infant mortality already below the target: achieved
        dict(
            years=[2020],
            values=[3.4],
            base_year=2020,
            target=4.5,
            target_year=2025,
            direction="negative",
        ),
        # one point, not met: not available
        dict(
            years=[2020],
            values=[5.0],
            base_year=2020,
            target=4.5,
            target_year=2025,
            direction="negative",
        ),
        # base year missing from data: the next available year is used
        dict(
            years=[2016, 2018, 2021],
            values=[10.0, 9.0, 8.5],
            base_year=2015,
            target=5.0,
            target_year=2030,
            direction="negative",
        ),
        # base value zero (replaced by 0.001)
        dict(
            years=[2015, 2020],
            values=[0.0, 2.0],
            base_year=2015,
            target=10.0,
            target_year=2030,
            direction="positive",
        ),
        # target zero (replaced by 0.001)
        dict(
            years=[2015, 2020],
            values=[5.0, 3.0],
            base_year=2015,
            target=0.0,
            target_year=2030,
            direction="negative",
        ),
        # sign change: no result
        dict(
            years=[2015, 2020],
            values=[-1.0, 2.0],
            base_year=2015,
            target=10.0,
            target_year=2030,
            direction="positive",
        ),
        # negative values throughout
        dict(
            years=[2015, 2020],
            values=[-5.0, -4.0],
            base_year=2015,
            target=-1.0,
            target_year=2030,
            direction="positive",
        ),
        # no target (method 1), both directions
        dict(
            years=[2015, 2017, 2020],
            values=[50.0, 52.0, 55.0],
            base_year=2015,
            target=None,
            target_year=2030,
            direction="positive",
        ),
        dict(
            years=[2015, 2020],
            values=[50.0, 49.0],
            base_year=2015,
            target=None,
            target_year=2030,
            direction="negative",
        ),
        # no target, near a natural limit of 100%
        dict(
            years=[2015, 2020],
            values=[95.0, 96.0],
            base_year=2015,
            target=None,
            target_year=2030,
            direction="positive",
            limit=100.0,
        ),
        dict(
            years=[2015, 2020],
            values=[100.0, 100.0],
            base_year=2015,
            target=None,
            target_year=2030,
            direction="positive",
            limit=100.0,
        ),
        dict(
            years=[2015, 2020],
            values=[150.0, 140.0],
            base_year=2015,
            target=None,
            target_year=2030,
            direction="negative",
            limit=100.0,
        ),
        # moving away
        dict(
            years=[2015, 2016, 2020],
            values=[10.0, 11.0, 12.0],
            base_year=2015,
            target=5.0,
            target_year=2030,
            direction="negative",
        ),
        # missing values in the middle and at the end
        dict(
            years=[2015, 2016, 2017, 2018],
            values=[10.0, None, 9.0, None],
            base_year=2015,
            target=5.0,
            target_year=2025,
            direction="negative",
        ),
    ]
    for _ in range(300):
        n = int(rng.integers(2, 12))
        start = int(rng.integers(2010, 2018))
        years = sorted(int(y) for y in rng.choice(np.arange(start, start + 14), n, replace=False))
        level = float(rng.uniform(0.5, 200.0))
        direction = "positive" if rng.random() < 0.5 else "negative"
        sign = 1.0 if direction == "positive" else -1.0
        drift = float(rng.normal(0.01, 0.03))
        values = [
            round(level * float(np.exp(sign * drift * (y - years[0]) + rng.normal(0, 0.02))), 3)
            for y in years
        ]
        target_year = int(rng.integers(max(years) + 1, max(years) + 12))
        use_target = rng.random() < 0.8
        target = (
            round(level * float(np.exp(sign * rng.uniform(-0.05, 0.5))), 3) if use_target else None
        )
        case = dict(
            years=years,
            values=values,
            base_year=int(rng.choice([*years[:-1], years[0] - 1])),
            target=target,
            target_year=target_year,
            direction=direction,
        )
        if not use_target and rng.random() < 0.4:
            case["limit"] = round(max(values) * float(rng.uniform(1.0, 1.5)), 3)
        out.append(case)
    return out


def run(module: types.ModuleType, case: dict) -> dict:
    config = {k: case[k] for k in ("base_year", "target", "target_year", "direction") if k in case}
    if config.get("target") is None:
        config.pop("target", None)
    if "limit" in case:
        config["limit"] = case["limit"]
    series = module.SeriesProgress(_Indicator(case["years"], case["values"], config), config)
    score, status = module.IndicatorProgress(
        _Indicator(case["years"], case["values"], config)
    ).get_indicator_progress()
    as_float = module.floatNone
    return {
        "progress_value": as_float(series.progress_value),
        "series_status": series.status,
        "score": as_float(series.score),
        "indicator_status": status,
        "indicator_score": as_float(score),
        "target_achieved": bool(series.target_achieved),
        "base_year_used": as_float(series.base_year),
    }


def main() -> None:
    checkout = Path(sys.argv[1])
    module = load_progress_module(checkout)
    source = (checkout / "sdg" / "ProgressMeasure.py").read_bytes()
    rows = []
    for case in cases(np.random.default_rng(20261201)):
        rows.append({"input": case, "open_sdg": run(module, case)})
    doc = {
        "generated_by": "tests/evaluate/golden/make_opensdg_goldens.py",
        "reference": "open-sdg/sdg-build sdg/ProgressMeasure.py",
        "reference_sha256": hashlib.sha256(source).hexdigest(),
        "cases": rows,
    }
    (HERE / "opensdg_progress.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} cases")


if __name__ == "__main__":
    main()

"""The values a plan itself states: its baselines, as a table the evaluation can read.

Before any reporting, a plan can be evaluated on the figures its own text gives: the baselines
(exact figures only; '90%以上' is a bound, not a value) and a few earlier values the text states
as a difference ('比十二五末增加 0.58 人': 2.96 - 0.58 = 2.38 per 1,000 in 2015). Those derived
figures are listed in :data:`DERIVED` with the arithmetic and the sentence they come from;
``tests/evaluate/test_seed.py`` checks every sentence is the plan's own.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from healthwatch.evaluate.plan import plan_items
from healthwatch.plans.model import Plan


@dataclass(frozen=True)
class DerivedFigure:
    """An earlier value the plan states relative to its baseline."""

    plan: str
    indicator: str
    year: int
    value: float
    arithmetic: str
    source_contains: str  #: a phrase of the baseline's source sentence that states the change


DERIVED: tuple[DerivedFigure, ...] = (
    DerivedFigure(
        "liaoning-2021-2025",
        "physicians_per_1000",
        2015,
        round(2.96 - 0.58, 2),
        "2.96 - 0.58 (比十二五末增加 0.58 人)",
        "分别比十二五末增加 0.58 人和 0.82 人",
    ),
    DerivedFigure(
        "liaoning-2021-2025",
        "nurses_per_1000",
        2015,
        round(3.35 - 0.82, 2),
        "3.35 - 0.82 (比十二五末增加 0.82 人)",
        "分别比十二五末增加 0.58 人和 0.82 人",
    ),
    DerivedFigure(
        "liaoning-2021-2025",
        "beds_per_1000",
        2015,
        round(7.4 / 1.212, 2),
        "7.4 / 1.212 (比十二五末增加 21.2%)",
        "比十二五末增加 21.2%",
    ),
)


def seed_values(plan: Plan) -> pd.DataFrame:
    """Long table (indicator, region, year, value, source) of the values the plan states."""
    rows = []
    for item in plan_items(plan):
        for b in item.baselines:
            if b.qualifier == "exact":
                rows.append(
                    {
                        "indicator": item.code,
                        "region": plan.region,
                        "year": b.year,
                        "value": float(b.value),
                        "source": b.source,
                    }
                )
    for d in DERIVED:
        if d.plan == plan.id:
            rows.append(
                {
                    "indicator": d.indicator,
                    "region": plan.region,
                    "year": d.year,
                    "value": d.value,
                    "source": f"derived: {d.arithmetic}",
                }
            )
    frame = pd.DataFrame(rows, columns=["indicator", "region", "year", "value", "source"])
    return frame.sort_values(["indicator", "year"]).reset_index(drop=True)

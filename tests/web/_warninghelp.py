"""A database with two detected outbreaks for the early-warning web tests.

One outbreak in 铁东区 (210302, Anshan: the duty officer's city) and one in 和平区 (210102,
Shenyang), each seen by the fever clinics and the pharmacies over the last 3 of 45 days.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
from _webhelp import populate

from healthwatch.services import warning as svc

END = date(2024, 3, 31)
DAYS = 45
ANSHAN, SHENYANG = "210302", "210102"
QUIET = ("210303", "210304", "210103")
SOURCES = (("fever_clinic", 20), ("pharmacy_antipyretic", 40))


def feed_lines() -> list[str]:
    rng = np.random.default_rng(11)
    lines = ["date,region,source,syndrome,count"]
    for k in range(DAYS):
        day = END - timedelta(days=DAYS - 1 - k)
        for county in (ANSHAN, SHENYANG, *QUIET):
            for source, mean in SOURCES:
                value = int(rng.poisson(mean))
                if county in (ANSHAN, SHENYANG) and k >= DAYS - 3:
                    value += 50 + 15 * (k - DAYS + 3)
                lines.append(f"{day},{county},{source},fever,{value}")
    return lines


def prepare(url: str, folder: Path, names: tuple[str, ...] | None = None) -> dict[str, str]:
    """Users (all, or ``names``), the feed ingested and the last day run; returns tokens."""
    tokens = populate(url, names)
    feed = folder / "feed.csv"
    feed.write_text("\n".join(feed_lines()) + "\n", encoding="utf-8")
    svc.ingest_file(feed, db=url, today=END + timedelta(days=1))
    svc.run_day(END, db=url, notify=False)
    return tokens

"""The demo's simulated multi-source feeds for Liaoning, with documented planted outbreaks.

SYNTHETIC DATA (模拟数据). One year of daily counts for every county and for the series in
:data:`DEMO_SERIES`: Poisson counts around a county baseline (proportional to a made-up county
size), with a weekly pattern (clinic visits low at weekends, school absenteeism zero on Saturday
and Sunday) and a mild winter peak for respiratory series (a steep seasonal rise makes the
short EARS baselines lag and every county's clinics and pharmacies signal together, which is
a real weakness of EARS, not what the demo is meant to show). Each source reports about 1
day in 200 as missing (not zero), as real feeds do.

Planted outbreaks (:data:`PLANTED`), days counted back from the demo's last day ``end``:

1. influenza-like outbreak in 铁东区, Anshan (210302), from ``end - 5``: fever-clinic fever and
   ILI visits, pharmacy antipyretic sales and school absenteeism for fever rise together (four
   sources of one event; the pharmacy rises a day earlier, the school a day later);
2. diarrhoea outbreak in 和平区, Shenyang (210102), from ``end - 4``: intestinal-clinic
   diarrhoea visits, antidiarrhoeal sales and notified other infectious diarrhoea;
3. one notified cholera case in 甘井子区, Dalian (210211), on ``end - 2`` (a CIDARS
   fixed-threshold disease: one case is an alert);
4. hand, foot and mouth disease in kindergartens of three neighbouring Jinzhou counties
   (210703, 210711, 210726) from ``end - 3`` (a space-time cluster for ``warning scan``).

The demo's ``warning run`` must find 1-3 as alerts in those counties (tests check it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

__all__ = ["DEMO_SEED", "DEMO_SERIES", "PLANTED", "DemoHistory", "Planted", "demo_history"]

DEMO_SEED = 20240601
DEMO_DAYS = 365

#: (source, syndrome, mean daily count in an average county, winter peak factor, weekday kind)
DEMO_SERIES: tuple[tuple[str, str, float, float, str], ...] = (
    ("fever_clinic", "fever", 18.0, 0.2, "clinic"),
    ("fever_clinic", "ili", 9.0, 0.25, "clinic"),
    ("pharmacy_antipyretic", "fever", 40.0, 0.2, "shop"),
    ("pharmacy_cough", "cough", 35.0, 0.2, "shop"),
    ("school_absence", "fever", 12.0, 0.2, "school"),
    ("intestinal_clinic", "diarrhoea", 8.0, -0.2, "clinic"),
    ("pharmacy_antidiarrhoeal", "diarrhoea", 15.0, -0.2, "shop"),
    ("notifiable", "other_infectious_diarrhoea", 1.5, -0.2, "clinic"),
    ("notifiable", "influenza", 2.0, 0.5, "clinic"),
    ("notifiable", "cholera", 0.0, 0.0, "clinic"),
    ("kindergarten_absence", "rash", 3.0, 0.0, "school"),
    ("notifiable", "hfmd", 1.0, -0.4, "clinic"),
)


@dataclass(frozen=True)
class Planted:
    """An outbreak added to the simulated counts: extra cases per day in some series."""

    name_zh: str
    name_en: str
    regions: tuple[str, ...]
    syndrome: str
    series: tuple[tuple[str, str, int], ...]  # (source, syndrome, lead days: - earlier)
    start_before_end: int
    extra: tuple[float, ...]  # extra cases on successive days (growing)

    def describe(self, end: date) -> dict[str, Any]:
        start = end - timedelta(days=self.start_before_end)
        return {
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "regions": list(self.regions),
            "syndrome": self.syndrome,
            "sources": sorted({s for s, _, _ in self.series}),
            "start": start.isoformat(),
        }


PLANTED: tuple[Planted, ...] = (
    Planted(
        "鞍山市铁东区流感样疾病暴发",
        "influenza-like outbreak, Tiedong district, Anshan",
        ("210302",),
        "fever",
        (
            ("fever_clinic", "fever", 0),
            ("fever_clinic", "ili", 0),
            ("pharmacy_antipyretic", "fever", -1),
            ("school_absence", "fever", 1),
        ),
        5,
        (12, 20, 30, 42, 55, 65),
    ),
    Planted(
        "沈阳市和平区腹泻暴发",
        "diarrhoea outbreak, Heping district, Shenyang",
        ("210102",),
        "diarrhoea",
        (
            ("intestinal_clinic", "diarrhoea", 0),
            ("pharmacy_antidiarrhoeal", "diarrhoea", 0),
            ("notifiable", "other_infectious_diarrhoea", 1),
        ),
        4,
        (10, 18, 26, 34, 40),
    ),
    Planted(
        "大连市甘井子区霍乱病例",
        "a cholera case, Ganjingzi district, Dalian",
        ("210211",),
        "cholera",
        (("notifiable", "cholera", 0),),
        2,
        (1,),
    ),
    Planted(
        "锦州市三县区托幼机构手足口病聚集",
        "hand, foot and mouth disease in kindergartens of three Jinzhou counties",
        ("210703", "210711", "210726"),
        "rash",
        (("kindergarten_absence", "rash", 0), ("notifiable", "hfmd", 0)),
        3,
        (5, 8, 11, 14),
    ),
)


@dataclass
class DemoHistory:
    start: date
    days: int
    matrices: dict[tuple[str, str], np.ndarray]


def _weekday_factor(kind: str, weekday: np.ndarray) -> np.ndarray:
    if kind == "school":
        return np.where(weekday >= 5, 0.0, 1.0)
    if kind == "clinic":
        return np.where(weekday >= 5, 0.75, 1.05)
    return np.where(weekday >= 5, 1.15, 0.95)


def demo_history(regions: Sequence[str], end: date, seed: int = DEMO_SEED) -> DemoHistory:
    """The simulated counts (days x regions per series), planted outbreaks included."""
    rng = np.random.default_rng(seed)
    start = end - timedelta(days=DEMO_DAYS - 1)
    days = np.datetime64(start, "D") + np.arange(DEMO_DAYS)
    weekday = (days.astype(int) + 3) % 7  # 1970-01-01 was a Thursday
    doy = (days - days.astype("datetime64[Y]")).astype(int)
    winter = np.cos(2 * np.pi * (doy - 15) / 365.25)  # peak mid-January
    size = rng.lognormal(0.0, 0.35, len(regions))  # made-up county sizes
    matrices: dict[tuple[str, str], np.ndarray] = {}
    for source, syndrome, mean, peak, kind in DEMO_SERIES:
        mu = mean * np.exp(peak * winter)[:, None] * _weekday_factor(kind, weekday)[:, None]
        counts = rng.poisson(mu * size[None, :]).astype(float)
        if mean > 0:
            counts[rng.random(counts.shape) < 0.005] = np.nan
        matrices[(source, syndrome)] = counts
    index = {r: i for i, r in enumerate(regions)}
    for outbreak in PLANTED:
        for source, syndrome, lead in outbreak.series:
            m = matrices[(source, syndrome)]
            first = DEMO_DAYS - 1 - outbreak.start_before_end + lead
            for region in outbreak.regions:
                if region not in index:
                    continue
                col = index[region]
                for k, extra in enumerate(outbreak.extra):
                    row = first + k
                    if 0 <= row < DEMO_DAYS:
                        base = 0.0 if np.isnan(m[row, col]) else m[row, col]
                        m[row, col] = base + rng.poisson(extra)
                        if outbreak.syndrome == "cholera":
                            m[row, col] = extra
    return DemoHistory(start=start, days=DEMO_DAYS, matrices=matrices)

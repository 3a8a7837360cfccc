"""The demo's synthetic indicator panel, the plans' baselines as reported values, bulk test data.

**Everything made here except** :func:`baseline_values` **is invented** and stored with the
synthetic flag. The panel exists so that the platform can be shown and tested end to end before
a commission loads its own figures; no figure of it may be quoted as a fact.

How the panel is built (``demo_panel``), 2015–2025, every county of Liaoning:

* Counts, not rates. Each county gets a resident population (its city's 2021 figure split
  equally, as the demo's population table does, declining 0.6 % a year), and from it the
  denominators (live births at a falling birth rate, patients under management, survey
  respondents …). Numerators are drawn around a provincial trajectory with a county effect
  (normal on the logit scale for proportions, log-normal for other rates) and a little yearly
  noise, then rounded to whole numbers by largest remainder so that the **sums** over the
  province (and over Anshan, where the Anshan plan states a figure) give the stated rate exactly
  to the printed precision. The province's 2020 infant mortality is therefore 3.40‰ as
  aggregated from 100 counties' deaths and births, and Anshan's 2019 figure 3.53‰.
* Trajectories pass through every figure the plans state (Liaoning 2020 baselines, Anshan
  2015/2019/2020 figures and context figures); elsewhere they are plausible guesses, smooth
  between 2015 and 2025.
* Cities and the province report their own figures of every indicator (element = indicator
  code), as a yearbook would: the aggregate rounded to 2 decimals, or the stated baseline.
* Planted problems, so that evaluation and the checks have something to find:
  ``gps_per_10000`` (binding, ≥4.6 by 2025) lags at about 3.5; Haicheng (210381) reports four
  times its infant deaths in 2022 (an outlier); Changtu county (211224) has not reported 2025;
  Tieling (211200) publishes a beds-per-1,000 figure for 2024 6 % above its counties' sum
  (a gap between own figure and aggregate).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from healthwatch.data.elements import Definitions, load_definitions

__all__ = [
    "PANEL_SOURCE",
    "PANEL_YEARS",
    "PLANTED",
    "baseline_values",
    "bulk_frame",
    "demo_panel",
]

PANEL_YEARS = tuple(range(2015, 2026))
PANEL_SEED = 2021
PANEL_SOURCE = (
    "模拟数据（healthwatch.data.synthetic，种子 2021）：演示用，非真实统计 / synthetic demo panel "
    "(healthwatch.data.synthetic, seed 2021), not real statistics"
)
PLANTED: dict[str, dict[str, Any]] = {
    "lagging_binding_indicator": {"indicator": "gps_per_10000", "target": 4.6, "reaches": 3.5},
    "outlier": {"region": "210381", "period": "2022", "element": "infant_deaths", "factor": 4},
    "not_reported": {"region": "211224", "period": "2025"},
    "own_figure_gap": {
        "region": "211200",
        "period": "2024",
        "indicator": "beds_per_1000",
        "factor": 1.06,
    },
}
ANSHAN = "210300"


def _curve(points: dict[int, float]) -> Callable[[int], float]:
    """Piecewise-linear trajectory through ``points`` (constant slope beyond the ends)."""
    xs = sorted(points)
    ys = [points[x] for x in xs]

    def f(year: int) -> float:
        if len(xs) == 1:
            return ys[0]
        if year <= xs[0]:
            slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
            return ys[0] + slope * (year - xs[0])
        if year >= xs[-1]:
            slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
            return ys[-1] + slope * (year - xs[-1])
        return float(np.interp(year, xs, ys))

    return f


@dataclass(frozen=True)
class _Rate:
    """How one indicator's numerator is drawn: provincial trajectory, Anshan's, county spread."""

    indicator: str
    province: dict[int, float]
    anshan: dict[int, float] | None = None
    spread: float = 0.15


#: Provincial (and Anshan) trajectories; stated figures are marked with the plan they come from.
RATES: tuple[_Rate, ...] = (
    _Rate(
        "infant_mortality", {2015: 4.6, 2020: 3.4, 2025: 3.0}, {2019: 3.53}, 0.25
    ),  # LN 2020, AS 2019
    _Rate("under5_mortality", {2015: 5.9, 2020: 4.5, 2025: 4.0}, {2019: 4.4}, 0.2),  # AS 2019
    _Rate("maternal_mortality", {2015: 13.5, 2020: 10.8, 2025: 9.8}, {2019: 10.23}, 0.3),  # LN, AS
    _Rate("oop_share", {2015: 32.0, 2025: 27.4}, None, 0.08),
    _Rate("immunization_coverage_township", {2015: 95.0, 2025: 99.0}, None, 0.5),
    _Rate("hiv_prevalence", {2015: 0.025, 2025: 0.045}, None, 0.3),
    _Rate("smi_management", {2015: 72.0, 2025: 86.0}, None, 0.3),
    _Rate("hypertension_primary_management", {2015: 66.0, 2020: 76.72, 2025: 81.0}, None, 0.25),
    _Rate("diabetes_primary_management", {2015: 65.0, 2020: 75.4, 2025: 80.5}, None, 0.25),
    _Rate("elderly_health_management", {2015: 56.0, 2025: 68.0}, None, 0.2),
    _Rate("workplace_hazard_monitoring_pass", {2015: 80.0, 2025: 88.0}, None, 0.3),
    _Rate("maternal_system_management", {2015: 90.5, 2020: 92.3, 2025: 93.0}, {2020: 91.0}, 0.3),
    _Rate("child_u3_health_management", {2015: 88.0, 2025: 93.0}, None, 0.3),
    _Rate("child_u3_system_management", {2015: 87.0, 2025: 91.5}, {2020: 90.6}, 0.3),
    _Rate("prenatal_screening", {2015: 60.0, 2025: 80.0}, None, 0.3),
    _Rate("child_0_6_health_management", {2015: 92.0, 2020: 94.3, 2025: 95.0}, None, 0.3),
    _Rate("child_myopia", {2015: 52.0, 2020: 55.0, 2025: 53.0}, None, 0.1),
    _Rate("childcare_places_per_1000", {2015: 0.8, 2025: 3.2}, None, 0.2),
    _Rate("tertiary_alos", {2015: 10.5, 2025: 8.8}, None, 0.06),
    _Rate("nosocomial_infection_rate", {2015: 1.4, 2025: 0.9}, None, 0.2),
    _Rate("beds_per_1000", {2015: 6.3, 2020: 7.4, 2025: 8.0}, {2020: 7.12}, 0.12),  # LN, AS ctx
    _Rate("physicians_per_1000", {2015: 2.5, 2020: 2.96, 2025: 3.6}, {2020: 2.3}, 0.12),
    _Rate("nurses_per_1000", {2015: 2.7, 2020: 3.35, 2025: 3.9}, {2020: 2.7}, 0.12),
    _Rate("gps_per_10000", {2015: 1.8, 2020: 3.0, 2025: 3.5}, {2020: 2.71}, 0.15),  # lagging
    _Rate("pharmacists_per_1000", {2015: 0.38, 2025: 0.46}, None, 0.12),
    _Rate("ambulances_per_30000", {2015: 0.6, 2025: 0.95}, None, 0.2),
    _Rate("national_hygienic_city_share", {2015: 30.0, 2025: 52.0}, None, 0.8),
    _Rate("health_literacy", {2015: 12.0, 2020: 25.18, 2025: 31.0}, None, 0.2),
    _Rate("smoking_rate_15plus", {2015: 30.0, 2025: 26.0}, None, 0.1),
    _Rate("tb_incidence", {2015: 70.0, 2020: 58.0, 2025: 48.0}, None, 0.25),  # LN ctx 2020
    _Rate("notifiable_disease_reporting_rate", {2015: 95.0, 2025: 98.5}, None, 0.5),
    _Rate("preconception_checkup_coverage", {2015: 80.0, 2025: 90.0}, None, 0.3),
    _Rate("outpatient_appointment_hospital_share", {2015: 62.0, 2025: 99.0}, None, 0.6),
)

#: Live births of a year for Anshan or the province, chosen so that whole numbers of deaths give
#: the stated rates exactly: Anshan 2019 2 maternal deaths / 19,550 = 10.23 per 10万, 69 infant
#: deaths = 3.53‰, 86 under-five deaths = 4.40‰; Liaoning 2020 27 / 250,000 = 10.8 per 10万,
#: 850 = 3.40‰.
BIRTH_TOTALS: dict[tuple[int, str], int] = {(2019, ANSHAN): 19550, (2020, "210000"): 250000}

#: Direct values: provincial trajectory, Anshan's, and the county spread (same unit).
DIRECT: dict[str, tuple[dict[int, float], dict[int, float] | None, float]] = {
    "life_expectancy": ({2015: 78.2, 2020: 79.0, 2025: 79.9}, {2015: 78.9, 2019: 79.39}, 0.8),
    "healthy_life_expectancy": ({2015: 68.5, 2025: 70.5}, None, 0.8),
    "premature_ncd_mortality": ({2015: 19.0, 2025: 15.5}, None, 1.2),
}


def _largest_remainder(x: np.ndarray, total: int) -> np.ndarray:
    """Whole numbers proportional to ``x`` that add up to exactly ``total``."""
    x = np.maximum(x, 0.0)
    if x.sum() <= 0 or total <= 0:
        return np.zeros(len(x), dtype=np.int64)
    scaled = x / x.sum() * total
    base = np.floor(scaled).astype(np.int64)
    rest = total - int(base.sum())
    if rest > 0:
        order = np.argsort(-(scaled - base), kind="stable")
        base[order[:rest]] += 1
    return base


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _proportions(den: np.ndarray, effect: np.ndarray, target: float) -> np.ndarray:
    """County proportions logit-normal around ``target`` with den-weighted mean exactly target."""
    lo, hi = -20.0, 20.0
    for _ in range(60):  # bisection on the common shift
        mid = (lo + hi) / 2
        mean = np.sum(den * _expit(mid + effect)) / den.sum()
        lo, hi = (mid, hi) if mean < target else (lo, mid)
    return _expit((lo + hi) / 2 + effect)


class _Panel:
    def __init__(self, defs: Definitions, seed: int) -> None:
        from healthwatch.data.populations import builtin_city_populations
        from healthwatch.regions.hierarchy import liaoning_regions
        from healthwatch.regions.population import synthetic_county_split

        self.defs = defs
        self.rng = np.random.default_rng(seed)
        regions = liaoning_regions()
        self.parent = {r.adcode: r.parent for r in regions}
        self.counties = sorted(r.adcode for r in regions if r.level == "county")
        self.cities = sorted(r.adcode for r in regions if r.level == "city")
        pop2021 = {r.adcode: r.persons for r in synthetic_county_split(builtin_city_populations())}
        self.pop2021 = np.array([pop2021[c] for c in self.counties])
        self.in_anshan = np.array([self.parent[c] == ANSHAN for c in self.counties])
        self.rows: list[pd.DataFrame] = []
        n = len(self.counties)
        self.effects = {r.indicator: self.rng.normal(0, 1, n) for r in RATES}

    def add(self, year: int, element: str, values: np.ndarray) -> None:
        self.rows.append(
            pd.DataFrame(
                {
                    "region": self.counties,
                    "period": str(year),
                    "element": element,
                    "value": np.asarray(values, dtype=float),
                }
            )
        )

    def denominators(self, year: int) -> dict[str, np.ndarray]:
        n = len(self.counties)
        rng = self.rng
        t = year - 2015
        pop = np.round(self.pop2021 * (1 - 0.006) ** (year - 2021) * rng.normal(1, 0.002, n))
        birth_rate = (6.2 - 0.2 * t) / 1000 * np.exp(self.effects["infant_mortality"] * 0.02)
        births = np.round(pop * birth_rate * rng.normal(1, 0.03, n))
        births = self._fix_total(births, year)
        sex_ratio = _curve({2015: 107.5, 2025: 105.5})(year) + rng.normal(0, 1.5, n)
        male = np.round(births * sex_ratio / (100 + sex_ratio))
        d = {
            "resident_population": pop,
            "live_births": births,
            "live_births_male": male,
            "live_births_female": births - male,
            "deliveries": births - np.round(births * 0.01),
            "total_health_expenditure": np.round(
                pop * (4500 + 250 * t) / 1e4 * rng.normal(1, 0.05, n)
            ),
            "townships_total": np.round(8 + (self.pop2021 / 60000)).clip(5, 40),
            "smi_registered": np.round(pop * 0.0045 * rng.normal(1, 0.05, n)),
            "hypertension_managed": np.round(pop * 0.06 * rng.normal(1, 0.05, n)),
            "diabetes_managed": np.round(pop * 0.02 * rng.normal(1, 0.05, n)),
            "elderly_65_population": np.round(pop * (0.14 + 0.006 * t)),
            "workplaces_monitored": np.round(pop / 5000).clip(10),
            "children_u3": np.round(births * 3.05),
            "children_0_6": np.round(births * 6.6),
            "students_screened_vision": np.round(pop * 0.12),
            "tertiary_discharges": np.round(pop * 0.05 * rng.normal(1, 0.05, n)),
            "hospital_discharges": np.round(pop * 0.15 * rng.normal(1, 0.05, n)),
            "cities_total": np.ones(n),
            "literacy_respondents": np.full(n, 300.0),
            "respondents_15plus": np.full(n, 300.0),
            "notifiable_cases_due": np.round(pop * 0.002 * rng.normal(1, 0.1, n)),
            "preconception_target": np.round(pop * 0.004),
            "public_hospitals": np.round(2 + self.pop2021 / 150000),
        }
        return d

    def _fix_total(self, births: np.ndarray, year: int) -> np.ndarray:
        """Live births of the stated years set so that integer deaths give the stated rates."""
        out = births.copy()
        for (y, group), total in BIRTH_TOTALS.items():
            if y != year:
                continue
            mask = self.in_anshan if group == ANSHAN else np.ones(len(out), dtype=bool)
            if group == ANSHAN:
                out[mask] = _largest_remainder(births[mask], total)
            else:  # the province: keep Anshan's fixed births, scale the others
                rest = ~self.in_anshan
                out[rest] = _largest_remainder(births[rest], total - int(out[~rest].sum()))
        return out

    def numerators(self, year: int, den: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        noise_sd = 0.03
        for spec in RATES:
            ind = self.defs.indicators[spec.indicator]
            assert ind.numerator is not None and ind.denominator is not None
            d = den[ind.denominator] if ind.denominator in den else out[ind.denominator]
            target = _curve(spec.province)(year)
            effect = self.effects[spec.indicator] * spec.spread
            effect = effect + self.rng.normal(0, noise_sd, len(d))
            if ind.proportion and ind.unit == "percent":
                share = _proportions(d, effect, target / 100)
                raw = d * share
            else:
                raw = d * target / ind.factor * np.exp(effect)
            if spec.indicator == "under5_mortality":
                # under-five deaths = infant deaths + deaths at ages 1-4, the latter calibrated to
                # the difference of the two rates, so both aggregate to their stated figures
                im = next(r for r in RATES if r.indicator == "infant_mortality")
                diff = _Rate(
                    "under5_mortality",
                    {y: v - _curve(im.province)(y) for y, v in spec.province.items()},
                    {y: v - (im.anshan or {}).get(y, 0.0) for y, v in (spec.anshan or {}).items()},
                )
                gap = _curve(diff.province)(year)
                extra = self._calibrate(raw * gap / target, d, ind.factor, gap, diff, year)
                out[ind.numerator] = out["infant_deaths"] + extra
                continue
            num = self._calibrate(raw, d, ind.factor, target, spec, year)
            if ind.proportion:
                num = np.minimum(num, d)
            out[ind.numerator] = num
        return out

    def _calibrate(
        self, raw: np.ndarray, den: np.ndarray, factor: float, target: float, spec: _Rate, year: int
    ) -> np.ndarray:
        """Round so that the province (and Anshan, where stated) sum to the trajectory's rate."""
        total = round(target * den.sum() / factor)
        if spec.anshan is None:
            return _largest_remainder(raw, total).astype(float)
        # Anshan's curve: the provincial one scaled through Anshan's stated figure(s)
        known = sorted(spec.anshan)
        ratio = np.mean([spec.anshan[y] / _curve(spec.province)(y) for y in known])
        a_target = spec.anshan[year] if year in spec.anshan else target * ratio
        a = self.in_anshan
        a_total = round(a_target * den[a].sum() / factor)
        out = np.zeros(len(raw))
        out[a] = _largest_remainder(raw[a], a_total)
        out[~a] = _largest_remainder(raw[~a], total - a_total)
        return out

    def direct(self, year: int) -> dict[str, np.ndarray]:
        out = {}
        for code, (prov, anshan, spread) in DIRECT.items():
            base = _curve(prov)(year)
            rng = np.random.default_rng(zlib.crc32(code.encode()))  # stable county offsets
            offset = rng.normal(0, spread, len(self.counties))
            values = base + offset + self.rng.normal(0, spread / 10, len(self.counties))
            if anshan is not None:
                ratio = np.mean([anshan[y] - _curve(prov)(y) for y in sorted(anshan)])
                target = anshan.get(year, base + ratio)
                values[self.in_anshan] += target - values[self.in_anshan].mean()
            out[code] = np.round(values, 2)
        return out


def demo_panel(seed: int = PANEL_SEED, defs: Definitions | None = None) -> pd.DataFrame:
    """The synthetic panel as a long table region, period, element, value (see module docstring)."""
    defs = defs or load_definitions()
    panel = _Panel(defs, seed)
    for year in PANEL_YEARS:
        den = panel.denominators(year)
        num = panel.numerators(year, den)
        for code, values in {**den, **num, **panel.direct(year)}.items():
            panel.add(year, code, values)
    counties = pd.concat(panel.rows, ignore_index=True)
    extra = {"under5_deaths": "infant_deaths"}  # under-5 deaths include infant deaths
    for u5, im in extra.items():
        wide = counties[counties["element"].isin([u5, im])].pivot_table(
            index=["region", "period"], columns="element", values="value"
        )
        fixed = np.maximum(wide[u5], wide[im])
        mask = counties["element"].eq(u5)
        keys = list(zip(counties.loc[mask, "region"], counties.loc[mask, "period"], strict=True))
        counties.loc[mask, "value"] = fixed.reindex(keys).to_numpy()
    counties = _plant(counties)
    own = _own_figures(counties, defs, panel)
    return pd.concat([counties, own], ignore_index=True)


def _plant(frame: pd.DataFrame) -> pd.DataFrame:
    o = PLANTED["outlier"]
    hit = (frame["region"] == o["region"]) & (frame["period"] == o["period"])
    frame.loc[hit & (frame["element"] == o["element"]), "value"] *= o["factor"]
    # under-5 deaths include the (inflated) infant deaths
    u5 = hit & (frame["element"] == "under5_deaths")
    im = frame.loc[hit & (frame["element"] == o["element"]), "value"].iloc[0]
    frame.loc[u5, "value"] = np.maximum(frame.loc[u5, "value"], im)
    nr = PLANTED["not_reported"]
    gone = (frame["region"] == nr["region"]) & (frame["period"] == nr["period"])
    return frame[~gone].reset_index(drop=True)


def _own_figures(counties: pd.DataFrame, defs: Definitions, panel: _Panel) -> pd.DataFrame:
    """Cities' and the province's own published figures: aggregates rounded, direct means."""
    from healthwatch.data.validate import compute_indicators

    city_of = counties["region"].map(panel.parent)
    rows = []
    for key in (city_of, pd.Series("210000", index=counties.index)):
        summed = counties.assign(region=key)
        summable = summed[~summed["element"].isin(DIRECT)]
        agg = summable.groupby(["region", "period", "element"], as_index=False)["value"].sum()
        wide = agg.pivot_table(index=["region", "period"], columns="element", values="value")
        ind = compute_indicators(wide, defs)
        ind["value"] = ind["value"].round(2)
        direct = summed[summed["element"].isin(DIRECT)]
        direct = direct.groupby(["region", "period", "element"], as_index=False)["value"].mean()
        for code, (prov, anshan, _) in DIRECT.items():
            for region, curve in (("210000", prov), (ANSHAN, anshan)):
                if curve is None:
                    continue
                hit = direct["region"].eq(region) & direct["element"].eq(code)
                years = direct.loc[hit, "period"].astype(int)
                if region == ANSHAN:
                    shift = np.mean([curve[y] - _curve(prov)(y) for y in curve])
                    direct.loc[hit, "value"] = [
                        curve.get(y, _curve(prov)(y) + shift) for y in years
                    ]
                else:
                    direct.loc[hit, "value"] = [_curve(curve)(y) for y in years]
        direct["value"] = direct["value"].round(2)
        rows += [ind.rename(columns={"indicator": "element"}), direct]
    own = pd.concat(rows, ignore_index=True)[["region", "period", "element", "value"]]
    g = PLANTED["own_figure_gap"]
    hit = (
        (own["region"] == g["region"])
        & (own["period"] == g["period"])
        & (own["element"] == g["indicator"])
    )
    own.loc[hit, "value"] = (own.loc[hit, "value"] * g["factor"]).round(2)
    return own


def baseline_values() -> pd.DataFrame:
    """Every figure the two plans state for a year, as a reported value with its source sentence.

    Real figures (not synthetic): the indicator table's baselines and the context figures whose
    code has a definition. A bound (达90%以上) is stored at its value with a comment saying so.
    """
    from healthwatch.plans import builtin_plans

    defs = load_definitions()
    rows = []
    for plan in builtin_plans():
        items = [(i.code, b) for i in plan.indicators for b in i.baselines]
        items += [(c.code, c.baseline) for c in plan.context_figures]
        items += [(s.code, b) for s in plan.supplementary_targets for b in s.baselines]
        for code, b in items:
            if code not in defs.indicators:
                continue
            comment = {
                "at_least": "规划原文为下限（以上）/ the plan states a lower bound",
                "at_most": "规划原文为上限（以下）/ the plan states an upper bound",
            }.get(b.qualifier, "")
            rows.append(
                {
                    "region": plan.region,
                    "period": str(b.year),
                    "element": code,
                    "value": b.value,
                    "comment": comment,
                    "source": f"{plan.name_zh}：{b.source}",
                }
            )
    return pd.DataFrame(rows, columns=["region", "period", "element", "value", "comment", "source"])


def bulk_frame(target_values: int, seed: int = 1) -> pd.DataFrame:
    """About ``target_values`` valid values for every Liaoning region: monthly, quarterly and
    yearly figures of the monthly elements and yearly figures of the rest, going back from 2025
    as many years as needed (the benchmark and the fault tests use it)."""
    from healthwatch.regions.hierarchy import liaoning_regions

    defs = load_definitions()
    rng = np.random.default_rng(seed)
    regions = np.array(sorted(r.adcode for r in liaoning_regions()))
    monthly = [c for c, e in defs.elements.items() if "month" in e.periods]
    yearly = [c for c, e in defs.elements.items() if "month" not in e.periods]
    per_year = len(regions) * (17 * len(monthly) + len(yearly))
    years = max(1, int(np.ceil(target_values / per_year)))
    periods_m = [f"{y}{m:02d}" for y in range(2026 - years, 2026) for m in range(1, 13)]
    periods_q = [f"{y}Q{q}" for y in range(2026 - years, 2026) for q in range(1, 5)]
    periods_y = [str(y) for y in range(2026 - years, 2026)]
    frames = []
    safe = _safe_values(defs)
    safe_ratio = {
        i.numerator: safe[i.numerator] / safe[i.denominator]
        for i in defs.indicators.values()
        if i.numerator
        and i.denominator
        and i.bounds
        and i.numerator not in ("infant_deaths", "under5_deaths", "maternal_deaths")
    }
    for codes, periods in ((monthly, periods_m + periods_q + periods_y), (yearly, periods_y)):
        n = len(regions) * len(periods)
        reg = np.repeat(regions, len(periods))
        per = np.tile(np.array(periods), len(regions))
        scale = np.where(
            pd.Series(per).str.len().to_numpy() == 4,
            12.0,
            np.where(pd.Series(per).str.contains("Q").to_numpy(), 3.0, 1.0),
        )
        made: dict[str, np.ndarray] = {}
        for code in codes:
            base = safe[code]
            noise = rng.normal(1, 0.02, n)
            kind = defs.elements[code].kind
            value = base * noise * (scale if code in monthly else 1.0)
            made[code] = np.round(value) if kind == "count" else np.round(value, 2)
        for ind in defs.indicators.values():  # numerators follow their denominators
            num, den = ind.numerator, ind.denominator
            if num in made and den in made and num in safe_ratio:
                value = made[den] * safe_ratio[num] * rng.normal(1, 0.01, n)
                made[num] = np.round(np.minimum(value, made[den]) if ind.proportion else value)
        if "live_births" in made:  # boys and girls add up to the births (a validation rule)
            made["live_births_male"] = np.round(made["live_births"] * 0.515)
            made["live_births_female"] = made["live_births"] - made["live_births_male"]
        for code, value in made.items():
            frames.append(
                pd.DataFrame({"region": reg, "period": per, "element": code, "value": value})
            )
    out = pd.concat(frames, ignore_index=True)
    return out.iloc[:target_values].reset_index(drop=True) if len(out) > target_values else out


def _safe_values(defs: Definitions) -> dict[str, float]:
    """A value per element that passes every proportion and rule (numerators well below
    denominators, male + female births = births)."""
    base = {c: 1000.0 for c in defs.elements}
    base.update(
        {
            "resident_population": 500000.0,
            "live_births": 300.0,
            "deliveries": 297.0,
            "live_births_male": 150.0,
            "live_births_female": 150.0,
            "infant_deaths": 1.0,
            "under5_deaths": 2.0,
            "maternal_deaths": 0.0,
            "tertiary_inpatient_days": 9000.0,
            "elderly_65_population": 90000.0,
            "children_0_6": 20000.0,
            "children_u3": 9000.0,
            "life_expectancy": 79.0,
            "healthy_life_expectancy": 70.0,
            "premature_ncd_mortality": 16.0,
        }
    )
    fixed = {"infant_deaths", "under5_deaths", "maternal_deaths", "live_births_male"}
    for ind in defs.indicators.values():
        if ind.numerator in fixed or ind.denominator is None or ind.bounds is None:
            continue
        # the middle of the plausible range, so that the data are clean, as most files are
        middle = (ind.bounds[0] + ind.bounds[1]) / 2
        num_code, den_code = str(ind.numerator), ind.denominator
        den = base[den_code]
        if "month" in defs.elements[den_code].periods and "month" not in (
            defs.elements[num_code].periods
        ):
            den *= 12  # a yearly numerator over the year's figure of a monthly denominator
        base[num_code] = den * middle / ind.factor
    base["hiv_living_cases"] = 150.0
    return base

"""The daily run fuses sources with their correlation estimated from the stored history."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from healthwatch.services import warning as svc
from healthwatch.store.db import session_scope
from healthwatch.store.warning_models import WarningSignal
from healthwatch.warning import integrate
from healthwatch.warning.fusion import combine_pvalues, correlation_from_counts

END = date(2024, 3, 31)
DAYS = 45
COUNTIES = ["210302", "210303", "210304", "210102", "210103", "210104"]
OUTBREAK = "210302"


def _shared(rng: np.random.Generator, days: int, counties: int) -> np.ndarray:
    """A county-day factor both sources share (weather, the same patients)."""
    return np.exp(0.35 * rng.standard_normal((days, counties)))


def test_correlation_from_counts_sees_shared_variation_not_county_size():
    rng = np.random.default_rng(3)
    size = rng.uniform(5, 50, 40)  # big counties have more of everything
    common = _shared(rng, 60, 40)
    a = rng.poisson(size * common).astype(float)
    b = rng.poisson(2 * size * common).astype(float)
    c = rng.poisson(size, (60, 40)).astype(float)
    c[5, 3] = np.nan
    r = correlation_from_counts({"a": a, "b": b, "c": c})
    assert r.sources == ("a", "b", "c")
    assert r.matrix[0, 1] > 0.4  # the shared factor
    assert abs(r.matrix[0, 2]) < 0.1 and abs(r.matrix[1, 2]) < 0.1  # size alone is no correlation
    assert r.n_pairs[0, 2] == 60 * 40 - 1


def test_correlated_sources_give_a_less_extreme_combined_p():
    p = np.array([1e-4, 1e-3])
    rho = correlation_from_counts(
        {
            "a": np.arange(100.0).reshape(50, 2) % 7,
            "b": np.arange(100.0).reshape(50, 2) % 7 + (np.arange(100).reshape(50, 2) % 2),
        }
    ).matrix
    assert rho[0, 1] > 0.5
    assert combine_pvalues(p, "fisher", correlation=rho) > 10 * combine_pvalues(p, "fisher")


def _feed(tmp_path) -> str:
    rng = np.random.default_rng(7)
    common = _shared(rng, DAYS, len(COUNTIES))
    lines = ["date,region,source,syndrome,count"]
    for k in range(DAYS):
        day = END - timedelta(days=DAYS - 1 - k)
        for j, county in enumerate(COUNTIES):
            for source, mean in (("fever_clinic", 20), ("pharmacy_antipyretic", 40)):
                value = int(rng.poisson(mean * common[k, j]))
                if county == OUTBREAK and k >= DAYS - 3:
                    value += 60 + 20 * (k - DAYS + 3)
                lines.append(f"{day},{county},{source},fever,{value}")
    path = tmp_path / "feed.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_the_run_uses_the_estimated_correlation_and_keeps_it_as_evidence(db_url, tmp_path):
    svc.ingest_file(_feed(tmp_path), db=db_url, today="2024-04-01")
    svc.run_day(END, db=db_url, notify=False)
    with session_scope(db_url) as s:
        alerts = [a for a in svc.list_alerts(s) if a["region"] == OUTBREAK]
        assert len(alerts) == 1
        detail = svc.alert_detail(s, alerts[0]["id"])
        neighbours = svc._neighbours(s)  # the map the run used
        histories = [(c["source"], c["syndrome"], c["history_days"]) for c in svc.list_configs(s)]
        series = svc.read_series(s, histories, END)  # what the run read
        rows = s.execute(
            select(
                WarningSignal.region,
                WarningSignal.date,
                WarningSignal.source,
                WarningSignal.syndrome,
                WarningSignal.p_value,
                WarningSignal.score,
                WarningSignal.single_case,
            )
        ).all()
    corr = detail["evidence"]["correlation"]
    assert corr["version"] == svc.CORRELATION_VERSION
    assert corr["sources"] == ["fever_clinic", "pharmacy_antipyretic"]
    rho = corr["matrix"][0][1]
    assert rho > 0.3  # the shared factor, estimated from the stored history (not identity)
    assert corr["n_pairs"][0][1] >= 30
    # the alert's p-value is the correlation-adjusted one, less extreme than independence gives
    signals = pd.DataFrame(
        rows, columns=["region", "date", "source", "syndrome", "p_value", "score", "single_case"]
    )
    signals["date"] = pd.to_datetime(signals["date"])
    independent = integrate.fuse(signals, neighbours, integrate.default_rules())
    p_independent = next(a for a in independent if a["region"] == OUTBREAK)["p_value"]
    assert detail["p_value"] > 10 * p_independent
    estimated = svc.source_correlations(series)["fever"]
    rules = replace(integrate.default_rules(), correlation=estimated)
    adjusted = [a for a in integrate.fuse(signals, neighbours, rules) if a["region"] == OUTBREAK]
    assert detail["p_value"] == pytest.approx(adjusted[0]["p_value"], rel=1e-9, abs=0)
    assert "已按来源间相关性校正" in detail["reason_zh"]


def test_pairwise_correlation_equals_numpy_pair_by_pair():
    """The matrix-product estimate equals np.corrcoef on each pair's complete rows."""
    from healthwatch.warning.fusion import _nearest_correlation, estimate_source_correlation

    rng = np.random.default_rng(1)
    for _ in range(30):
        n, k = int(rng.integers(5, 300)), int(rng.integers(2, 7))
        x = rng.normal(size=(n, k)) @ rng.normal(size=(k, k)) + 10 * rng.normal(size=k)
        x[rng.random((n, k)) < 0.3] = np.nan
        if k > 2:
            x[:, 2] = 3.0  # constant: no correlation with anything
        ok = np.isfinite(x)
        expected, pairs = np.eye(k), np.zeros((k, k), dtype=np.int64)
        for i in range(k):
            for j in range(i, k):
                both = ok[:, i] & ok[:, j]
                pairs[i, j] = pairs[j, i] = both.sum()
                a, b = x[both, i], x[both, j]
                if i != j and both.sum() >= 30 and a.std() > 0 and b.std() > 0:
                    expected[i, j] = expected[j, i] = np.corrcoef(a, b)[0, 1]
        got = estimate_source_correlation(x, kind="z", min_pairs=30)
        assert (got.n_pairs == pairs).all()
        assert got.matrix == pytest.approx(_nearest_correlation(expected), abs=1e-9)

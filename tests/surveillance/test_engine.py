"""The engine: chunked runs equal one run over all series; the Dask path equals the local one."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from healthwatch.errors import InputError
from healthwatch.surveillance import METHODS, Counts, DetectionResult, engine, resolve_range


def moving_mean(counts: Counts, *, range=None, b: int = 7, z: float = 3.0) -> DetectionResult:
    """A tiny vectorised detector (mean + z sd of the previous b points) to test the engine."""
    rng = resolve_range(counts, range, b + 1)
    y = counts.observed
    idx = rng[:, None] - 1 - np.arange(1, b + 1)[None, :]
    ref = y[idx]  # (R, b, N)
    mu = ref.mean(axis=1)
    sd = ref.std(axis=1, ddof=1)
    ub = mu + z * sd
    obs = y[rng - 1]
    return DetectionResult(
        method="moving_mean",
        t=rng,
        names=list(counts.names),
        expected=mu,
        upperbound=ub,
        alarm=obs > ub,
        score=(obs - mu) / np.where(sd > 0, sd, np.nan),
        observed=obs,
        control={"b": b, "z": z, "sd": sd},
    )


@pytest.fixture(scope="module")
def counts() -> Counts:
    gen = np.random.default_rng(7)
    lam = gen.gamma(2.0, 3.0, size=(1, 203))
    y = gen.poisson(lam, size=(120, 203)).astype(float)
    y[5, 17] = np.nan
    return Counts.from_array(y, names=[f"s{i}" for i in range(203)])


def assert_same(a: DetectionResult, b: DetectionResult) -> None:
    assert a.names == b.names
    np.testing.assert_array_equal(a.t, b.t)
    for field in ("expected", "upperbound", "alarm", "score", "observed"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert a.control.keys() == b.control.keys()
    for key, value in a.control.items():
        np.testing.assert_array_equal(value, b.control[key], err_msg=key)


def test_plan_chunks_cover_all_series() -> None:
    parts = engine.plan_chunks(10, 4)
    assert parts == [slice(0, 4), slice(4, 8), slice(8, 10)]
    with pytest.raises(InputError):
        engine.plan_chunks(10, 0)


def test_chunk_size_shrinks_with_longer_series_and_heavier_methods() -> None:
    budget = 64 * 2**20
    assert engine.chunk_size(365, "ears_c1", budget) > engine.chunk_size(3650, "ears_c1", budget)
    assert engine.chunk_size(365, "glrnb", budget) < engine.chunk_size(365, "ears_c1", budget)
    # 8 bytes x T x factor per series must fit the budget
    n = engine.chunk_size(520, "glrnb", budget)
    assert n * 520 * 8 * 24 <= budget
    # the fused Farrington kernel holds five count tables and its results per series
    n = engine.chunk_size(520, "farrington_flexible", budget)
    assert 64 <= n and n * 520 * 8 * 8 <= budget


def test_chunked_equals_unchunked(counts: Counts) -> None:
    whole = moving_mean(counts, range="60:120", b=9)
    seen: list[tuple[int, int]] = []
    chunked = engine.run(
        counts,
        moving_mean,
        chunk_series=17,
        progress=lambda d, t: seen.append((d, t)),
        range="60:120",
        b=9,
    )
    assert_same(whole, chunked)
    assert seen[-1] == (203, 203) and len(seen) == 12
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_iter_results_yields_pieces_in_order(counts: Counts) -> None:
    pieces = list(engine.iter_results(counts, moving_mean, chunk_series=100))
    assert [len(p.names) for p in pieces] == [100, 100, 3]
    assert pieces[2].names == counts.names[200:]


def test_stream_matches_run(counts: Counts) -> None:
    batches = (counts.select(slice(a, a + 50)) for a in range(0, 203, 50))
    parts = list(engine.stream(batches, moving_mean, b=5))
    assert_same(engine.join(parts), moving_mean(counts, b=5))


def test_registered_methods_chunked_equal_unchunked(counts: Counts) -> None:
    """Every method that exists gives the same answer chunked (series are independent)."""
    short_history: dict[str, dict[str, Any]] = {
        "farrington": {"b": 1},
        "farrington_flexible": {"b": 1, "no_periods": 3},
        "cidars_mpm": {"years": 1},
    }
    for name in METHODS:
        control = short_history.get(name, {})
        # every registered method must import and run on this fixture: an ImportError or an
        # InputError here is a failure, not a reason to skip the method
        whole = engine.run(counts, name, chunk_series=10_000, range="110:120", **control)
        got = engine.run(counts, name, chunk_series=41, range="110:120", **control)
        assert_same(whole, got)


@pytest.mark.slow
def test_dask_local_cluster_equals_local(counts: Counts) -> None:
    distributed = pytest.importorskip("distributed")
    local = engine.run(counts, moving_mean, chunk_series=50, range="30:120")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        seen: list[int] = []
        remote = engine.run(
            counts,
            moving_mean,
            client=client,
            progress=lambda d, t: seen.append(d),
            range="30:120",
        )
        assert_same(local, remote)
        assert seen[-1] == 203
        # registered methods by name
        cases: tuple[tuple[str, dict[str, Any]], ...] = (
            ("ears_c1", {}),
            ("farrington_flexible", {"b": 1, "no_periods": 3}),
            ("farrington", {"b": 1}),
        )
        for name, control in cases:
            expected = engine.run(counts, name, chunk_series=60, range="110:120", **control)
            got = engine.run(counts, name, client=client, range="110:120", **control)
            assert_same(expected, got)
        streamed = list(
            engine.stream(
                (counts.select(slice(a, a + 64)) for a in range(0, 203, 64)),
                moving_mean,
                client=client,
                max_in_flight=2,
                range="30:120",
            )
        )
        assert_same(local, engine.join(streamed))


def test_reuse_overwrites_one_scratch_result_and_gives_the_same_values(counts: Counts) -> None:
    """EARS takes ``out=``: with reuse the pieces share arrays but each is right when yielded."""
    fresh = [
        (p.names, p.upperbound.copy(), p.alarm.copy())
        for p in engine.iter_results(counts, "ears_c2", chunk_series=50)
    ]
    buffers = set()
    for (names, ub, alarm), piece in zip(
        fresh, engine.iter_results(counts, "ears_c2", chunk_series=50, reuse=True), strict=True
    ):
        assert piece.names == names
        np.testing.assert_array_equal(piece.upperbound, ub)
        np.testing.assert_array_equal(piece.alarm, alarm)
        buffers.add(piece.upperbound.ctypes.data)
    assert len(buffers) == 1  # all five pieces (the last has 3 series) share one buffer
    whole = engine.run(counts, "ears_c2", chunk_series=10_000)
    assert_same(whole, engine.run(counts, "ears_c2", chunk_series=50))
    streamed = engine.stream(
        (counts.select(slice(a, a + 50)) for a in range(0, 200, 50)), "ears_c1", reuse=True
    )
    totals = [int(p.alarm.sum()) for p in streamed]
    assert sum(totals) == int(engine.run(counts.select(slice(0, 200)), "ears_c1").alarm.sum())


def test_join_keeps_per_series_control_arrays(counts: Counts) -> None:
    parts = list(engine.iter_results(counts, moving_mean, chunk_series=64, b=5))
    joined = engine.join(parts)
    whole = moving_mean(counts, b=5)
    assert_same(whole, joined)
    assert joined.control["sd"].shape == whole.control["sd"].shape
    assert joined.control["b"] == 5


def test_ears_runs_unchunked_unless_chunks_are_asked_for(counts: Counts) -> None:
    """EARS needs no memory beyond its result: one call, identical to the chunked run."""
    seen: list[int] = []
    for name in ("ears_c1", "c3"):
        once = engine.run(counts, name, range="100:120")
        chunked = engine.run(counts, name, range="100:120", progress=lambda d, t: seen.append(d))
        assert_same(once, chunked)
        assert_same(once, engine.run(counts, name, range="100:120", chunk_series=37))


@pytest.mark.slow
def test_dask_worker_processes_equal_local(counts: Counts) -> None:
    """Workers in their own processes (data pickled across) give bit-identical results."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        for name, control in (("ears_c3", {}), ("farrington_flexible", {"b": 1, "no_periods": 3})):
            local = engine.run(counts, name, range="110:120", **control)
            remote = engine.run(
                counts, name, client=client, chunk_series=70, range="110:120", **control
            )
            assert len(client.scheduler_info()["workers"]) == 2
            assert_same(local, remote)

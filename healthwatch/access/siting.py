"""Optimal siting of EMS stations and ambulances: LSCP, MCLP and MEXCLP solved exactly with HiGHS.

Models (``N_i`` = candidate sites within demand point ``i``'s own radius ``S_i``):

* LSCP (Toregas et al. 1971): ``min sum_j x_j`` s.t. ``sum_{j in N_i} x_j >= 1`` for every
  ``i``; ``x_j`` binary. Existing stations have ``x_j = 1``.
* MCLP (Church & ReVelle 1974): ``max sum_i a_i y_i`` s.t. ``y_i <= sum_{j in N_i} x_j``,
  ``sum_{j new} x_j = p``, ``x_j`` binary, ``0 <= y_i <= 1``. Existing stations have ``x_j = 1``.
* MEXCLP (Daskin 1983): ``max sum_i sum_k h_i (1-q) q^(k-1) y_ik`` s.t.
  ``sum_k y_ik <= sum_{j in N_i} x_j``, ``sum_j x_j <= existing + p``, ``x_j`` integer
  (ambulances per site, at least the existing ones), ``0 <= y_ik <= 1``.

"Exact" means the reported solution is proven optimal by HiGHS' branch and bound within
``mip_rel_gap`` (default 0, so optimal up to HiGHS' absolute tolerance 1e-6) unless the status
says otherwise; ``gap`` is HiGHS' relative gap between the incumbent and its dual bound. The
``y`` variables are continuous because, for integer ``x``, an optimal ``y`` is integral anyway.

Preprocessing keeps the optimum unchanged and is what makes large instances fast:

1. demand points already covered by an existing station are a constant in the objective
   (MCLP) or already satisfied (LSCP) and are dropped; so are zero-population points (MCLP);
2. demand points with identical candidate sets are merged, their populations summed;
3. (LSCP, MCLP) a candidate whose set of coverable points is contained in another candidate's
   set is dropped: any solution using it stays feasible and no worse with the other one. For
   MCLP the cardinality row becomes ``sum x_j <= p`` and a solution with fewer than ``p`` sites
   is padded with the unused candidates reaching most people (which cannot change the value).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import numpy.typing as npt
from scipy import sparse

from healthwatch.access.distance import (
    FloatArray,
    IntArray,
    Reach,
    check_points,
    plain,
    point_feature,
    within_radius,
)
from healthwatch.errors import InputError, Problem

MAX_NAMED_POINTS = 50
"""An infeasibility error names at most this many demand points, then says how many more."""


@dataclass(frozen=True)
class Demand:
    """Demand points: coordinates (degrees), population and service radius (scalar or per point).

    ``radius`` is in km for great-circle reach; with a network :class:`Reach` it is whatever the
    reach was built with (km or minutes) and is only used for reporting.
    """

    lon: npt.ArrayLike
    lat: npt.ArrayLike
    population: npt.ArrayLike
    radius: npt.ArrayLike
    ids: npt.ArrayLike | None = None

    def arrays(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        lon = np.asarray(self.lon, dtype=float)
        lat = np.asarray(self.lat, dtype=float)
        pop = np.asarray(self.population, dtype=float)
        radius = np.broadcast_to(np.asarray(self.radius, dtype=float), lon.shape)
        return lon, lat, pop, radius

    def id_list(self) -> list[Any]:
        n = np.asarray(self.lon).size
        return list(range(n)) if self.ids is None else [plain(v) for v in np.asarray(self.ids)]


@dataclass(frozen=True)
class Candidates:
    """Candidate sites; ``existing`` > 0 marks an existing station (its ambulance count)."""

    lon: npt.ArrayLike
    lat: npt.ArrayLike
    existing: npt.ArrayLike | None = None
    ids: npt.ArrayLike | None = None

    def arrays(self) -> tuple[FloatArray, FloatArray, IntArray]:
        lon = np.asarray(self.lon, dtype=float)
        lat = np.asarray(self.lat, dtype=float)
        if self.existing is None:
            existing = np.zeros(lon.size, dtype=np.int64)
        else:
            existing = np.round(np.asarray(self.existing, dtype=float)).astype(np.int64)
        return lon, lat, existing

    def id_list(self) -> list[Any]:
        n = np.asarray(self.lon).size
        return list(range(n)) if self.ids is None else [plain(v) for v in np.asarray(self.ids)]


@dataclass(frozen=True)
class SolveOptions:
    """HiGHS options. ``mip_rel_gap=0`` asks for a proven optimum."""

    time_limit: float = 600.0
    mip_rel_gap: float = 0.0
    threads: int | None = None
    verbose: bool = False
    random_seed: int = 0


@dataclass
class SitingResult:
    """A solved siting model, with everything needed for tables, JSON and maps."""

    model: str
    status: str
    objective: float | None
    gap: float | None
    dual_bound: float | None
    seconds: float
    site_index: IntArray
    ambulances: IntArray
    candidate_ids: list[Any]
    candidate_lon: FloatArray
    candidate_lat: FloatArray
    candidate_existing: IntArray
    covered: npt.NDArray[np.bool_]
    demand_ids: list[Any]
    demand_lon: FloatArray
    demand_lat: FloatArray
    demand_population: FloatArray
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def covered_population(self) -> float:
        return float(self.demand_population[self.covered].sum())

    @property
    def total_population(self) -> float:
        return float(self.demand_population.sum())

    @property
    def new_sites(self) -> IntArray:
        """Indices of the sites opened (or given ambulances) that were not existing stations."""
        return self.site_index[self.candidate_existing[self.site_index] == 0]

    def selected_rows(self) -> list[dict[str, Any]]:
        rows = []
        for j, amb in zip(self.site_index, self.ambulances, strict=True):
            rows.append(
                {
                    "id": self.candidate_ids[j],
                    "lon": float(self.candidate_lon[j]),
                    "lat": float(self.candidate_lat[j]),
                    "ambulances": int(amb),
                    "existing": bool(self.candidate_existing[j] > 0),
                }
            )
        return rows

    def to_json(self) -> dict[str, Any]:
        """The stable JSON of ``access site --json`` (extra keys: dual_bound, new_sites, stats)."""
        return {
            "model": self.model,
            "status": self.status,
            "objective": self.objective,
            "gap": self.gap,
            "selected": self.selected_rows(),
            "covered_population": self.covered_population,
            "total_population": self.total_population,
            "seconds": self.seconds,
            "dual_bound": self.dual_bound,
            "new_sites": len(self.new_sites),
            "stats": self.stats,
        }

    def to_geojson(self, demand: str = "uncovered") -> dict[str, Any]:
        """FeatureCollection of the selected sites and the ``"uncovered"``/``"all"``/``"none"``
        demand points, with a ``kind`` property (site / demand) to style them on a map."""
        features: list[dict[str, Any]] = []
        for row in self.selected_rows():
            props = {"kind": "site", "model": self.model, **row}
            features.append(point_feature(row["lon"], row["lat"], props))
        if demand != "none":
            which = (
                np.arange(self.covered.size) if demand == "all" else np.flatnonzero(~self.covered)
            )
            for i in which:
                props = {
                    "kind": "demand",
                    "id": self.demand_ids[i],
                    "population": float(self.demand_population[i]),
                    "covered": bool(self.covered[i]),
                }
                features.append(point_feature(self.demand_lon[i], self.demand_lat[i], props))
        return {"type": "FeatureCollection", "features": features}


# --------------------------------------------------------------------------- input checks


def _check(demand: Demand, candidates: Candidates) -> None:
    lon, lat, pop, radius = demand.arrays()
    c_lon, c_lat, existing = candidates.arrays()
    problems: list[Problem] = []
    if not (lat.shape == lon.shape == pop.shape):
        problems.append(
            Problem(
                "demand lon, lat and population must have the same length",
                "需求点经度、纬度与人口的长度必须一致",
            )
        )
    if c_lat.shape != c_lon.shape or existing.shape != c_lon.shape:
        problems.append(
            Problem(
                "candidate lon, lat and existing must have the same length",
                "候选站点经度、纬度与既有标记的长度必须一致",
            )
        )
    if problems:
        raise InputError(problems)
    check_points(lon, lat, pop, ids=demand.ids, bbox=None)
    check_points(c_lon, c_lat, ids=candidates.ids, bbox=None)
    bad_radius = np.flatnonzero(~np.isfinite(radius) | (radius < 0))
    bad_existing = np.flatnonzero(existing < 0)
    ids_d, ids_c = demand.id_list(), candidates.id_list()
    problems += [
        Problem(
            f"demand point {ids_d[i]} (row {i + 1}): radius {radius[i]} must be >= 0",
            f"需求点 {ids_d[i]}（第 {i + 1} 行）：服务半径 {radius[i]} 必须不小于 0",
            field="radius",
        )
        for i in bad_radius[:MAX_NAMED_POINTS]
    ]
    problems += [
        Problem(
            f"candidate {ids_c[j]} (row {j + 1}): existing {existing[j]} must be >= 0",
            f"候选站点 {ids_c[j]}（第 {j + 1} 行）：既有数量 {existing[j]} 必须不小于 0",
            field="existing",
        )
        for j in bad_existing[:MAX_NAMED_POINTS]
    ]
    if problems:
        raise InputError(problems)


def _reach_for(demand: Demand, candidates: Candidates, reach: Reach | None) -> Reach:
    lon, lat, _, radius = demand.arrays()
    c_lon, c_lat, _ = candidates.arrays()
    if reach is None:
        return within_radius(lon, lat, radius, c_lon, c_lat)
    if reach.n_demand != lon.size or reach.n_sites != c_lon.size:
        raise InputError(
            [
                Problem(
                    f"reach is {reach.n_demand} x {reach.n_sites} but there are {lon.size} "
                    f"demand points and {c_lon.size} candidates",
                    "可达矩阵的维度与需求点、候选站点数量不一致",
                )
            ]
        )
    return reach


def unreachable_error(demand: Demand, rows: IntArray, what: str = "LSCP") -> InputError:
    """InputError naming the demand points that no candidate site can reach."""
    ids = demand.id_list()
    radius = demand.arrays()[3]
    problems = [
        Problem(
            f"demand point {ids[i]} (row {i + 1}): no candidate site within its radius "
            f"{radius[i]:g}; add a candidate near it or enlarge the radius",
            f"需求点 {ids[i]}（第 {i + 1} 行）：服务半径 {radius[i]:g} 内没有任何候选站点，"
            "请在其附近增加候选站点或放宽服务半径",
            field="lon/lat",
        )
        for i in rows[:MAX_NAMED_POINTS]
    ]
    if rows.size > MAX_NAMED_POINTS:
        more = rows.size - MAX_NAMED_POINTS
        problems.append(Problem(f"... and {more} more such points", f"……另有 {more} 个此类需求点"))
    return InputError(
        problems,
        f"{what} is infeasible: {rows.size} demand point(s) cannot be covered by any candidate.",
        f"{what} 无可行解：{rows.size} 个需求点无法被任何候选站点覆盖。",
    )


# --------------------------------------------------------------------------- preprocessing


def _merge_rows(b: sparse.csr_matrix, weight: FloatArray) -> tuple[sparse.csr_matrix, FloatArray]:
    """Merge rows with identical column sets (summing weights); rows must have sorted indices."""
    if b.shape[0] == 0:
        return b, weight
    keys = [b.indices[b.indptr[i] : b.indptr[i + 1]].tobytes() for i in range(b.shape[0])]
    seen: dict[bytes, int] = {}
    group = np.fromiter((seen.setdefault(k, len(seen)) for k in keys), np.int64, len(keys))
    first = np.full(len(seen), -1, dtype=np.int64)
    first[group[::-1]] = np.arange(group.size)[::-1]
    merged_w = np.bincount(group, weights=weight, minlength=len(seen)).astype(float)
    return b[first], merged_w


def _undominated_columns(b: sparse.csr_matrix) -> npt.NDArray[np.bool_]:
    """Columns whose row set is not contained in another column's (ties keep the lowest index)."""
    size = np.asarray(b.sum(axis=0)).ravel()
    overlap = (b.T @ b).tocoo()
    j, k, v = overlap.row, overlap.col, overlap.data
    off = j != k
    j, k, v = j[off], k[off], v[off]
    contained = v >= size[j] - 0.5
    dominated_by = contained & ((size[k] > size[j]) | ((size[k] == size[j]) & (k < j)))
    keep = size > 0
    keep[j[dominated_by]] = False
    return np.asarray(keep)


@dataclass
class _Reduced:
    b: sparse.csr_matrix  # merged demand rows x kept free columns (0/1)
    weight: FloatArray  # summed population of each merged row
    columns: IntArray  # candidate index of each column of b
    constant: float  # objective part fixed by existing stations


def _reduce_cover(
    a: sparse.csr_matrix,
    weight: FloatArray,
    existing: npt.NDArray[np.bool_],
    *,
    drop_zero_weight: bool,
    dominance: bool,
) -> _Reduced:
    covered_by_existing = np.asarray(a[:, existing].sum(axis=1)).ravel() > 0
    rows = ~covered_by_existing & (np.diff(a.indptr) > 0)
    if drop_zero_weight:
        rows &= weight > 0
    free = np.flatnonzero(~existing)
    b = a[rows][:, free].tocsr()
    b.sort_indices()
    w = weight[rows]
    b, w = _merge_rows(b, w)
    if dominance and b.shape[1] > 0:
        keep = _undominated_columns(b)
        free, b = free[keep], b[:, np.flatnonzero(keep)].tocsr()
        b.sort_indices()
        b, w = _merge_rows(b, w)
    constant = float(weight[covered_by_existing].sum())
    return _Reduced(b, w, free.astype(np.int64), constant)


# --------------------------------------------------------------------------- HiGHS


@dataclass
class _Solved:
    status: str
    objective: float | None
    dual_bound: float | None
    gap: float | None
    x: FloatArray
    seconds: float


_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
    highspy.HighsModelStatus.kSolutionLimit: "solution_limit",
    highspy.HighsModelStatus.kIterationLimit: "iteration_limit",
}


@contextlib.contextmanager
def _stdout_fd_to_devnull() -> Iterator[None]:
    """Point file descriptor 1 at /dev/null for the block, flushing C and Python buffers.

    HiGHS prints its banner with C ``printf`` when the first ``Highs`` object of a process is
    constructed, before any option can be set, straight to the process's real stdout: that
    broke ``--json`` output (and is invisible to in-process test runners). No library of this
    package may write to stdout, so the construction runs with fd 1 on /dev/null.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no stdout at all (a daemon): nothing to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        _flush_c_stdio()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _flush_c_stdio() -> None:
    """fflush(NULL): push out whatever C code left in stdio buffers (while fd 1 is /dev/null)."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


def _quiet_highs(*, verbose: bool) -> highspy.Highs:
    """A HiGHS instance that never writes to stdout, from its construction on.

    ``verbose`` sends the solver log to stderr (through HiGHS' logging callback) instead of the
    console, so machine-readable output on stdout stays clean either way.
    """
    with _stdout_fd_to_devnull():
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(verbose))
    h.setOptionValue("log_to_console", False)
    if verbose:
        h.cbLogging += _log_to_stderr
    return h


def _log_to_stderr(event: highspy.HighsCallbackEvent) -> None:
    sys.stderr.write(event.message)


def _solve_milp(
    cost: FloatArray,
    col_lower: FloatArray,
    col_upper: FloatArray,
    integer: npt.NDArray[np.bool_],
    rows: sparse.csr_matrix,
    row_lower: FloatArray,
    row_upper: FloatArray,
    *,
    maximize: bool,
    offset: float,
    options: SolveOptions,
) -> _Solved:
    """Pass the whole model to HiGHS in one call (row-wise CSR) and solve it."""
    start = time.perf_counter()
    lp = highspy.HighsLp()
    lp.num_col_ = int(cost.size)
    lp.num_row_ = int(rows.shape[0])
    lp.col_cost_ = np.ascontiguousarray(cost, dtype=float)
    lp.col_lower_ = np.ascontiguousarray(col_lower, dtype=float)
    lp.col_upper_ = np.ascontiguousarray(col_upper, dtype=float)
    lp.row_lower_ = np.ascontiguousarray(row_lower, dtype=float)
    lp.row_upper_ = np.ascontiguousarray(row_upper, dtype=float)
    matrix = lp.a_matrix_
    matrix.format_ = highspy.MatrixFormat.kRowwise
    matrix.num_row_ = lp.num_row_
    matrix.num_col_ = lp.num_col_
    matrix.start_ = rows.indptr.astype(np.int32)
    matrix.index_ = rows.indices.astype(np.int32)
    matrix.value_ = rows.data.astype(float)
    lp.a_matrix_ = matrix
    lp.integrality_ = [
        highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
        for flag in integer
    ]
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    lp.offset_ = float(offset)
    h = _quiet_highs(verbose=options.verbose)
    h.setOptionValue("time_limit", float(options.time_limit))
    h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
    h.setOptionValue("random_seed", int(options.random_seed))
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    h.passModel(lp)
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    status = _STATUS.get(model_status, h.modelStatusToString(model_status).lower())
    has_solution = info.primal_solution_status == 2
    x = np.asarray(h.getSolution().col_value, dtype=float) if has_solution else np.zeros(0)
    objective = float(info.objective_function_value) if has_solution else None
    dual = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else None
    gap: float | None = float(info.mip_gap) if np.isfinite(info.mip_gap) else None
    if status == "optimal" and objective is not None and (dual is None or gap is None):
        dual, gap = objective, 0.0
    return _Solved(status, objective, dual, gap, x, time.perf_counter() - start)


def _trivial(objective: float) -> _Solved:
    return _Solved("optimal", objective, objective, 0.0, np.zeros(0), 0.0)


def _result(
    model: str,
    solved: _Solved,
    open_count: IntArray,
    demand: Demand,
    candidates: Candidates,
    a: sparse.csr_matrix,
    seconds: float,
    stats: dict[str, Any],
) -> SitingResult:
    d_lon, d_lat, pop, _ = demand.arrays()
    c_lon, c_lat, existing = candidates.arrays()
    site_index = np.flatnonzero(open_count > 0).astype(np.int64)
    covered = np.asarray(a @ (open_count > 0).astype(float)).ravel() > 0
    return SitingResult(
        model=model,
        status=solved.status,
        objective=solved.objective,
        gap=solved.gap,
        dual_bound=solved.dual_bound,
        seconds=seconds,
        site_index=site_index,
        ambulances=open_count[site_index].astype(np.int64),
        candidate_ids=candidates.id_list(),
        candidate_lon=c_lon,
        candidate_lat=c_lat,
        candidate_existing=existing,
        covered=covered,
        demand_ids=demand.id_list(),
        demand_lon=d_lon,
        demand_lat=d_lat,
        demand_population=pop,
        stats=stats,
    )


# --------------------------------------------------------------------------- models


def lscp(
    demand: Demand,
    candidates: Candidates,
    *,
    reach: Reach | None = None,
    options: SolveOptions | None = None,
) -> SitingResult:
    """Fewest new stations so that every demand point is within its radius of a station.

    The objective counts all open stations (existing ones included), as PySAL spopt does.
    Raises :class:`InputError` naming the demand points no candidate can reach, before solving.
    """
    started = time.perf_counter()
    options = options or SolveOptions()
    _check(demand, candidates)
    r = _reach_for(demand, candidates, reach)
    unreachable = np.flatnonzero(r.counts == 0)
    if unreachable.size:
        raise unreachable_error(demand, unreachable, "LSCP")
    a = r.matrix()
    _, _, pop, _ = demand.arrays()
    existing = candidates.arrays()[2] > 0
    red = _reduce_cover(a, np.ones(pop.size), existing, drop_zero_weight=False, dominance=True)
    n_existing = float(existing.sum())
    ncol, nrow = red.b.shape[1], red.b.shape[0]
    if nrow == 0:
        solved = _trivial(n_existing)
    else:
        solved = _solve_milp(
            np.ones(ncol),
            np.zeros(ncol),
            np.ones(ncol),
            np.ones(ncol, dtype=bool),
            red.b,
            np.ones(nrow),
            np.full(nrow, np.inf),
            maximize=False,
            offset=n_existing,
            options=options,
        )
    open_count = existing.astype(np.int64)
    if solved.x.size:
        open_count[red.columns[solved.x > 0.5]] = 1
    stats = {"rows": nrow, "columns": ncol, "solver_seconds": solved.seconds}
    return _result(
        "lscp", solved, open_count, demand, candidates, a, time.perf_counter() - started, stats
    )


def mclp(
    demand: Demand,
    candidates: Candidates,
    p: int,
    *,
    reach: Reach | None = None,
    options: SolveOptions | None = None,
) -> SitingResult:
    """Most population within reach with ``p`` new stations (existing stations kept open).

    The objective is the population covered by existing and new stations together.
    """
    started = time.perf_counter()
    options = options or SolveOptions()
    _check(demand, candidates)
    existing = candidates.arrays()[2] > 0
    n_free = int((~existing).sum())
    if not 0 <= p <= n_free:
        raise InputError(
            [
                Problem(
                    f"p = {p} new stations, but there are {n_free} candidate sites that are not "
                    "existing stations: choose p between 0 and that number",
                    f"新增站点数 p = {p}，但非既有候选站点只有 {n_free} 个：p 应在 0 与该数之间",
                    field="p",
                )
            ]
        )
    r = _reach_for(demand, candidates, reach)
    a = r.matrix()
    _, _, pop, _ = demand.arrays()
    red = _reduce_cover(a, pop, existing, drop_zero_weight=True, dominance=True)
    nrow, ncol = red.b.shape
    if nrow == 0 or p == 0:
        solved = _trivial(red.constant)
    else:
        # columns: x (ncol, binary) then y (nrow, continuous in [0, 1]).
        link = sparse.hstack([-red.b, sparse.identity(nrow, format="csr")], format="csr")
        budget = sparse.csr_matrix(np.concatenate([np.ones(ncol), np.zeros(nrow)])[None, :])
        rows = sparse.vstack([link, budget], format="csr")
        solved = _solve_milp(
            np.concatenate([np.zeros(ncol), red.weight]),
            np.zeros(ncol + nrow),
            np.ones(ncol + nrow),
            np.concatenate([np.ones(ncol, dtype=bool), np.zeros(nrow, dtype=bool)]),
            rows,
            np.full(nrow + 1, -np.inf),
            np.concatenate([np.zeros(nrow), [float(p)]]),
            maximize=True,
            offset=red.constant,
            options=options,
        )
    open_count = existing.astype(np.int64)
    if solved.x.size:
        open_count[red.columns[solved.x[:ncol] > 0.5]] = 1
    _pad_to_p(open_count, existing, p, a, pop)
    stats = {"rows": nrow, "columns": ncol, "solver_seconds": solved.seconds}
    return _result(
        "mclp", solved, open_count, demand, candidates, a, time.perf_counter() - started, stats
    )


def _pad_to_p(
    open_count: IntArray,
    existing: npt.NDArray[np.bool_],
    p: int,
    a: sparse.csr_matrix,
    pop: FloatArray,
) -> None:
    """Open further sites (most population in reach first) until exactly ``p`` new are open."""
    missing = p - int(((open_count > 0) & ~existing).sum())
    if missing <= 0:
        return
    reach_pop = np.asarray(a.T @ pop).ravel()
    unused = np.flatnonzero((open_count == 0) & ~existing)
    order = unused[np.lexsort((unused, -reach_pop[unused]))]
    open_count[order[:missing]] = 1


def _pad_ambulances(
    count: IntArray, upper: IntArray, total: int, a: sparse.csr_matrix, pop: FloatArray
) -> None:
    """Place ambulances the optimum left unused (they add nothing, e.g. q = 0) so that all
    ``total`` are allocated: at the sites with most population in reach, within their caps."""
    missing = total - int(count.sum())
    if missing <= 0:
        return
    reach_pop = np.asarray(a.T @ pop).ravel()
    for j in np.lexsort((np.arange(count.size), -reach_pop)):
        add = min(missing, int(upper[j] - count[j]))
        if add > 0:
            count[j] += add
            missing -= add
        if missing == 0:
            return


def mexclp(
    demand: Demand,
    candidates: Candidates,
    p: int,
    q: float,
    *,
    max_per_site: int | None = None,
    reach: Reach | None = None,
    options: SolveOptions | None = None,
) -> SitingResult:
    """Place ``p`` new ambulances to maximise expected covered population (busy fraction ``q``).

    ``candidates.existing`` holds the ambulances already at each site (kept: lower bounds).
    ``max_per_site`` caps the ambulances at one site (default: no cap beyond the total).
    The objective is ``sum_i h_i (1 - q^{n_i})``, ``n_i`` the ambulances within reach of ``i``.
    """
    started = time.perf_counter()
    options = options or SolveOptions()
    _check(demand, candidates)
    if not 0.0 <= q < 1.0:
        raise InputError(
            [
                Problem(
                    f"busy fraction q = {q} must be in [0, 1)",
                    f"繁忙率 q = {q} 必须在 [0, 1) 区间内",
                    field="q",
                )
            ]
        )
    if p < 0 or (max_per_site is not None and max_per_site < 1):
        raise InputError(
            [
                Problem(
                    "p must be >= 0 and max_per_site >= 1",
                    "新增救护车数 p 必须不小于 0，每站上限必须不小于 1",
                    field="p",
                )
            ]
        )
    existing = candidates.arrays()[2]
    total = int(existing.sum()) + int(p)
    r = _reach_for(demand, candidates, reach)
    a = r.matrix()
    _, _, pop, _ = demand.arrays()
    upper = existing + p if max_per_site is None else np.maximum(existing, max_per_site)
    upper = np.minimum(upper, existing + p).astype(float)
    rows_kept = (pop > 0) & (r.counts > 0)
    b = a[rows_kept].tocsr()
    b.sort_indices()
    b, w = _merge_rows(b, pop[rows_kept])
    nrow, m = b.shape
    if nrow == 0 or total == 0:
        solved = _trivial(0.0)
        open_count = existing.copy()
    else:
        levels = np.minimum(np.asarray(b @ upper).ravel(), total).astype(np.int64)
        # y_ik columns, row i's levels k = 1..levels[i] contiguous.
        y_row = np.repeat(np.arange(nrow), levels)
        k = np.arange(y_row.size) - np.repeat(np.cumsum(levels) - levels, levels)
        y_cost = w[y_row] * (1.0 - q) * q**k
        ny = y_row.size
        y_part = sparse.csr_matrix((np.ones(ny), (y_row, np.arange(ny))), shape=(nrow, ny))
        link = sparse.hstack([-b, y_part], format="csr")
        budget = sparse.csr_matrix(np.concatenate([np.ones(m), np.zeros(ny)])[None, :])
        rows = sparse.vstack([link, budget], format="csr")
        solved = _solve_milp(
            np.concatenate([np.zeros(m), y_cost]),
            np.concatenate([existing.astype(float), np.zeros(ny)]),
            np.concatenate([upper, np.ones(ny)]),
            np.concatenate([np.ones(m, dtype=bool), np.zeros(ny, dtype=bool)]),
            rows,
            np.full(nrow + 1, -np.inf),
            np.concatenate([np.zeros(nrow), [float(total)]]),
            maximize=True,
            offset=0.0,
            options=options,
        )
        open_count = existing.copy()
        if solved.x.size:
            open_count = np.round(solved.x[:m]).astype(np.int64)
    _pad_ambulances(open_count, upper.astype(np.int64), total, a, pop)
    stats = {"rows": nrow, "columns": m, "solver_seconds": solved.seconds}
    return _result(
        "mexclp", solved, open_count, demand, candidates, a, time.perf_counter() - started, stats
    )


def expected_coverage(
    reach: Reach, population: npt.ArrayLike, ambulances: npt.ArrayLike, q: float
) -> float:
    """MEXCLP objective ``sum_i h_i (1 - q^{n_i})`` of a given allocation (for checks)."""
    n = np.asarray(reach.matrix() @ np.asarray(ambulances, dtype=float)).ravel()
    return float(np.sum(np.asarray(population, dtype=float) * (1.0 - q**n)))


__all__ = [
    "Candidates",
    "Demand",
    "SitingResult",
    "SolveOptions",
    "expected_coverage",
    "lscp",
    "mclp",
    "mexclp",
]

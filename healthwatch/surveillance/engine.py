"""Run a detection method over many series in bounded memory, locally or on a Dask cluster.

Every method is already vectorised over series, but its working arrays grow with the number of
series it sees at once (a GLM method holds design matrices and weights for every series). The
engine therefore cuts the series into chunks sized from the series length and a memory budget,
runs the method on each chunk and joins the pieces with :meth:`DetectionResult.concat`. Methods
treat every series independently, so the joined result equals one call on all series.

The same chunks can be sent to a Dask distributed cluster (``client=``): each chunk travels as a
:meth:`Counts.select` piece, is processed on a worker and comes back in order, so the result is
identical to the local one.

>>> import numpy as np
>>> from healthwatch.surveillance import Counts
>>> c = Counts.from_array(np.arange(40).reshape(10, 4) % 7)
>>> plan_chunks(c.n_series, 3)
[slice(0, 3, None), slice(3, 4, None)]
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from healthwatch.errors import InputError, Problem
from healthwatch.surveillance import get_method
from healthwatch.surveillance.series import Counts, DetectionResult

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "ProgressCallback",
    "chunk_size",
    "iter_results",
    "join",
    "plan_chunks",
    "run",
    "run_many",
    "stream",
]

#: bytes of working memory one chunk may use (override with HEALTHWATCH_CHUNK_MEMORY, in MB)
DEFAULT_MEMORY_BUDGET = 256 * 2**20

#: working-set size of a method, in float64 values per observed cell (a generous estimate: GLM
#: methods hold a design matrix, weights and residuals per reference week for every series)
_WORK_FACTOR: dict[str, int] = {
    "farrington": 48,
    "farrington_flexible": 48,
    "glrnb": 24,
    "glrpois": 24,
    "bayes": 16,
    "rki": 16,
    "cidars_mpm": 16,
}
_DEFAULT_WORK_FACTOR = 12

#: called as progress(series_done, series_total) after each chunk
ProgressCallback = Callable[[int, int], None]

MethodLike = str | Callable[..., DetectionResult]


def _memory_budget() -> int:
    env = os.environ.get("HEALTHWATCH_CHUNK_MEMORY")
    return int(float(env) * 2**20) if env else DEFAULT_MEMORY_BUDGET


def _method_name(method: MethodLike) -> str:
    if isinstance(method, str):
        return method.replace("-", "_").lower()
    return getattr(method, "__name__", "method")


def chunk_size(n_times: int, method: MethodLike = "", budget: int | None = None) -> int:
    """Series per chunk so that one chunk's working arrays stay within ``budget`` bytes.

    The estimate is bytes per series = T x 8 x (work factor of the method); at least 64 series
    per chunk so that the per-call overhead stays small next to the vectorised work.
    """
    budget = budget or _memory_budget()
    factor = _WORK_FACTOR.get(_method_name(method), _DEFAULT_WORK_FACTOR)
    per_series = max(n_times, 1) * 8 * factor
    return max(64, budget // per_series)


def plan_chunks(n_series: int, size: int) -> list[slice]:
    """Consecutive column slices of at most ``size`` series covering ``0..n_series``."""
    if size < 1:
        raise InputError(
            [
                Problem(
                    f"chunk_series must be at least 1, got {size}",
                    f"chunk_series 至少为 1，实际为 {size}",
                    field="chunk_series",
                )
            ]
        )
    return [slice(a, min(a + size, n_series)) for a in range(0, n_series, size)]


def _resolve(method: MethodLike) -> Callable[..., DetectionResult]:
    return get_method(method) if isinstance(method, str) else method


def _apply(method: MethodLike, piece: Counts, control: Mapping[str, Any]) -> DetectionResult:
    """Run on one chunk (top-level so that Dask workers can unpickle it)."""
    return _resolve(method)(piece, **control)


def _connect(client: Any) -> tuple[Any, bool]:
    """A distributed Client from a Client or a scheduler address; True if we opened it."""
    if isinstance(client, str):
        from distributed import Client

        return Client(client), True
    return client, False


def _n_workers(client: Any) -> int:
    try:
        return max(1, len(client.scheduler_info()["workers"]))
    except Exception:  # pragma: no cover - an unusual client object
        return 1


def iter_results(
    counts: Counts,
    method: MethodLike,
    *,
    chunk_series: int | None = None,
    client: Any = None,
    progress: ProgressCallback | None = None,
    **control: Any,
) -> Iterator[DetectionResult]:
    """Yield one :class:`DetectionResult` per chunk of series, in series order.

    Use this instead of :func:`run` when the joined result would not fit in memory (reduce each
    piece, e.g. count alarms, and drop it).
    """
    total = counts.n_series
    size = chunk_size(counts.n_times, method) if chunk_series is None else int(chunk_series)
    if client is None:
        done = 0
        for part in plan_chunks(total, size):
            result = _apply(method, counts.select(part), control)
            done += part.stop - part.start
            if progress is not None:
                progress(done, total)
            yield result
        return
    dask_client, opened = _connect(client)
    try:
        if chunk_series is None:
            # at least two chunks per worker so that the workers stay busy
            size = min(size, max(1, math.ceil(total / (2 * _n_workers(dask_client)))))
        yield from _dask_results(dask_client, counts, method, size, progress, control)
    finally:
        if opened:
            dask_client.close()


def _dask_results(
    client: Any,
    counts: Counts,
    method: MethodLike,
    size: int,
    progress: ProgressCallback | None,
    control: Mapping[str, Any],
) -> Iterator[DetectionResult]:
    from distributed import as_completed

    parts = plan_chunks(counts.n_series, size)
    pieces = [counts.select(p) for p in parts]
    scattered = client.scatter(pieces, hash=False)  # unique keys: safe to release after
    futures = [
        client.submit(_apply, method, piece, dict(control), pure=False) for piece in scattered
    ]
    width = {f.key: p.stop - p.start for f, p in zip(futures, parts, strict=True)}
    done = 0
    for fut in as_completed(futures):
        if fut.status == "error":
            fut.result()  # re-raise the worker's exception here, with its own type
        done += width[fut.key]
        if progress is not None:
            progress(done, counts.n_series)
    try:
        yield from client.gather(futures)
    finally:
        client.cancel(futures + scattered)


def run(
    counts: Counts,
    method: MethodLike,
    *,
    chunk_series: int | None = None,
    client: Any = None,
    progress: ProgressCallback | None = None,
    **control: Any,
) -> DetectionResult:
    """Run ``method`` (a name from ``METHODS`` or a function) on every series of ``counts``.

    chunk_series: series per chunk; by default sized from the series length and a memory budget
      of 256 MB (``HEALTHWATCH_CHUNK_MEMORY`` in MB overrides it).
    client: a ``distributed.Client`` or a scheduler address (``"tcp://host:8786"``); chunks are
      scattered to the workers and gathered in order, giving the same result as a local run.
    progress: called as ``progress(series_done, series_total)`` after each chunk.
    control: the method's keyword arguments (``range``, ``b``, ``w``, ...).
    """
    parts = list(
        iter_results(
            counts, method, chunk_series=chunk_series, client=client, progress=progress, **control
        )
    )
    return parts[0] if len(parts) == 1 else join(parts)


def join(parts: list[DetectionResult]) -> DetectionResult:
    """``DetectionResult.concat``, also joining per-series arrays a method left in ``control``.

    Some methods report per-cell diagnostics in ``control`` (e.g. the dispersion phi as a
    (len(range), n_series) array); those are stacked along the series axis like the results.
    """
    out = DetectionResult.concat(parts)
    control = dict(out.control)
    for key in parts[0].control:
        values = [p.control.get(key) for p in parts]
        arrays = [v for v in values if isinstance(v, np.ndarray)]
        if len(arrays) == len(parts) and all(
            v.ndim >= 1 and v.shape[-1] == len(p.names) for v, p in zip(arrays, parts, strict=True)
        ):
            control[key] = np.concatenate(arrays, axis=-1)
    out.control = control
    return out


def run_many(
    counts: Counts,
    methods: Mapping[str, Mapping[str, Any]] | Iterable[str],
    *,
    chunk_series: int | None = None,
    client: Any = None,
) -> dict[str, DetectionResult]:
    """Several methods on the same series: ``{"ears_c1": {}, "farrington": {"b": 3}}``."""
    items: Iterable[tuple[str, Mapping[str, Any]]] = (
        methods.items() if isinstance(methods, Mapping) else ((m, {}) for m in methods)
    )
    return {
        name: run(counts, name, chunk_series=chunk_series, client=client, **dict(control))
        for name, control in items
    }


def stream(
    chunks: Iterable[Counts],
    method: MethodLike,
    *,
    client: Any = None,
    max_in_flight: int = 4,
    **control: Any,
) -> Iterator[DetectionResult]:
    """Results for a stream of series batches that never sit in memory all at once.

    ``chunks`` may be a generator (series read or simulated batch by batch). Locally each batch is
    run as it arrives; on Dask at most ``max_in_flight`` batches are on the cluster at a time.
    Results come back in the order of the batches.
    """
    if client is None:
        for piece in chunks:
            yield _apply(method, piece, control)
        return
    dask_client, opened = _connect(client)
    try:
        pending: list[Any] = []
        for piece in chunks:
            pending.append(dask_client.submit(_apply, method, piece, dict(control), pure=False))
            if len(pending) >= max_in_flight:
                yield pending.pop(0).result()
        while pending:
            yield pending.pop(0).result()
    finally:
        if opened:
            dask_client.close()

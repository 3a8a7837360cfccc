"""Run a detection method over many series in bounded memory, locally or on a Dask cluster.

Every method is already vectorised over series, but its working arrays grow with the number of
series it sees at once (a GLM method holds design matrices and weights for every series). The
engine therefore cuts the series into chunks sized from the series length and a memory budget,
runs the method on each chunk and writes each piece into result arrays allocated once for all
series (no list of pieces, no concatenation at the end). Methods treat every series
independently, so the joined result equals one call on all series.

Chunks are column slices: ``Counts.select`` gives views without copying or re-validating the
counts, and a method that takes ``out=`` (EARS) writes every chunk into the same scratch result
instead of faulting in fresh memory for each one (``reuse=True`` offers the same to callers that
reduce each piece before asking for the next).

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

import dataclasses
import inspect
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
#: methods hold a design matrix, weights and residuals per reference week for every series; the
#: fused Farrington kernel only five per-count tables and its results, so that a province's
#: weekly series are one chunk and its threads never wait for a chunk's last block)
_WORK_FACTOR: dict[str, int] = {
    "farrington": 8,
    "farrington_flexible": 8,
    "glrnb": 24,
    "glrpois": 24,
    "bayes": 16,
    "rki": 16,
    "cidars_mpm": 16,
}
_DEFAULT_WORK_FACTOR = 12

#: methods that need no working memory beyond their result (EARS: running sums and a 0.7 MB
#: block per thread). ``run`` calls them once on all series when no chunking was asked for:
#: chunks would bound nothing and only add a copy of every piece into the joined result.
_RESULT_ONLY = frozenset({"ears_c1", "ears_c2", "ears_c3"})

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


def _takes_out(fn: Callable[..., DetectionResult]) -> bool:
    """Whether a method can overwrite an earlier result's arrays (an ``out`` keyword)."""
    try:
        return "out" in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return False


_RESULT_ARRAYS = ("expected", "upperbound", "alarm", "score")


def _narrowed(scratch: DetectionResult, width: int) -> DetectionResult:
    """``scratch`` with its result arrays cut to ``width`` series, still C-contiguous.

    The first ``rows x width`` values of each buffer, reshaped: a smaller piece (the last chunk
    of a batch) reuses the same memory instead of faulting in new pages.
    """
    arrays = {}
    for name in _RESULT_ARRAYS:
        a = getattr(scratch, name)
        arrays[name] = a.reshape(-1)[: a.shape[0] * width].reshape(a.shape[0], width)
    return dataclasses.replace(scratch, names=scratch.names[:width], **arrays)


class _Reuser:
    """Runs a method on successive pieces, overwriting one scratch result if allowed.

    Only a method with an ``out`` keyword reuses, and only for pieces no wider than the widest
    so far (time points are the same for every piece of one run); a wider piece gets new arrays,
    which become the scratch.
    """

    def __init__(self, method: MethodLike, control: Mapping[str, Any], reuse: bool) -> None:
        self.fn = _resolve(method)
        self.control = dict(control)
        self.reuse = reuse and "out" not in self.control and _takes_out(self.fn)
        self.scratch: DetectionResult | None = None

    def __call__(self, piece: Counts) -> DetectionResult:
        scratch = self.scratch
        if not self.reuse:
            return self.fn(piece, **self.control)
        if scratch is not None and piece.n_series <= len(scratch.names):
            out = _narrowed(scratch, piece.n_series)
            if out.expected.shape[0] == scratch.expected.shape[0]:
                return self.fn(piece, out=out, **self.control)
        result = self.fn(piece, **self.control)
        if all(getattr(result, a).flags.c_contiguous for a in _RESULT_ARRAYS):
            self.scratch = result
        return result


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
    reuse: bool = False,
    **control: Any,
) -> Iterator[DetectionResult]:
    """Yield one :class:`DetectionResult` per chunk of series, in series order.

    Use this instead of :func:`run` when the joined result would not fit in memory (reduce each
    piece, e.g. count alarms, and drop it).

    reuse: let a method that takes ``out=`` (EARS) write each chunk into the previous chunk's
      arrays. Much faster for long streams (no fresh memory per chunk), but each yielded piece is
      only valid until the next one is asked for: reduce or copy it first. Local runs only.
    """
    total = counts.n_series
    size = chunk_size(counts.n_times, method) if chunk_series is None else int(chunk_series)
    if client is None:
        done = 0
        apply = _Reuser(method, control, reuse)
        for part in plan_chunks(total, size):
            result = apply(counts.select(part))
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

    The result arrays are allocated once, for all series, when the first chunk is back; each
    chunk is copied into its columns. A single chunk is returned as is, and so is one call on all
    series of a method that needs no memory beyond its result (EARS) unless ``chunk_series``,
    ``client`` or ``progress`` asks for chunks.
    """
    if (
        chunk_series is None
        and client is None
        and progress is None
        and getattr(_resolve(method), "__qualname__", "") in _RESULT_ONLY
    ):
        return _apply(method, counts, control)
    pieces = iter_results(
        counts,
        method,
        chunk_series=chunk_series,
        client=client,
        progress=progress,
        reuse=client is None,  # each piece is copied into the joined result before the next
        **control,
    )
    first = next(pieces)
    if len(first.names) == counts.n_series:
        return first
    joined = _Joined(first, counts.n_series)
    for piece in pieces:
        joined.add(piece)
    return joined.result()


class _Joined:
    """Results of consecutive groups of series, written into arrays allocated once.

    Arrays a method leaves in ``control`` with one entry per series on their last axis (e.g.
    the dispersion phi as a (len(range), n_series) array) are joined the same way; other control
    values are taken from the first piece.
    """

    _FIELDS = ("expected", "upperbound", "alarm", "score", "observed")

    def __init__(self, first: DetectionResult, n_series: int) -> None:
        self.first = first
        self.n_series = n_series
        self.names: list[str] = []
        self.arrays = {
            f: np.empty((*getattr(first, f).shape[:-1], n_series), getattr(first, f).dtype)
            for f in self._FIELDS
        }
        width = len(first.names)
        self.control_arrays = {
            key: np.empty((*v.shape[:-1], n_series), v.dtype)
            for key, v in first.control.items()
            if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[-1] == width
        }
        self.done = 0
        self.add(first)

    def add(self, part: DetectionResult) -> None:
        a, b = self.done, self.done + len(part.names)
        if b > self.n_series:
            raise ValueError(f"pieces hold more than the {self.n_series} series expected")
        for f, arr in self.arrays.items():
            arr[..., a:b] = getattr(part, f)
        for key in list(self.control_arrays):
            value = part.control.get(key)
            if isinstance(value, np.ndarray) and value.shape[-1:] == (b - a,):
                self.control_arrays[key][..., a:b] = value
            else:  # not per series after all: keep the first piece's value, as control
                del self.control_arrays[key]
        self.names.extend(part.names)
        self.done = b

    def result(self) -> DetectionResult:
        if self.done != self.n_series:
            raise ValueError(f"pieces hold {self.done} series, expected {self.n_series}")
        first = self.first
        control = dict(first.control)
        control.update(self.control_arrays)
        return DetectionResult(
            method=first.method,
            t=first.t,
            dates=first.dates,
            names=self.names,
            control=control,
            **self.arrays,
        )


def join(parts: Sequence[DetectionResult]) -> DetectionResult:
    """Join results computed on consecutive groups of series (chunks, Dask partitions, batches).

    Like ``DetectionResult.concat``, and also joins the per-series arrays a method left in
    ``control`` (e.g. the dispersion phi as a (len(range), n_series) array).
    """
    joined = _Joined(parts[0], sum(len(p.names) for p in parts))
    for part in parts[1:]:
        joined.add(part)
    return joined.result()


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
    reuse: bool = False,
    **control: Any,
) -> Iterator[DetectionResult]:
    """Results for a stream of series batches that never sit in memory all at once.

    ``chunks`` may be a generator (series read or simulated batch by batch). Locally each batch is
    run as it arrives; on Dask at most ``max_in_flight`` batches are on the cluster at a time.
    Results come back in the order of the batches. ``reuse`` as in :func:`iter_results` (local
    runs only: each result is valid until the next one is asked for).
    """
    if client is None:
        apply = _Reuser(method, control, reuse)
        for piece in chunks:
            yield apply(piece)
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

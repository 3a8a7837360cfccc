"""Compiling the numba kernels ahead of use, and knowing whether that is still to be done.

The detection kernels are compiled by numba on their first call and cached on disk
(``cache=True``, in ``__pycache__`` next to each module). On a fresh install the first detection
run therefore spends up to half a minute compiling before it computes anything; later runs load
the cache in a fraction of a second. :func:`warm` runs every method (or the ones named) once on
a small series, which compiles and caches exactly the specialisations the real calls use;
:func:`cold_methods` says which methods would still compile, so that the command line can say
so before a long silence. ``healthwatch demo`` calls :func:`warm`.

>>> from healthwatch.surveillance.warm import warm
>>> sorted(warm(["ears_c1"]))
['ears_c1']
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from importlib import import_module
from typing import Any

import numpy as np

from healthwatch.surveillance import METHODS, get_method
from healthwatch.surveillance.series import Counts

__all__ = ["cold_methods", "warm"]

#: controls that reach every compiled branch a method has (e.g. both Farrington thresholds)
_CONTROLS: dict[str, list[dict[str, Any]]] = {
    "farrington": [{"b": 2, "w": 1}],
    "farrington_flexible": [
        {"b": 2, "w": 1},
        {"b": 2, "w": 1, "no_periods": 3, "threshold_method": "nbPlugin"},
        {"b": 2, "w": 1, "threshold_method": "muan"},
    ],
}


def _module_name(method: str) -> str:
    return METHODS[method].partition(":")[0]


def _dispatchers(module_name: str) -> list[Any]:
    """The cached numba functions of a module and of the healthwatch modules it uses."""
    module = import_module(module_name)
    found = []
    seen: set[int] = set()
    for value in [*vars(module).values()]:
        inner = getattr(value, "__module__", "") or ""
        if not inner.startswith("healthwatch.surveillance"):
            continue
        for candidate in (value, *vars(import_module(inner)).values()):
            cache = getattr(candidate, "_cache", None)
            if cache is not None and hasattr(cache, "_cache_file") and id(candidate) not in seen:
                seen.add(id(candidate))
                found.append(candidate)
    return found


def _is_cached(dispatcher: Any) -> bool:
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except Exception:  # numba's cache layout is private; when unsure, say nothing
        return True


def cold_methods(methods: Iterable[str] | None = None) -> list[str]:
    """The methods (of ``methods``, default all) whose kernels have no valid disk cache yet.

    numba writes a cache index only for the functions called from Python (the helpers they
    call are compiled into them) and invalidates all of a module's entries when its source
    changes, so a module counts as compiled when any of its functions has a valid index.
    """
    names = [get_method_name(m) for m in (methods or METHODS)]
    cold = []
    for name in names:
        found = _dispatchers(_module_name(name))
        if found and not any(_is_cached(d) for d in found):
            cold.append(name)
    return cold


def get_method_name(method: str) -> str:
    """The registered name of ``method`` (aliases such as ``c1`` resolved)."""
    fn = get_method(method)
    for name, target in METHODS.items():
        module, _, attr = target.partition(":")
        if fn.__module__ == module and fn.__name__ == attr:
            return name
    return method


def _sample(freq: int = 52, n_times: int = 3 * 52 + 20) -> Counts:
    rng = np.random.default_rng(0)
    y = rng.poisson(4.0, size=(n_times, 2)).astype(np.float64)
    y[-3, 0] = 25.0
    return Counts.from_array(y, freq=freq, names=["a", "b"], population=1000.0)


def warm(
    methods: Iterable[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, float]:
    """Compile (or load from the disk cache) the kernels of ``methods`` (default: all).

    Runs each method on a small weekly series of two columns, through the same code path as a
    real call; ``progress(method, done, total)`` is called after each. Returns the seconds
    each method took (the compile time on a fresh install, a little cache loading later).
    """
    names = [get_method_name(m) for m in (methods or METHODS)]
    counts = _sample()
    took: dict[str, float] = {}
    for i, name in enumerate(names, 1):
        start = time.perf_counter()
        fn = get_method(name)
        for control in _CONTROLS.get(name, [{}]):
            fn(counts, **control)
        took[name] = time.perf_counter() - start
        if progress is not None:
            progress(name, i, len(names))
    return took


if __name__ == "__main__":  # pragma: no cover - python -m healthwatch.surveillance.warm
    for method, seconds in warm().items():
        sys.stderr.write(f"{method}: {seconds:.2f} s\n")

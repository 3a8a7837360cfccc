"""Outbreak detection on arrays: no database, no I/O.

Every method takes a :class:`Counts` (time x series) and keyword arguments named like R
``surveillance``'s control lists in snake_case, and returns a :class:`DetectionResult`.
Use :func:`detect` to call a method by name.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from healthwatch.surveillance.series import Counts, DetectionResult, resolve_range

__all__ = ["METHODS", "Counts", "DetectionResult", "detect", "get_method", "resolve_range"]

#: method name -> "module:function". Names follow R (earsC's C1..C3 split out).
METHODS: dict[str, str] = {
    "ears_c1": "healthwatch.surveillance.ears:ears_c1",
    "ears_c2": "healthwatch.surveillance.ears:ears_c2",
    "ears_c3": "healthwatch.surveillance.ears:ears_c3",
    "farrington": "healthwatch.surveillance.farrington:farrington",
    "farrington_flexible": "healthwatch.surveillance.farrington:farrington_flexible",
    "bayes": "healthwatch.surveillance.bayes:bayes",
    "rki": "healthwatch.surveillance.rki:rki",
    "cusum": "healthwatch.surveillance.cusum:cusum",
    "glrpois": "healthwatch.surveillance.glr:glrpois",
    "glrnb": "healthwatch.surveillance.glr:glrnb",
    "outbreakp": "healthwatch.surveillance.outbreakp:outbreakp",
    "cidars_fixed": "healthwatch.surveillance.cidars:cidars_fixed",
    "cidars_mpm": "healthwatch.surveillance.cidars:cidars_mpm",
}


def get_method(name: str) -> Any:
    from healthwatch.errors import NotFoundError

    key = name.replace("-", "_").lower()
    aliases = {
        "farringtonflexible": "farrington_flexible",
        "c1": "ears_c1",
        "c2": "ears_c2",
        "c3": "ears_c3",
        "glr_pois": "glrpois",
        "glr_nb": "glrnb",
    }
    key = aliases.get(key, key)
    if key not in METHODS:
        raise NotFoundError(
            f"unknown method {name!r}; choose one of {', '.join(METHODS)}",
            f"未知方法 {name!r}；可选：{', '.join(METHODS)}",
        )
    module, _, func = METHODS[key].partition(":")
    return getattr(import_module(module), func)


def detect(counts: Counts, method: str, **control: Any) -> DetectionResult:
    """Run one method by name over all series of ``counts``."""
    return get_method(method)(counts, **control)

"""healthwatch.warning: the early-warning platform.

Pure, array-level methods (no database, no I/O): :mod:`.scan` (space-time permutation scan),
:mod:`.fusion` (combining sources into alerts), :mod:`.multisource` (simulated multi-source
outbreaks) and :mod:`.assess` (single sources versus fused detection at equal false-alert rates).
The platform's own parts: :mod:`.catalogue` (sources, syndromes), :mod:`.identity` (GB 11643,
pseudonyms), :mod:`.feeds` (validated counts), :mod:`.detection` (the day's detection),
:mod:`.lifecycle`, :mod:`.notify`, :mod:`.integrate` (the seam to fusion and scan); the service
that stores and runs them is :mod:`healthwatch.services.warning`.

The names below are imported on first use (numba and scipy.stats load only when needed, so the
command line stays quick).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "FusedAlert": "fusion",
    "FusionRules": "fusion",
    "LevelRule": "fusion",
    "SourceCorrelation": "fusion",
    "combine_pvalues": "fusion",
    "estimate_source_correlation": "fusion",
    "fuse_signals": "fusion",
    "Cluster": "scan",
    "ScanResult": "scan",
    "space_time_permutation_scan": "scan",
    "assess_multisource": "assess",
    "MultiSourceSimulation": "multisource",
    "SourceSpec": "multisource",
    "simulate_multisource": "multisource",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"healthwatch.warning.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'healthwatch.warning' has no attribute {name!r}")

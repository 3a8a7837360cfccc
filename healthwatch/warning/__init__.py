"""healthwatch.warning: the early-warning platform.

Pure, array-level methods (no database, no I/O): :mod:`.scan` (space-time permutation scan),
:mod:`.fusion` (combining sources into alerts), :mod:`.multisource` (simulated multi-source
outbreaks) and :mod:`.assess` (single sources versus fused detection at equal false-alert rates).
"""

from healthwatch.warning.fusion import (
    FusedAlert,
    FusionRules,
    LevelRule,
    SourceCorrelation,
    combine_pvalues,
    estimate_source_correlation,
    fuse_signals,
)
from healthwatch.warning.scan import Cluster, ScanResult, space_time_permutation_scan

__all__ = [
    "Cluster",
    "FusedAlert",
    "FusionRules",
    "LevelRule",
    "ScanResult",
    "SourceCorrelation",
    "combine_pvalues",
    "estimate_source_correlation",
    "fuse_signals",
    "space_time_permutation_scan",
]

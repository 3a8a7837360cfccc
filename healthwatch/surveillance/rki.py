"""The system used at the Robert Koch Institute (R ``surveillance::algo.rki``), vectorised.

Reference values are chosen as in the Bayes system (see
:func:`healthwatch.surveillance.bayes.reference_offsets`): ``act_y`` adds ``t-w .. t-1``, each of
the ``b`` previous years adds ``t - i*freq - w .. t - i*freq + w``. With ``m`` the mean of the
references:

- ``m > 20``: ``U = m + 2 * sd`` (sample sd, divisor ``n - 1``);
- ``m <= 20``: ``U`` is read from a fixed table indexed by ``floor(m)`` (below).

An alarm is raised when the count exceeds ``U`` (``y > U``). ``expected`` is ``m``.

The table was obtained by observing R 1.20.3's output for reference means 0, 1/6, 2/6, .., 20
(the bound is a step function of ``floor(m)``, up to and including ``m = 20``). R does not
document how they were derived; they lie a little above ``m + 2 sqrt(m)``, like an upper
prediction limit for a Poisson count.

Missing values: R stops with "missing value where TRUE/FALSE needed" when any reference value
is missing. healthwatch leaves missing references out (like the Bayes system); with fewer than
two references left the sd, and so the bound for ``m > 20``, is NaN, with none left ``m`` is NaN;
a NaN bound raises no alarm.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from healthwatch.surveillance.bayes import check_reference_control, gather_references
from healthwatch.surveillance.series import Counts, DetectionResult

__all__ = ["RKI_POISSON_TABLE", "rki"]

#: upper bound for reference means m <= 20, indexed by floor(m) (observed from R 1.20.3)
RKI_POISSON_TABLE = np.array(
    [
        3.285, 5.323, 6.686, 8.102, 9.598, 11.177, 12.817, 13.765, 14.921, 16.768, 17.633,
        19.050, 20.335, 21.364, 22.945, 23.762, 25.400, 26.306, 27.735, 28.966, 30.017,
    ]
)  # fmt: skip


def rki(
    counts: Counts,
    *,
    range: Any = None,
    b: int = 2,
    w: int = 4,
    act_y: bool = False,
) -> DetectionResult:
    """RKI system (R ``algo.rki``; defaults = RKI 3: ``b=2, w=4, act_y=False``).

    The default range starts at the first time point that has all its reference values.
    ``score`` is ``(y - m) / (U - m)`` (above 1 means an alarm).

    Differs from R: a missing reference value is left out (R stops with "missing value where
    TRUE/FALSE needed"); see the module docstring.
    """
    rng, offsets = check_reference_control(counts, range, b, w, act_y, "rki")
    x = counts.observed
    shape = (len(rng), counts.n_series)
    mean = np.empty(shape)
    sd = np.empty(shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        for i, t in enumerate(rng):
            ref = gather_references(x, int(t), offsets)
            n = np.sum(~np.isnan(ref), axis=0)
            m = np.nansum(ref, axis=0) / n
            mean[i] = m
            sd[i] = np.sqrt(np.nansum((ref - m) ** 2, axis=0) / (n - 1))
        small = mean <= 20
        index = np.clip(np.floor(np.nan_to_num(mean)), 0, 20).astype(np.int64)
        upper = np.where(small, RKI_POISSON_TABLE[index], mean + 2.0 * sd)
        upper[np.isnan(mean)] = np.nan
        observed = x[rng - 1]
        alarm = observed > upper
        score = (observed - mean) / (upper - mean)
    return DetectionResult(
        method="rki",
        t=rng,
        dates=counts.dates_of(rng),
        names=list(counts.names),
        expected=mean,
        upperbound=upper,
        alarm=alarm,
        score=score,
        observed=observed,
        control={"b": b, "w": w, "act_y": act_y},
    )

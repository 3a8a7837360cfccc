"""glrnb's in-control fit with alpha estimated (R's glm.nb procedure), 5-year weekly baselines.

Usage: python3 benchmarks/glr_nb_fit.py [n_series]
Prints series/s for overdispersed, Poisson-like (theta diverges: R's procedure then runs all 25
alternations of 24 theta steps) and mixed sets, and the ratio to the 1,000 series/s target.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from healthwatch.surveillance.glr import fit_loglinear_baseline

TARGET = 1000.0


def main(n: int = 1000) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(1, 261)
    mu = np.exp(1.2 + 0.5 * np.cos(2 * np.pi * t / 52))[:, None] * rng.uniform(0.3, 3, n)
    a = rng.choice([0.0, 0.1, 0.5], n)
    nb = rng.negative_binomial(n=1 / np.maximum(a, 1e-9), p=1 / (1 + a * mu))
    y = np.where(a > 0, nb, rng.poisson(mu)).astype(float)
    fit_loglinear_baseline(y[:, :10], period=52, family="negbin")  # numba compile
    for label, sel in (("overdispersed", a > 0), ("poisson-like", a == 0), ("mixed", a >= 0)):
        t0 = time.perf_counter()
        fit_loglinear_baseline(y[:, sel], period=52, family="negbin")
        rate = sel.sum() / (time.perf_counter() - t0)
        print(f"{label:14s} {rate:8.0f} series/s  ratio to target {rate / TARGET:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)

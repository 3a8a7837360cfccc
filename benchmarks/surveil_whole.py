"""The whole `healthwatch surveil detect` command, CSV in, JSON out, against R's farringtonFlexible.

    python benchmarks/surveil_whole.py                 # 3,000 series (about a minute with R)
    python benchmarks/surveil_whole.py --series 300 --reps 1

What is timed on the healthwatch side is the process a user starts::

    healthwatch surveil detect counts.csv -m farrington_flexible -p b=4 -p w=3 \\
        -p no_periods=10 -p past_weeks_not_included=26 -p p_threshold_trend=1 \\
        -p threshold_method=nbPlugin --range 261:312 --json > result.json

on 3,000 weekly series x 6 years (312 ISO weeks from 2019-W02, crossing the 53-week year 2020;
the file has a `date` column of ISO weeks, so the reference weeks follow the calendar) with the
last 52 weeks evaluated, Noufaily's settings: Python start-up, imports, reading and checking
the CSV, loading the compiled kernels from numba's disk cache, detection and writing the JSON to
stdout (into a file), wall-clock from start to exit and the CPU time of the process. The kernels
are compiled once before (``healthwatch.surveillance.warm``, timed and shown separately): a fresh
installation compiles them on its first run only.

R: `farringtonFlexible` with the same control on the first 10 series of the same file as dated
`sts` objects (`epochAsDate = TRUE`, the same dates), timed by R's own `system.time` around the
loop of calls only (start-up, reading the CSV and building the `sts` objects are not counted:
R's figure is its best case), once before and once after healthwatch's runs; R's rate is over
both (the machine's speed drifts within minutes). The ratio is healthwatch's series-weeks per
second over R's. A profile of the healthwatch process by phase follows, and a check that the
bounds and alarms on the 10 shared series equal R's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from healthwatch.surveillance.calendar import period_labels  # noqa: E402

N_WEEKS, EVALUATED = 312, 52
FIRST = N_WEEKS - EVALUATED + 1
START = np.datetime64("2019-01-07")  # Monday of ISO week 2019-W02
PARAMS = [
    "b=4",
    "w=3",
    "no_periods=10",
    "past_weeks_not_included=26",
    "p_threshold_trend=1",
    "threshold_method=nbPlugin",
]
R_CONTROL = (
    "b=4, w=3, noPeriods=10, weightsThreshold=2.58, pastWeeksNotIncluded=26, "
    'pThresholdTrend=1, thresholdMethod="nbPlugin"'
)

R_SCRIPT = r"""
suppressMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
k <- as.integer(args[2]); a <- as.integer(args[3]); b <- as.integer(args[4]); out <- args[5]
epoch <- as.Date(args[6]) + 7 * (0:(length(unique(d$date)) - 1))
ids <- unique(d$series)[1:k]
ss <- lapply(ids, function(i) sts(observed = matrix(d$count[d$series == i]),
                                  epoch = as.numeric(epoch), epochAsDate = TRUE, frequency = 52))
ub <- matrix(NA_real_, b - a + 1, k); al <- ub
tm <- system.time(for (j in seq_len(k)) {
  r <- farringtonFlexible(ss[[j]], control = list(range = a:b, CONTROL))
  ub[, j] <- upperbound(r); al[, j] <- alarms(r)
})
write.csv(data.frame(ub = as.vector(ub), alarm = as.integer(as.vector(al))), out, row.names = FALSE)
cat(tm[["elapsed"]], tm[["user.self"]] + tm[["sys.self"]], "\n")
"""

PHASES = r"""
import sys, time
t0, c0 = time.perf_counter(), time.process_time()
marks = []
def mark(name):
    marks.append((name, time.perf_counter(), time.process_time()))
import gc
import healthwatch.cli.surveil  # the command module (typer)
gc.set_threshold(healthwatch.cli.GC_FIRST_THRESHOLD, *gc.get_threshold()[1:])  # as cli.main
mark("start-up and command imports")
from healthwatch.jit import numba
mark("import numba (healthwatch.jit)")
from numba.core.registry import cpu_target
cpu_target.target_context.refresh()
mark("numba's first use: its registries")
from healthwatch.data.counts import read_counts
counts = read_counts(sys.argv[1])
mark("read and check the CSV (compiled scan)")
from healthwatch.surveillance import engine
from healthwatch.surveillance.farrington import farrington_flexible
mark("import the method")
farrington_flexible(counts.select(slice(0, 1)), range="312:312", b=4, w=3, no_periods=10,
                    past_weeks_not_included=26, p_threshold_trend=1, threshold_method="nbPlugin")
mark("load the compiled kernel from numba's cache")
res = engine.run(counts, "farrington_flexible", range="261:312", b=4, w=3, no_periods=10,
                 past_weeks_not_included=26, p_threshold_trend=1, threshold_method="nbPlugin")
mark("detection")
with open(sys.argv[2], "w") as f:
    for chunk in res.json_chunks():
        f.write(chunk)
mark("write the JSON")
prev, cprev = t0, c0
for name, t, c in marks:
    print(f"{name}\t{t - prev:.3f}\t{c - cprev:.3f}")
    prev, cprev = t, c
import numba
print(f"threads\t{numba.get_num_threads()}\t{numba.threading_layer()}")
print(f"pandas imported\t{'pandas' in sys.modules}")
"""


def write_csv(path: Path, n_series: int, seed: int = 1) -> None:
    """Seasonal negative binomial weekly counts (as benchmarks/surveillance.py) with ISO weeks."""
    gen = np.random.default_rng(seed)
    level = np.exp(gen.uniform(0.0, 3.0, size=n_series))
    t = np.arange(1, N_WEEKS + 1)
    season = np.exp(0.4 * np.cos(2 * np.pi * t / 52) + 0.2 * np.sin(2 * np.pi * t / 52))
    mu = season[:, None] * level[None, :]
    y = gen.negative_binomial(mu / 0.5, 1 / 1.5)
    labels = np.array(period_labels(START + 7 * np.arange(N_WEEKS), 52))
    names = np.array([f"s{i}" for i in range(n_series)])
    with path.open("w") as f:
        f.write("series,date,count\n")
        for i in range(N_WEEKS):
            f.write(
                "".join(f"{s},{labels[i]},{c}\n" for s, c in zip(names, y[i].tolist(), strict=True))
            )


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def run_command(csv: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one `healthwatch surveil detect ... --json` process."""
    cmd = [sys.executable, "-m", "healthwatch", "surveil", "detect", str(csv)]
    cmd += ["-m", "farrington_flexible", "--range", f"{FIRST}:{N_WEEKS}", "--json"]
    for p in PARAMS:
        cmd += ["-p", p]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with out.open("w") as sink:
        proc = subprocess.run(cmd, stdout=sink, stderr=subprocess.PIPE, text=True, env=_env())
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run_r(csv: Path, k: int, tmp: Path) -> tuple[float, float, np.ndarray, np.ndarray]:
    script = tmp / "ff.R"
    script.write_text(R_SCRIPT.replace("CONTROL", R_CONTROL))
    out = tmp / "r.csv"
    proc = subprocess.run(
        [
            "Rscript",
            "--vanilla",
            str(script),
            str(csv),
            str(k),
            str(FIRST),
            str(N_WEEKS),
            str(out),
            str(START),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    elapsed, cpu = (float(x) for x in proc.stdout.split()[-2:])
    table = np.genfromtxt(out, delimiter=",", skip_header=1)
    shape = (EVALUATED, k)
    return (
        elapsed,
        cpu,
        table[:, 0].reshape(shape, order="F"),
        table[:, 1].reshape(shape, order="F"),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", type=int, default=3000)
    ap.add_argument("--r-series", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3, help="timed runs of the command (median)")
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        csv, out = tmp / "counts.csv", tmp / "result.json"
        t0 = time.perf_counter()
        write_csv(csv, args.series)
        print(
            f"data: {args.series:,} weekly series x {N_WEEKS} ISO weeks "
            f"({csv.stat().st_size / 2**20:.1f} MB CSV), written in "
            f"{time.perf_counter() - t0:.1f} s (not timed)"
        )
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from healthwatch.surveillance.warm import warm; warm(['farrington_flexible'])",
            ],
            check=True,
            env=_env(),
        )
        print(f"compile or load the kernels once (not timed): {time.perf_counter() - t0:.1f} s")
        use_r = not args.no_r and shutil.which("Rscript") is not None
        k = args.r_series
        # R before and after the timed runs: the machine's speed drifts by tens of per cent
        # within minutes, and the mean of both brackets healthwatch's runs
        r_before = run_r(csv, k, tmp) if use_r else None
        runs = [run_command(csv, out) for _ in range(args.reps)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        cells = args.series * EVALUATED
        result = json.loads(out.read_text())
        print(
            f"healthwatch surveil detect (whole process, CSV -> JSON), median of {args.reps}: "
            f"{wall:.2f} s wall, {cpu:.2f} s CPU -> {cells / wall:,.0f} series-weeks/s wall "
            f"({cells / cpu:,.0f} per CPU-second); JSON {out.stat().st_size / 2**20:.1f} MB, "
            f"{result['alarms']} alarms; all runs (wall s): "
            + ", ".join(f"{r[0]:.2f}" for r in runs)
        )
        profile = tmp / "phases.py"
        profile.write_text(PHASES)
        proc = subprocess.run(
            [sys.executable, str(profile), str(csv), str(tmp / "p.json")],
            capture_output=True,
            text=True,
            env=_env(),
            check=True,
        )
        print(
            "profile of one run, by phase (wall s, CPU s of all threads; the command adds "
            "argument parsing):"
        )
        for line in proc.stdout.strip().splitlines():
            phase, first, second = [*line.split("\t"), ""][:3]
            if phase == "threads":
                print(
                    f"  detection threads: {first} (numba threading layer {second}), "
                    f"{os.cpu_count()} CPUs on this machine; load average "
                    + " ".join(f"{x:.2f}" for x in os.getloadavg())
                )
            elif phase == "pandas imported":
                print(f"  pandas imported: {first}")
            else:
                print(f"  {phase:46s} {float(first):6.3f} wall {float(second):6.3f} CPU")
        if r_before is None:
            print("R: skipped")
            return
        r_after = run_r(csv, k, tmp)
        _, _, r_ub, r_alarm = r_before
        r_wall, r_cpu = r_before[0] + r_after[0], r_before[1] + r_after[1]
        r_rate, r_cpu_rate = 2 * k * EVALUATED / r_wall, 2 * k * EVALUATED / r_cpu
        ours = np.array([s["upperbound"] for s in result["series"][:k]], dtype=float).T
        alarm = np.array([s["alarm"] for s in result["series"][:k]], dtype=float).T
        both = np.isfinite(ours) & np.isfinite(r_ub)
        rel = np.abs(ours[both] - r_ub[both]) / np.maximum(np.abs(r_ub[both]), 1e-12)
        same_nan = np.array_equal(np.isnan(ours), np.isnan(r_ub))
        agree = np.mean(alarm == np.nan_to_num(r_alarm))
        print(
            f"R farringtonFlexible (dated sts, loop only) on {k} series, before and after: "
            f"{r_before[0]:.2f} and {r_after[0]:.2f} s wall, {r_cpu:.2f} s CPU in all -> "
            f"{r_rate:,.1f} series-weeks/s ({r_cpu_rate:,.1f} per CPU-s)"
        )
        print(
            f"ratio, whole healthwatch process vs R's loop: {cells / wall / r_rate:,.0f}x wall "
            f"(target >= 1,000x), {cells / cpu / r_cpu_rate:,.0f}x per CPU-second"
        )
        print(
            f"check on the {k} shared series: bounds max rel diff "
            f"{(rel.max() if rel.size else 0):.1e}, missing bounds identical: {same_nan}, "
            f"alarms identical: {agree:.0%}"
        )


if __name__ == "__main__":
    main()

"""`healthwatch surveil` commands: outbreak detection on a counts file, simulation, evaluation.

Thin shells over :mod:`healthwatch.surveillance` (engine, simulate, assess): they parse the
arguments, call one library function and print a Rich table or JSON.
"""

from __future__ import annotations

import inspect
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from healthwatch.cli._common import JsonOption, console, err_console, friendly_errors, print_json
from healthwatch.errors import InputError, Problem

if TYPE_CHECKING:  # the heavy imports wait until a command runs, so `--help` stays quick
    from healthwatch.surveillance import Counts, DetectionResult

app = typer.Typer(
    help="疫情暴发探测 / outbreak detection: detect, simulate, assess, methods",
    no_args_is_help=True,
)

ParamOption = typer.Option(
    [],
    "--param",
    "-p",
    help="Method parameter k=v, repeatable (b=4, alpha=0.01, limit54=5,4) / 方法参数",
)
RangeOption = typer.Option(
    None, "--range", help="Time points a:b to evaluate (1-based, inclusive) / 评估时间范围"
)
FreqOption = typer.Option(52, "--freq", help="52 weekly or 365 daily / 频率：52 周，365 日")
SchedulerOption = typer.Option(
    None,
    "--scheduler",
    help="Dask scheduler address (tcp://host:8786) to spread series over workers / Dask 调度器",
)


CountsFileArgument = typer.Argument(
    ..., help="Long CSV series,t,count[,date][,population] / 长表 CSV"
)
StateFileArgument = typer.Argument(None, help="Long CSV with a state column / 含 state 列")
MethodOption = typer.Option(
    ..., "--method", "-m", help="Method name (see `surveil methods`) / 方法名"
)
ScenarioOption = typer.Option(None, "--scenario", help="Noufaily scenario 1..42 / 情景编号")
ScenariosOption = typer.Option(
    [], "--scenario", help="Assess on simulated Noufaily scenario(s) instead of FILE / 模拟情景"
)
AllOption = typer.Option(False, "--all", help="All 42 Noufaily scenarios / 全部 42 个情景")
DailyOption = typer.Option(False, "--daily", help="Daily design with day-of-week effects / 日数据")
NSeriesOption = typer.Option(100, "--n-series", "-n", help="Replicates per scenario / 重复数")
SeedOption = typer.Option(0, "--seed", help="Random seed / 随机种子")
NoCurrentOption = typer.Option(
    False, "--no-current", help="Leave out the outbreak in the evaluation period / 评估期不加暴发"
)
OutOption = typer.Option(None, "--out", "-o", help="CSV to write (default stdout) / 输出文件")


# -- argument parsing ------------------------------------------------------------------------
def _value(raw: str) -> Any:
    """'5' -> 5, '0.01' -> 0.01, 'TRUE'/'false' -> bool, '5,4' -> (5, 4), 'NULL' -> None."""
    text = raw.strip()
    if "," in text:
        return tuple(_value(x) for x in text.split(",") if x.strip())
    if text in ("TRUE", "True", "true"):
        return True
    if text in ("FALSE", "False", "false"):
        return False
    if text in ("NULL", "None", "none", "NA"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip("\"'")


def parse_params(items: list[str], method: str | None = None) -> dict[str, Any]:
    """``["b=4", "limit54=5,4"]`` -> ``{"b": 4, "limit54": (5, 4)}``, names checked if known."""
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            problems.append(
                Problem(
                    f"--param must look like name=value, got {item!r}",
                    f"--param 的格式应为 名称=值，实际为 {item!r}",
                    field="--param",
                )
            )
            continue
        out[key] = _value(raw)
    if method is not None and not problems:
        known = _parameters(method)
        if known is not None:
            for key in out:
                if key not in known:
                    problems.append(
                        Problem(
                            f"{method} has no parameter {key!r}; it takes {', '.join(known)}",
                            f"方法 {method} 没有参数 {key!r}；可用参数：{', '.join(known)}",
                            field="--param",
                        )
                    )
    if problems:
        raise InputError(problems)
    return out


def _parameters(method: str) -> dict[str, Any] | None:
    """Keyword parameters of a method and their defaults (None if it takes **kwargs)."""
    from healthwatch.surveillance import get_method

    sig = inspect.signature(get_method(method))
    params = {}
    for p in sig.parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if p.kind is inspect.Parameter.KEYWORD_ONLY:
            params[p.name] = p.default
    return params


def _check_range(text: str | None) -> str | None:
    if text is None:
        return None
    if not re.fullmatch(r"\s*\d+\s*(:\s*\d+\s*)?", text):
        raise InputError(
            [
                Problem(
                    f"--range must be a:b with 1-based time points, got {text!r}",
                    f"--range 的格式应为 a:b（从 1 开始的时间点），实际为 {text!r}",
                    field="--range",
                )
            ]
        )
    return text.replace(" ", "")


# -- output ------------------------------------------------------------------------------------
def _num(x: float) -> float | None:
    return None if isinstance(x, float) and math.isnan(x) else x


def _fmt(x: float) -> str:
    return "" if math.isnan(x) else f"{x:.3f}".rstrip("0").rstrip(".")


def print_result(res: DetectionResult) -> None:
    import numpy as np

    table = Table(title=f"{res.method}: 预期值、上界与警报 / expected, upper bound, alarm")
    for name in (
        "序列 series",
        "t",
        "观测 observed",
        "预期 expected",
        "上界 upperbound",
        "警报 alarm",
    ):
        table.add_column(name, justify="left" if name.startswith("序列") else "right")
    alarm = np.asarray(res.alarm, dtype=bool)
    for j, name in enumerate(res.names):
        for i, t in enumerate(res.t):
            table.add_row(
                name,
                str(int(t)),
                _fmt(float(res.observed[i, j])),
                _fmt(float(res.expected[i, j])),
                _fmt(float(res.upperbound[i, j])),
                "[bold red]ALARM 警报[/]" if alarm[i, j] else "",
            )
    console.print(table)
    console.print(
        f"{len(res.names)} 条序列，{int(alarm.sum())} 个警报 / {len(res.names)} series, "
        f"{int(alarm.sum())} alarms (t={int(res.t[0])}..{int(res.t[-1])})"
    )


def _run(
    counts: Counts, method: str, control: dict[str, Any], scheduler: str | None, quiet: bool
) -> DetectionResult:
    from healthwatch.surveillance import engine

    if quiet or counts.n_series < 2:
        return engine.run(counts, method, client=scheduler, **control)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} series"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(method, total=counts.n_series)
        return engine.run(
            counts,
            method,
            client=scheduler,
            progress=lambda done, _total: bar.update(task, completed=done),
            **control,
        )


def _call(
    counts: Counts,
    method: str,
    params: list[str],
    range_: str | None,
    scheduler: str | None,
    quiet: bool,
) -> DetectionResult:
    control = parse_params(params, method)
    rng = _check_range(range_)
    if rng is not None:
        control["range"] = rng
    return _run(counts, method, control, scheduler, quiet)


# -- commands ----------------------------------------------------------------------------------
@app.command()
@friendly_errors
def detect(
    file: Path = CountsFileArgument,
    method: str = MethodOption,
    param: list[str] = ParamOption,
    range_: str | None = RangeOption,
    freq: int = FreqOption,
    scheduler: str | None = SchedulerOption,
    json_out: bool = JsonOption,
) -> None:
    """Run a detection method on every series of FILE / 对文件中每条序列运行探测方法."""
    from healthwatch.data.counts import read_counts

    counts = read_counts(file, freq)
    res = _call(counts, method, param, range_, scheduler, json_out)
    if json_out:
        print_json(res.to_json())
    else:
        print_result(res)


@app.command()
@friendly_errors
def simulate(
    scenario: int | None = ScenarioOption,
    all_: bool = AllOption,
    daily: bool = DailyOption,
    n_series: int = NSeriesOption,
    seed: int = SeedOption,
    no_current: bool = NoCurrentOption,
    out: Path | None = OutOption,
    json_out: bool = JsonOption,
) -> None:
    """Simulate series with known outbreaks (long CSV with a state column) / 模拟已知暴发."""
    import numpy as np
    import pandas as pd

    from healthwatch.surveillance.simulate import simulate_daily, simulate_noufaily

    if sum([scenario is not None, all_, daily]) != 1:
        raise InputError(
            [
                Problem(
                    "choose exactly one of --scenario N, --all, --daily",
                    "请在 --scenario N、--all、--daily 中选择且只选择一个",
                    field="--scenario",
                )
            ]
        )
    if daily:
        sims = [simulate_daily(n_series, seed=seed, current_outbreak=not no_current)]
    else:
        numbers = range(1, 43) if all_ else [int(scenario or 0)]
        sims = [
            simulate_noufaily(n, n_series, seed=seed + n, current_outbreak=not no_current)
            for n in numbers
        ]
    frames = []
    for sim in sims:
        frame = sim.counts.to_long()
        assert sim.counts.state is not None
        frame["count"] = frame["count"].astype(np.int64)
        frame["state"] = sim.counts.state.reshape(-1).astype(np.int64)
        if sim.counts.epoch is not None:
            frame["date"] = np.repeat(sim.counts.epoch, sim.counts.n_series).astype(str)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    summary: dict[str, Any] = {
        "design": "daily" if daily else "noufaily",
        "scenarios": [s.label for s in sims],
        "series": int(sum(s.counts.n_series for s in sims)),
        "time_points": int(sims[0].counts.n_times),
        "evaluation": list(sims[0].evaluation),
        "outbreak_cells": int(table["state"].sum()),
        "file": str(out) if out else None,
    }
    if out is None:
        table.to_csv(typer.get_text_stream("stdout"), index=False)
        return
    table.to_csv(out, index=False)
    if json_out:
        print_json(summary)
    else:
        console.print(
            f"已写入 {summary['series']} 条序列 × {summary['time_points']} 个时间点 → {out} / "
            f"wrote {summary['series']} series x {summary['time_points']} time points "
            f"(evaluation t={summary['evaluation'][0]}:{summary['evaluation'][1]})"
        )


@app.command()
@friendly_errors
def assess(
    file: Path | None = StateFileArgument,
    method: str = MethodOption,
    param: list[str] = ParamOption,
    range_: str | None = RangeOption,
    freq: int = FreqOption,
    scenario: list[int] = ScenariosOption,
    n_series: int = NSeriesOption,
    seed: int = SeedOption,
    scheduler: str | None = SchedulerOption,
    json_out: bool = JsonOption,
) -> None:
    """POD, sensitivity, specificity, false positive rate and delay / 评估探测效果."""
    from healthwatch.data.counts import read_counts
    from healthwatch.surveillance.assess import assess as assess_result
    from healthwatch.surveillance.assess import noufaily_table

    if (file is None) == (not scenario):
        raise InputError(
            [
                Problem(
                    "give either FILE (with a state column) or --scenario N",
                    "请给出 FILE（含 state 列）或 --scenario N，二者选一",
                    field="FILE",
                )
            ]
        )
    if scenario:
        control = parse_params(param, method)
        rows = noufaily_table(
            {method: (method, control)},
            scenario,
            n_series=n_series,
            seed=seed,
            client=scheduler,
        )
        records = rows.to_dict(orient="records")
    else:
        assert file is not None
        counts = read_counts(file, freq)
        if counts.state is None:
            raise InputError(
                [
                    Problem(
                        "the file has no state column marking outbreak cells",
                        "文件中没有标记暴发的 state 列",
                        file=str(file),
                        line=1,
                        field="state",
                    )
                ]
            )
        res = _call(counts, method, param, range_, scheduler, json_out)
        records = [assess_result(res, counts).summary()]
    records = [{k: _num(v) if isinstance(v, float) else v for k, v in r.items()} for r in records]
    if json_out:
        print_json(records)
        return
    keys = [
        k
        for k in ("scenario", "method", "pod", "sensitivity", "specificity", "fpr", "mean_delay")
        if k in records[0]
    ]
    table = Table(title="探测效果 / detection performance")
    for k in keys:
        table.add_column(k, justify="right")
    for r in records:
        table.add_row(
            *[
                "" if r[k] is None else f"{r[k]:.4f}" if isinstance(r[k], float) else str(r[k])
                for k in keys
            ]
        )
    console.print(table)


@app.command()
@friendly_errors
def methods(json_out: bool = JsonOption) -> None:
    """List the detection methods and their parameters with defaults / 列出方法及参数."""
    from healthwatch.surveillance import METHODS

    listing: list[dict[str, Any]] = []
    for name in METHODS:
        try:
            params = _parameters(name)
        except (ImportError, AttributeError):
            listing.append({"method": name, "available": False, "parameters": {}})
            continue
        shown = {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in (params or {}).items()
            if k != "range"  # given as --range
        }
        listing.append({"method": name, "available": True, "parameters": shown})
    if json_out:
        print_json(listing)
        return
    table = Table(title="探测方法 / detection methods")
    table.add_column("method 方法")
    table.add_column("parameters (defaults) 参数（默认值）")
    for item in listing:
        if not item["available"]:
            table.add_row(item["method"], "[dim]not available / 暂不可用[/]")
            continue
        text = ", ".join(f"{k}={v!r}" for k, v in item["parameters"].items())
        table.add_row(item["method"], text)
    console.print(table)

"""`healthwatch surveil` commands: outbreak detection on a counts file, simulation, evaluation.

Thin shells over :mod:`healthwatch.surveillance` (engine, simulate, assess): they parse the
arguments, call one library function and print a Rich table or JSON.
"""

from __future__ import annotations

import inspect
import math
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from healthwatch.cli._common import (
    JsonOption,
    ProcessEnd,
    console,
    err_console,
    friendly_errors,
    print_json,
)
from healthwatch.errors import InputError, Problem

if TYPE_CHECKING:  # the heavy imports wait until a command runs, so `--help` stays quick
    from healthwatch.surveillance import Counts, DetectionResult

app = typer.Typer(
    help="疫情暴发探测：detect 探测、simulate 模拟、assess 评估、methods 方法列表 / "
    "outbreak detection: detect, simulate, assess, methods",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ParamOption = typer.Option(
    [],
    "--param",
    "-p",
    help="方法参数 名称=值，可重复（b=4、alpha=0.01、limit54=5,4） / "
    "method parameter name=value, repeatable",
)
RangeOption = typer.Option(
    None,
    "--range",
    help="评估的时间点 a:b（从 1 开始，含两端） / time points a:b to evaluate (1-based, inclusive)",
)
FreqOption = typer.Option(
    0,
    "--freq",
    help="频率：52 周、12 月、365 日、1 年；文件有 date 列时由日期推断，不必给出 / "
    "frequency: 52 weekly, 12 monthly, 365 daily, 1 yearly; taken from the dates when the "
    "file has a date column",
)
SchedulerOption = typer.Option(
    None,
    "--scheduler",
    help="Dask 调度器地址（tcp://host:8786），将序列分发到各节点 / "
    "Dask scheduler address to spread series over workers",
)
RowsOption = typer.Option(
    40,
    "--rows",
    help="表格最多显示的行数（结果较大时按序列汇总；完整结果请用 --json） / "
    "most rows in the table (large results are summarised per series; --json gives all)",
)


CountsFileArgument = typer.Argument(
    ...,
    help="长表 CSV/xlsx：series,t 或 date,count[,population] / "
    "long CSV/xlsx series,t or date,count[,population]",
)
StateFileArgument = typer.Argument(
    None, help="含 state 列（已知暴发）的长表 CSV / long CSV with a state column"
)
MethodOption = typer.Option(
    ..., "--method", "-m", help="方法名（见 surveil methods） / method name (see surveil methods)"
)
ScenarioOption = typer.Option(None, "--scenario", help="Noufaily 情景编号 1..42 / scenario 1..42")
ScenariosOption = typer.Option(
    [],
    "--scenario",
    help="改用模拟的 Noufaily 情景评估（可重复） / assess on simulated Noufaily scenario(s)",
)
AllOption = typer.Option(False, "--all", help="全部 42 个情景 / all 42 Noufaily scenarios")
DailyOption = typer.Option(
    False, "--daily", help="含星期效应的日数据设计 / daily design with day-of-week effects"
)
NSeriesOption = typer.Option(
    100, "--n-series", "-n", help="每个情景的重复序列数（1..1000000） / replicates per scenario"
)
SeedOption = typer.Option(0, "--seed", help="随机种子（>= 0） / random seed (>= 0)")
NoCurrentOption = typer.Option(
    False,
    "--no-current",
    help="评估期内不加入暴发 / leave out the outbreak in the evaluation period",
)
OutOption = typer.Option(
    None, "--out", "-o", help="写入的 CSV 文件（默认输出到屏幕） / CSV to write (default stdout)"
)

#: largest number of replicate series ``simulate`` and ``assess`` accept
MAX_SERIES = 1_000_000


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


def _check_int(value: int, name: str, low: int, high: int | None = None) -> None:
    """Refuse a number outside ``low..high`` with a bilingual message (never a traceback)."""
    if value < low or (high is not None and value > high):
        bound_en = f">= {low}" if high is None else f"between {low} and {high}"
        bound_zh = f"不小于 {low}" if high is None else f"在 {low} 到 {high} 之间"
        raise InputError(
            [
                Problem(
                    f"{name} must be an integer {bound_en}, got {value}",
                    f"{name} 必须为{bound_zh}的整数，实际为 {value}",
                    field=name,
                )
            ]
        )


def _check_freq(freq: int) -> None:
    if freq not in (0, 1, 12, 52, 365):
        raise InputError(
            [
                Problem(
                    f"--freq must be 52 (weekly), 12 (monthly), 365 (daily) or 1 (yearly), "
                    f"got {freq}",
                    f"--freq 必须为 52（周）、12（月）、365（日）或 1（年），实际为 {freq}",
                    field="--freq",
                )
            ]
        )


# -- output ------------------------------------------------------------------------------------
def _num(x: float) -> float | None:
    return None if isinstance(x, float) and math.isnan(x) else x


def _fmt(x: float) -> str:
    return "" if math.isnan(x) else f"{x:.3f}".rstrip("0").rstrip(".")


def print_result(res: DetectionResult, rows: int = 40) -> None:
    """A table of the result: every cell when it fits in ``rows``, else one row per series.

    The summary lists the series with alarms first (most alarms, then latest), at most ``rows``
    of them, and says how many were left out: printing every cell of thousands of series took
    longer than computing them and helps no reader; ``--json`` gives everything.
    """
    import numpy as np
    from rich.table import Table

    alarm = np.asarray(res.alarm, dtype=bool)
    dates = res.date_strings()
    label = [dates[i] if dates else str(int(t)) for i, t in enumerate(res.t)]
    n_cells = alarm.size
    when = "日期 date" if dates else "t"
    if n_cells <= rows:
        table = Table(title=f"{res.method}：预期值、上界与警报 / expected, upper bound, alarm")
        for name in (
            "序列 series",
            when,
            "观测 observed",
            "预期 expected",
            "上界 upperbound",
            "警报 alarm",
        ):
            table.add_column(name, justify="left" if name.startswith("序列") else "right")
        for j, name in enumerate(res.names):
            for i in range(len(res.t)):
                table.add_row(
                    name,
                    label[i],
                    _fmt(float(res.observed[i, j])),
                    _fmt(float(res.expected[i, j])),
                    _fmt(float(res.upperbound[i, j])),
                    "[bold red]警报 ALARM[/]" if alarm[i, j] else "",
                )
    else:
        per_series = alarm.sum(axis=0)
        last = np.where(alarm.any(axis=0), alarm.shape[0] - 1 - np.argmax(alarm[::-1], axis=0), -1)
        order = np.lexsort((-last, -per_series))[:rows]
        table = Table(
            title=f"{res.method}：按序列汇总（前 {len(order)} 条，共 {len(res.names)} 条） / "
            f"summary per series ({len(order)} of {len(res.names)}; --json for every value)"
        )
        for name in (
            "序列 series",
            "警报数 alarms",
            "最近警报 last alarm",
            "观测 observed",
            "预期 expected",
            "上界 upperbound",
        ):
            table.add_column(name, justify="left" if name.startswith("序列") else "right")
        end = alarm.shape[0] - 1
        for j in order:
            table.add_row(
                res.names[j],
                str(int(per_series[j])),
                label[int(last[j])] if last[j] >= 0 else "",
                _fmt(float(res.observed[end, j])),
                _fmt(float(res.expected[end, j])),
                _fmt(float(res.upperbound[end, j])),
            )
    console.print(table)
    left = len(res.names) - min(len(res.names), rows) if n_cells > rows else 0
    more_zh = f"，另有 {left} 条未列出" if left else ""
    more_en = f"; {left} more series not listed" if left else ""
    console.print(
        f"{len(res.names)} 条序列，{int(alarm.sum())} 个警报（{label[0]}..{label[-1]}）{more_zh} / "
        f"{len(res.names)} series, {int(alarm.sum())} alarms ({label[0]}..{label[-1]}){more_en}"
    )


def _write_json(res: DetectionResult) -> None:
    """The result as strict JSON on stdout, written a series at a time (see json_chunks)."""
    out = sys.stdout
    for chunk in res.json_chunks():
        out.write(chunk)
    out.flush()


def _warm_first(method: str) -> None:
    """Before the first run of a method on this installation: say so, compile with a bar.

    Compiling the kernels can take up to half a minute once (they are cached on disk after);
    without a word that looks like a hang. Everything goes to stderr, never to stdout.
    """
    from healthwatch.surveillance.warm import cold_methods, warm

    cold = cold_methods([method])
    if not cold:
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    err_console.print(
        f"首次运行 {method}：正在编译计算内核（仅此一次，最长约 30 秒）… / "
        f"first run of {method}: compiling the kernels (once only, up to about 30 s)…"
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("编译 compiling", total=len(cold))
        warm(cold, progress=lambda _m, done, _total: bar.update(task, completed=done))


def _run(
    counts: Counts, method: str, control: dict[str, Any], scheduler: str | None, quiet: bool
) -> DetectionResult:
    from healthwatch.surveillance import engine

    _warm_first(method)
    if quiet or counts.n_series < 2:
        return engine.run(counts, method, client=scheduler, **control)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # a bar: now

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} 条序列 series"),
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
    rows: int = RowsOption,
    json_out: bool = JsonOption,
) -> None:
    """对文件中每条序列运行探测方法 / run a detection method on every series of FILE.

    FILE 为长表：series、t 或 date（日期 2024-07-01、ISO 周 2024-W53 或月份 2024-07）、count。
    有日期时按日历对齐往年参考期（与 R surveillance 的 epochAsDate 相同）。 / FILE is a long
    table series, t or date (a date, an ISO week or a month), count; with dates the reference
    periods of past years are found by calendar, as R does with epochAsDate.
    """
    from healthwatch.data.counts import read_counts

    _check_freq(freq)
    _check_int(rows, "--rows", 1)
    counts = read_counts(file, freq)
    res = _call(counts, method, param, range_, scheduler, json_out)
    if json_out:
        _write_json(res)
    else:
        print_result(res, rows)
    if scheduler is None:  # a Dask cluster must be shut down properly
        ProcessEnd.allow_quick()


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
    """模拟含已知暴发的序列（含 state 列的长表） / simulate series with known outbreaks.

    不给 --out 时输出 CSV 到屏幕；加 --json 则输出 JSON（汇总与每一行）。 / Without --out the CSV
    goes to stdout; with --json, JSON (the summary and every row).
    """
    import numpy as np
    import pandas as pd

    from healthwatch.surveillance.simulate import simulate_daily, simulate_noufaily

    _check_int(n_series, "--n-series", 1, MAX_SERIES)
    _check_int(seed, "--seed", 0)
    if scenario is not None:
        _check_int(scenario, "--scenario", 1, 42)
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
        if json_out:
            columns = [c for c in ("series", "t", "date", "count", "state") if c in table]
            summary["columns"] = columns
            summary["rows"] = table[columns].to_numpy().tolist()
            print_json(summary)
        else:
            table.to_csv(typer.get_text_stream("stdout"), index=False)
        return
    try:
        table.to_csv(out, index=False)
    except OSError as exc:
        raise InputError(
            [
                Problem(
                    f"cannot write the file: {exc.strerror}",
                    f"无法写入文件：{exc.strerror}",
                    file=str(out),
                    field="--out",
                )
            ]
        ) from None
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
    """评估探测效果：检出率、灵敏度、特异度、误报率与延迟 / POD, sensitivity, FPR, delay."""
    from healthwatch.data.counts import read_counts
    from healthwatch.surveillance.assess import assess as assess_result
    from healthwatch.surveillance.assess import noufaily_table

    _check_freq(freq)
    _check_int(n_series, "--n-series", 1, MAX_SERIES)
    _check_int(seed, "--seed", 0)
    for number in scenario:
        _check_int(number, "--scenario", 1, 42)
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
    from rich.table import Table

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
    """列出探测方法及其参数和默认值 / list the detection methods and their parameters."""
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
    from rich.table import Table

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

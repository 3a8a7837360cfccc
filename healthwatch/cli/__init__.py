"""The ``healthwatch`` command: thin Typer shells over the library.

Each command group lives in its own module here and only parses arguments, calls one library
function and prints the result (a Rich table, or JSON with ``--json``).

What a user sees when something goes wrong is decided here, once, in :func:`main`:

* a :class:`healthwatch.errors.HealthwatchError` (bad input, unknown plan, no permission) is
  printed in Chinese and English, exit status 2;
* any other exception is a bug: the user gets one bilingual line saying where the details were
  written (a log file with the traceback), exit status 1; ``healthwatch --debug ...`` (or
  ``HEALTHWATCH_DEBUG=1``) shows the traceback instead;
* Ctrl-C prints one bilingual line, exit status 130.

A Python traceback never reaches a user who did not ask for it.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import os
import re
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from healthwatch.cli._common import (
    HELP_OPTION_NAMES,
    ProcessEnd,
    ZhHelpCommand,
    ZhHelpGroup,
    chinese_help_everywhere,
)
from healthwatch.errors import HealthwatchError

INTERRUPTED_EXIT = 130
"""Exit status after Ctrl-C, as shells report a process ended by SIGINT (128 + 2)."""


class _RootGroup(ZhHelpGroup):
    """The root command: turns Ctrl-C anywhere below it into one bilingual line.

    Typer would otherwise end silently with status 130 (or, before a command runs, print
    click's English "Aborted!").
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _say(interrupted_message())
            raise typer.Exit(INTERRUPTED_EXIT) from None


GROUPS = ("db", "regions", "plans", "surveil", "access", "users", "data", "warning")
"""The command groups, each the ``app`` of the module ``healthwatch.cli.<name>``."""


class _State:
    debug = False


def _root(
    debug: bool = typer.Option(
        False,
        "--debug",
        envvar="HEALTHWATCH_DEBUG",
        help="出现意外错误时显示完整的 Python 回溯（默认只记入日志）/ "
        "show the traceback of an unexpected error (by default it is only logged)",
    ),
) -> None:
    """健康规划监测平台 / healthwatch."""
    _State.debug = debug


def build_app(only: str | None = None) -> typer.Typer:
    """The ``healthwatch`` command with every group, or with the group ``only`` alone.

    :func:`main` builds just the group a command line names: importing and building all eleven
    command modules (Typer turns each parameter into a pydantic validator) costs a tenth of a
    second, which a ``surveil detect`` run on a whole province would otherwise spend first.
    """
    root = typer.Typer(
        name="healthwatch",
        cls=_RootGroup,
        help="健康规划监测平台：五年规划、指标、传染病监测、卫生资源可及性 / healthwatch: "
        "five-year plans, indicators, outbreak surveillance, access to care.",
        no_args_is_help=True,
        add_completion=False,
        context_settings={"help_option_names": list(HELP_OPTION_NAMES)},
    )
    root.callback()(_root)
    for name in GROUPS if only is None else (only,):
        root.add_typer(importlib.import_module(f"healthwatch.cli.{name}").app, name=name)
    if only in (None, "plans"):
        from healthwatch.cli import evaluate

        evaluate.register(root)  # evaluate, report, plans draft, plans progress
    if only is None:
        from healthwatch.cli import demo, serve

        root.command("demo", cls=ZhHelpCommand)(demo.demo)
        root.command("serve", cls=ZhHelpCommand)(serve.serve)
    chinese_help_everywhere(root)
    return root


def _group_of(args: list[str]) -> str | None:
    """The command group a command line runs, when nothing before it needs the whole app."""
    for arg in args:
        if arg == "--debug":
            continue
        return arg if arg in GROUPS else None
    return None


@functools.cache
def _whole_app() -> typer.Typer:
    return build_app()


def __getattr__(name: str) -> typer.Typer:
    """``healthwatch.cli.app``: the whole command, built on first use."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _whole_app()


GC_FIRST_THRESHOLD = 50_000
"""New container objects between two runs of Python's cyclic garbage collector in a command.

The default (700) makes the collector run hundreds of times while a command imports numba,
Typer and pydantic, each run walking the long-lived objects those imports create: about 7 % of
a whole ``surveil detect`` on a province's series. Reference counting frees a command's own
garbage as before; cycles wait for at most this many new containers (a few megabytes).
"""


def main(argv: list[str] | None = None) -> None:
    """Run the command line; the entry point of ``healthwatch`` and ``python -m healthwatch``."""
    args = sys.argv[1:] if argv is None else list(argv)
    ProcessEnd.quick = False
    thresholds = gc.get_threshold()
    gc.set_threshold(max(GC_FIRST_THRESHOLD, thresholds[0]), *thresholds[1:])
    try:
        group = _group_of(args)
        command = build_app(group) if group else _whole_app()
        command(args=args, prog_name="healthwatch", standalone_mode=True)
    except SystemExit as done:
        if done.code in (0, None) and ProcessEnd.quick:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)  # see ProcessEnd: the result is out, skip the interpreter's tear-down
        raise
    except HealthwatchError as exc:
        _say(exc.render())
        sys.exit(2)
    except KeyboardInterrupt:
        _say(interrupted_message())
        sys.exit(INTERRUPTED_EXIT)
    except Exception as exc:
        if _State.debug or _env_debug():
            traceback.print_exc()
        else:
            _say(unexpected_message(exc, write_error_log(exc, args)))
        sys.exit(1)
    finally:
        gc.set_threshold(*thresholds)  # for a caller that runs the command in its own process


def interrupted_message() -> str:
    return "已中断，未完成的操作不会写入数据库 / Interrupted; an unfinished change is not stored."


def unexpected_message(exc: BaseException, log: Path | None) -> str:
    """The one bilingual line a user sees for an unexpected error (a bug, not bad input)."""
    name = type(exc).__name__
    if log is None:
        return (
            f"内部错误（{name}），详情未能写入日志；加 --debug 重新运行可显示详情 / "
            f"Unexpected error ({name}); the details could not be logged: run again with "
            "`healthwatch --debug ...` to see them."
        )
    return (
        f"内部错误（{name}），详情已写入 {log}；加 --debug 重新运行可显示详情 / "
        f"Unexpected error ({name}); details were written to {log} "
        "(or run again with `healthwatch --debug ...`)."
    )


def log_dirs() -> list[Path]:
    """Where error logs go, in order of preference.

    ``$HEALTHWATCH_LOG_DIR``; the user's state folder (``$XDG_STATE_HOME/healthwatch``, by
    default ``~/.local/state/healthwatch``); a per-user folder in the system temp folder.
    """
    dirs = []
    if os.environ.get("HEALTHWATCH_LOG_DIR"):
        dirs.append(Path(os.environ["HEALTHWATCH_LOG_DIR"]))
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    dirs.append(Path(state) / "healthwatch")
    user = re.sub(r"[^A-Za-z0-9_.-]", "_", os.environ.get("USER") or str(os.getpid()))
    dirs.append(Path(tempfile.gettempdir()) / f"healthwatch-{user}")
    return dirs


_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def write_error_log(exc: BaseException, args: list[str]) -> Path | None:
    """Write the traceback to a new log file readable by the user only; None if none could be.

    The command line is recorded with any database password replaced by ``***``.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    command = " ".join(["healthwatch", *(_URL_PASSWORD.sub(r"\1***@", a) for a in args)])
    text = f"time: {datetime.now(UTC).isoformat()}\ncommand: {command}\n\n" + "".join(
        traceback.format_exception(exc)
    )
    for folder in log_dirs():
        path = folder / f"error-{stamp}-{os.getpid()}.log"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError:
            continue
        return path
    return None


def _env_debug() -> bool:
    return os.environ.get("HEALTHWATCH_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}


def _say(text: str) -> None:
    """Print to stderr, never failing (stderr may be closed when a pipe broke)."""
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.stderr, flush=True)


__all__ = ["GROUPS", "app", "build_app", "main"]

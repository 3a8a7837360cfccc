"""Help speaks Chinese first, then English (``中文 / English``), for every command and option.

Covers the root app and the ``db``, ``regions``, ``plans`` and ``demo`` commands (``access`` and
``surveil`` are checked by their own tests). Walks the real click tree Typer builds, so a new
command or option is covered without touching this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from healthwatch.cli import app

CJK = re.compile(r"[\u3400-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2,}")
SEPARATOR = re.compile(
    r"\s?/\s"
)  # "中文 / English" (a slash inside a path is not followed by space)
GROUPS = ("db", "regions", "plans", "demo")


def _walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, cmd
    if hasattr(cmd, "commands"):  # a group (Typer vendors its own click: no isinstance)
        for name, sub in cmd.commands.items():
            if path or name in GROUPS:
                yield from _walk(sub, (*path, name))


def _helps() -> list[tuple[str, str]]:
    root = typer.main.get_command(app)
    out: list[tuple[str, str]] = []
    for path, cmd in _walk(root, ()):
        where = "healthwatch " + " ".join(path)
        out.append((f"{where} (command)", cmd.help or ""))
        ctx = typer.Context(cmd, info_name=path[-1] if path else "healthwatch")
        for param in cmd.get_params(ctx):
            text = getattr(param, "help", None) or ""
            out.append((f"{where} {param.opts[0] if param.opts else param.name}", text))
    return out


HELPS = _helps()


def test_the_walk_sees_every_group() -> None:
    names = " ".join(where for where, _ in HELPS)
    for group in GROUPS:
        assert f"healthwatch {group}" in names
    assert "healthwatch plans load" in names
    assert len(HELPS) > 30


@pytest.mark.parametrize(("where", "text"), HELPS, ids=[w for w, _ in HELPS])
def test_chinese_first_then_english(where: str, text: str) -> None:
    parts = SEPARATOR.split(text, maxsplit=1)
    assert len(parts) == 2, f"{where}: help must be '中文 / English': {text!r}"
    zh, en = parts
    assert CJK.search(zh), f"{where}: the part before ' / ' must be Chinese: {text!r}"
    assert LATIN.search(en), f"{where}: the part after ' / ' must be English: {text!r}"
    # Names (JSON, SQLite, adcode) may appear in the Chinese part, but it is mostly Chinese.
    assert len(CJK.findall(zh)) >= len(LATIN.findall(zh)), f"{where}: {text!r}"


def test_help_option_is_described_in_chinese(run_cli) -> None:  # type: ignore[no-untyped-def]
    proc = run_cli("plans", "load", "-h")
    assert proc.returncode == 0
    assert "显示帮助并退出 / show this help and exit" in proc.stdout
    assert "Show this message and exit" not in proc.stdout

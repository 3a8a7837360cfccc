"""The Python examples in the surveillance documentation run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = sorted((Path(__file__).resolve().parents[2] / "docs").glob("surveillance*.md"))
BLOCKS = [
    pytest.param(block, id=f"{doc.name}:{i}")
    for doc in DOCS
    for i, block in enumerate(re.findall(r"```python\n(.*?)```", doc.read_text(), re.S))
]


def test_there_are_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("code", BLOCKS)
def test_example_runs(code: str) -> None:
    exec(compile(code, "<doc example>", "exec"), {"__name__": "doc_example"})

"""The worked examples in docs/evaluate.md run and give the numbers the text states."""

from __future__ import annotations

import doctest
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "evaluate.md"


def test_docs_examples() -> None:
    result = doctest.testfile(
        str(DOC), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.attempted >= 20
    assert result.failed == 0

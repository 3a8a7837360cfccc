"""The documentation's examples are run: every ```python block of README.md and docs/*.md.

A block that is only an illustration (it needs a server, a large data set, or shows a
fragment) says so on the line before it with ``<!-- illustrative -->``; use that sparingly.
Blocks holding ``>>>`` prompts run as doctests (output compared), the others are executed and
must not raise. Each block runs in a fresh namespace, in a temporary folder, with
``HEALTHWATCH_DB`` pointing there, so examples that write files or a database are safe.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = "<!-- illustrative -->"
_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, int, str]]:
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            before = text[: match.start()].rstrip().splitlines()[-1:] or [""]
            if before[0].strip() == MARKER:
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append((path.name, line, match.group(1)))
    return found


BLOCKS = _blocks()


def test_the_documents_have_examples() -> None:
    assert len(BLOCKS) >= 5  # the extraction itself must find something to run


DOCUMENT_NAMES = sorted({name for name, _, _ in BLOCKS})


@pytest.mark.parametrize("document", DOCUMENT_NAMES)
def test_examples_run(document: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A document's blocks run in order in one namespace, as a reader runs them in turn."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for name, line, code in BLOCKS:
        if name != document:
            continue
        if ">>>" in code:
            parser = doctest.DocTestParser()
            test = parser.get_doctest(code, namespace, f"{name}:{line}", name, line)
            runner = doctest.DocTestRunner(
                optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
            )
            runner.run(test, clear_globs=False)
            result = runner.summarize(verbose=False)
            assert result.failed == 0, f"{name}:{line}: {result.failed} doctest example(s) failed"
            namespace = test.globs
        else:
            exec(compile(code, f"{name}:{line}", "exec"), namespace)

"""`healthwatch demo`: the main job on the embedded SQLite database."""

from __future__ import annotations


def demo() -> None:
    """Load regions and both plans into SQLite and print what was loaded and the findings."""
    raise NotImplementedError("demo is built in issue 2")

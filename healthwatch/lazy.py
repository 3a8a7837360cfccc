"""A stand-in for an object that is costly to make and often never used.

>>> made = []
>>> answer = OnFirstUse(lambda: made.append(1) or "forty-two")
>>> made
[]
>>> answer.upper(), made
('FORTY-TWO', [1])

Attribute access goes to the real object, made by ``make()`` the first time one is asked for.
healthwatch uses it where an import-time object would cost a command's start-up a noticeable
share of its run: numba's ``cffi.FFI`` (:mod:`healthwatch.jit`) and the CLI's rich consoles.
Special methods are looked up on the type, not through ``__getattr__``: a subclass defines the
ones its callers use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["OnFirstUse"]


class OnFirstUse:
    """Forwards every attribute to ``make()``, called once, at the first attribute asked for."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made: Any = None
        self._done = False

    def real(self) -> Any:
        """The object itself, made now if it was not yet."""
        if not self._done:
            self._made = self._make()
            self._done = True
        return self._made

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)

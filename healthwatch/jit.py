"""numba for the whole package, started without importing ``scipy.linalg``.

Every compiled kernel of healthwatch imports numba from here::

    from healthwatch.jit import numba

The first compiled function a process calls (or loads from numba's disk cache) makes numba
import its array-math module, which checks at import time that scipy's BLAS can be loaded by
importing ``scipy.linalg.cython_blas``. That import brings in all of ``scipy.linalg`` and, through
scipy's array-API shim walking numpy's lazy submodules, ``numpy.f2py``: about 0.16 s, a tenth of
a whole ``healthwatch surveil detect`` run on 3,000 series. No healthwatch kernel calls BLAS.

So the check is made here without the import: the array-math module is imported once with
numba's ``ensure_blas`` replaced by a test that scipy is installed (it is a dependency), and the
real function is put back at once. A kernel that does use BLAS still gets it: numba calls
``ensure_blas`` again when it compiles ``np.dot`` and the like, and loads scipy's BLAS then.

The same first use builds numba's typing of cffi functions, which creates a ``cffi.FFI()`` at
import time; that constructor imports pycparser, whose C lexer compiles its regular expressions
(about 0.04 s more). No kernel of healthwatch calls a cffi function, so numba gets an object
that creates the real ``FFI`` the first time numba asks it anything (typing a cffi function
passed to a kernel): the same answers, paid for only by a program that uses them.

If numba's internals ever move, either deferral is skipped and numba behaves as it always has.
"""

from __future__ import annotations

import importlib.util
import sys

import numba

from healthwatch.lazy import OnFirstUse

__all__ = ["numba"]


def _scipy_installed() -> None:
    if importlib.util.find_spec("scipy") is None:
        raise ImportError("scipy is required for linear algebra")


def _import_arraymath_without_blas() -> None:
    if "numba.np.arraymath" in sys.modules:
        return
    try:
        from numba.np import linalg
    except ImportError:  # pragma: no cover - a numba without this module: nothing to defer
        return
    real = getattr(linalg, "ensure_blas", None)
    if real is None:  # pragma: no cover
        return
    linalg.ensure_blas = _scipy_installed
    try:
        import numba.np.arraymath as arraymath
    finally:
        linalg.ensure_blas = real
    if getattr(arraymath, "ensure_blas", None) is _scipy_installed:
        arraymath.ensure_blas = real


def _import_cffi_typing_lazily() -> None:
    if "numba.core.typing.cffi_utils" in sys.modules:
        return
    try:
        import cffi
    except ImportError:  # numba then types no cffi function: nothing to defer
        return
    real = cffi.FFI
    cffi.FFI = lambda: OnFirstUse(real)  # numba's module calls cffi.FFI() once, at import
    try:
        import numba.core.typing.cffi_utils  # noqa: F401
    finally:
        cffi.FFI = real


_import_arraymath_without_blas()
_import_cffi_typing_lazily()

"""healthwatch.jit: numba starts without scipy.linalg, and BLAS still works where it is used."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


def test_detection_does_not_import_scipy_linalg() -> None:
    out = _run(
        """
        import sys
        import numpy as np
        from healthwatch.surveillance import Counts
        from healthwatch.surveillance.farrington import farrington_flexible
        y = np.random.default_rng(1).poisson(5.0, size=(320, 2)).astype(float)
        r = farrington_flexible(Counts.from_array(y), range="300:310",
                                threshold_method="nbPlugin", p_threshold_trend=1)
        assert np.isfinite(r.upperbound).all()
        print(*(m in sys.modules for m in ("scipy.linalg", "numpy.f2py", "pycparser")))
        """
    )
    assert out == "False False False"


def test_blas_still_loads_for_a_kernel_that_needs_it() -> None:
    out = _run(
        """
        import sys
        import numpy as np
        from healthwatch.jit import numba

        @numba.njit
        def dot(a, b):
            return np.dot(a, b)

        a = np.arange(6.0).reshape(2, 3)
        b = np.arange(3.0)
        assert np.array_equal(dot(a, b), a @ b)
        print("scipy.linalg" in sys.modules)
        """
    )
    assert out == "True"


def test_cffi_functions_still_type_in_a_kernel() -> None:
    out = _run(
        """
        import math
        import cffi
        from healthwatch.jit import numba

        ffi = cffi.FFI()
        ffi.cdef("double cos(double);")
        libm = ffi.dlopen(None)
        cos = libm.cos

        @numba.njit
        def f(x):
            return cos(x)

        assert f(0.5) == math.cos(0.5)
        print("ok")
        """
    )
    assert out == "ok"


def test_every_module_takes_numba_from_healthwatch_jit() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "healthwatch").rglob("*.py")
        if p.name != "jit.py"
        and any(line.strip() in ("import numba", "from numba import njit") for line in p.open())
    ]
    assert offenders == []

"""The compiled training kernels, in the best build this CPU can run.

Two builds of the same Cython source (_kernels_impl.pxi) ship: `_kernels_generic` for any
CPU, and on x86-64 `_kernels_avx2`, compiled with AVX2 and FMA (about 1.3-1.5x the speed of
the generic build). The AVX2 build is used when the CPU supports it. W2V_KERNELS=generic or
W2V_KERNELS=avx2 forces a choice (for comparing them).
"""
import os

from . import _kernels_generic

try:
    from . import _kernels_avx2
except ImportError:          # not built on this platform
    _kernels_avx2 = None


def variants():
    """The builds this machine can run, by name."""
    out = {"generic": _kernels_generic}
    if _kernels_avx2 is not None and _kernels_generic.cpu_has_avx2_fma():
        out["avx2"] = _kernels_avx2
    return out


def _choose():
    available = variants()
    wanted = os.environ.get("W2V_KERNELS", "auto").strip().lower() or "auto"
    if wanted == "auto":
        return "avx2" if "avx2" in available else "generic"
    if wanted not in ("generic", "avx2"):
        raise ImportError(f"W2V_KERNELS must be auto, generic or avx2, not {wanted!r}")
    if wanted not in available:
        raise ImportError(f"W2V_KERNELS={wanted}: this CPU or build has no {wanted} kernels")
    return wanted


VARIANT = _choose()
_impl = variants()[VARIANT]
globals().update({k: v for k, v in vars(_impl).items() if not k.startswith("__")})

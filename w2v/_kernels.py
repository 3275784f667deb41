"""The compiled training kernels, in the best build this CPU can run.

Two builds of the same Cython source (_kernels_impl.pxi) ship: `_kernels_generic` for any
CPU, and on x86-64 `_kernels_avx2`, compiled with AVX2 and FMA (about 1.3-1.5x the speed of
the generic build), and F16C for float16 conversions (every CPU with AVX2 has it). The AVX2 build
is imported only after the CPU is known to support all three (its module code itself uses those
instructions). W2V_KERNELS=generic or W2V_KERNELS=avx2 forces a
choice (for comparing them).
"""
import importlib
import os

from . import _kernels_generic


def _avx2_module():
    if not _kernels_generic.cpu_has_avx2_fma():
        return None
    try:
        return importlib.import_module("._kernels_avx2", __package__)
    except ImportError:          # not built on this platform
        return None


def variants():
    """The builds this machine can run, by name."""
    out = {"generic": _kernels_generic}
    avx2 = _avx2_module()
    if avx2 is not None:
        out["avx2"] = avx2
    return out


def _choose():
    wanted = os.environ.get("W2V_KERNELS", "auto").strip().lower() or "auto"
    if wanted not in ("auto", "generic", "avx2"):
        raise ImportError(f"W2V_KERNELS must be auto, generic or avx2, not {wanted!r}")
    if wanted == "generic":
        return "generic", _kernels_generic
    avx2 = _avx2_module()
    if avx2 is not None:
        return "avx2", avx2
    if wanted == "avx2":
        raise ImportError("W2V_KERNELS=avx2: this CPU or build has no avx2 kernels")
    return "generic", _kernels_generic


VARIANT, _impl = _choose()
globals().update({k: v for k, v in vars(_impl).items() if not k.startswith("__")})

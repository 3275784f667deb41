"""The compiled training kernels, in the best build this CPU can run.

Two builds of the same Cython source (_kernels_impl.pxi) ship: `_kernels_generic` for any
CPU, and on x86-64 `_kernels_avx2`, compiled with AVX2 and FMA (about 1.3-1.5x the speed of
the generic build), and F16C for float16 conversions (every CPU with AVX2 has it). The AVX2 build
is imported only after the CPU is known to support all three (its module code itself uses those
instructions). On a CPU with AVX-512 the AVX2 build runs the hierarchical-softmax path (skip-gram
and CBOW) in 16-float registers ("avx512"). W2V_KERNELS=generic, avx2 or avx512 forces a choice
(for comparing them).
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
    """The builds this machine can run, by name. "avx512" is the AVX2 build with its
    hierarchical-softmax path in its AVX-512 form (use_avx512): the same module as "avx2", so only one of the
    two is in effect at a time (select)."""
    out = {"generic": _kernels_generic}
    avx2 = _avx2_module()
    if avx2 is not None:
        out["avx2"] = avx2
        if avx2.cpu_has_avx512():
            out["avx512"] = avx2
    return out


def select(name):
    """The module of build `name` (a key of variants()), with its AVX-512 form switched on or off to match."""
    mod = variants()[name]
    if hasattr(mod, "use_avx512"):
        mod.use_avx512(name == "avx512")
    return mod


def _choose():
    wanted = os.environ.get("W2V_KERNELS", "auto").strip().lower() or "auto"
    if wanted not in ("auto", "generic", "avx2", "avx512"):
        raise ImportError(f"W2V_KERNELS must be auto, generic, avx2 or avx512, not {wanted!r}")
    found = variants()
    if wanted == "auto":
        wanted = next(name for name in ("avx512", "avx2", "generic") if name in found)
    if wanted not in found:
        raise ImportError(f"W2V_KERNELS={wanted}: this CPU or build has no {wanted} kernels")
    return wanted, select(wanted)


VARIANT, _impl = _choose()
globals().update({k: v for k, v in vars(_impl).items() if not k.startswith("__")})

"""Run a block of numpy linear algebra on one BLAS thread.

The sentence-similarity table makes many small BLAS calls (covariances of 100 columns, SVDs and
eigendecompositions of 100 x 100 matrices, pooled sentence matrices). With OpenBLAS's default of one
thread per core, each call hands work to the other threads and waits for them; when other processes
keep the cores busy, that wait dominates (the full table took 4-7 s on 2 busy cores, 0.7 s with one
thread). one_thread() sets OpenBLAS's thread count to 1 for the block and restores it afterwards, by
calling OpenBLAS's own setter in the library numpy loaded; with another BLAS, or none found, it does
nothing. OPENBLAS_NUM_THREADS set by the user is respected: then nothing is changed.
"""
import contextlib
import ctypes
import os

_NAMES = (("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
          ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
          ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
          ("openblas_get_num_threads", "openblas_set_num_threads"))
_api = None


def _find():
    """(get, set) of the OpenBLAS numpy uses, or () if there is none to be found."""
    global _api
    if _api is not None:
        return _api
    _api = ()
    try:
        import numpy  # noqa: F401  (loads its BLAS)
        with open("/proc/self/maps") as fh:
            paths = sorted({line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line})
    except OSError:
        return _api
    for path in paths:
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LOCAL) if hasattr(os, "RTLD_NOLOAD") \
                else ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _NAMES:
            get, set_ = getattr(lib, get_name, None), getattr(lib, set_name, None)
            if get is not None and set_ is not None:
                get.restype, get.argtypes = ctypes.c_int, []
                set_.restype, set_.argtypes = None, [ctypes.c_int]
                _api = (get, set_)
                return _api
    return _api


def threads():
    """OpenBLAS's current thread count, or None if it cannot be asked."""
    api = _find()
    return api[0]() if api else None


@contextlib.contextmanager
def one_thread():
    api = () if "OPENBLAS_NUM_THREADS" in os.environ else _find()
    before = api[0]() if api else 1
    if api and before != 1:
        api[1](1)
    try:
        yield
    finally:
        if api and before != 1:
            api[1](before)

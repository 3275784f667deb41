"""Build the compiled kernels. Everything else lives in pyproject.toml.

Environment switches:
  W2V_DEBUG=1   turn Cython bounds/wraparound checks back on and build with -O0 -g
  W2V_NATIVE=1  add -march=native (the default build runs on any x86-64)
  W2V_NO_AVX2=1 skip the AVX2 + FMA build of the kernels
"""
import os
import platform

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("W2V_DEBUG") == "1"

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "nonecheck": False,
}

if DEBUG:
    cflags = ["-O0", "-g"]
else:
    # -fassociative-math lets gcc vectorise the float reductions (dot products);
    # NaN checks stay valid because finite-math is not assumed.
    cflags = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-fno-signed-zeros", "-fassociative-math"]
if os.environ.get("W2V_NATIVE") == "1":
    cflags.append("-march=native")

def kernel_extension(name, extra_flags=()):
    return Extension(
        f"w2v.{name}",
        [f"w2v/{name}.pyx"],
        include_dirs=[np.get_include(), "w2v"],
        extra_compile_args=cflags + list(extra_flags),
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )


# The scanner, phrase counting and joining, and the same kernels twice: a generic build, and on
# x86-64 an AVX2 + FMA (+ F16C) build that
# w2v/_kernels.py selects at import when the CPU has those instructions.
extensions = [kernel_extension("_kernels_generic"), kernel_extension("_scan"), kernel_extension("_phrases")]
if platform.machine().lower() in ("x86_64", "amd64") and os.environ.get("W2V_NO_AVX2") != "1":
    # -funroll-loops lets the float reductions use several accumulators: +20-30% CBOW, +5% skip-gram
    extensions.append(kernel_extension("_kernels_avx2", ["-mavx2", "-mfma", "-mf16c", "-funroll-loops"]))

setup(ext_modules=cythonize(extensions, compiler_directives=directives))

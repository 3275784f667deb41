# The training kernels built with AVX2 and FMA (x86-64 only); chosen at import where the CPU has them.
include "_kernels_impl.pxi"

# The training kernels built for any CPU (the compiler's baseline instruction set).
include "_kernels_impl.pxi"

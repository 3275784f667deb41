# Per-thread random numbers for the nogil kernels: xorshift64* seeded through splitmix64.
# Each worker keeps its own state in a local variable; nothing here is shared.
from libc.stdint cimport uint64_t, uint32_t


cdef inline uint64_t splitmix64(uint64_t *state) noexcept nogil:
    cdef uint64_t z
    state[0] += <uint64_t>0x9E3779B97F4A7C15ULL
    z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline uint64_t rng_seed(uint64_t a, uint64_t b, uint64_t c) noexcept nogil:
    """A non-zero xorshift state derived from up to three integers (seed, epoch, chunk)."""
    cdef uint64_t s = a
    cdef uint64_t out = splitmix64(&s)
    s ^= b * <uint64_t>0xD1B54A32D192ED03ULL
    out ^= splitmix64(&s)
    s ^= c * <uint64_t>0x8CB92BA72F3D8DD7ULL
    out ^= splitmix64(&s)
    if out == 0:
        out = <uint64_t>0x2545F4914F6CDD1DULL
    return out


cdef inline uint64_t rng_next(uint64_t *state) noexcept nogil:
    cdef uint64_t x = state[0]
    x ^= x >> 12
    x ^= x << 25
    x ^= x >> 27
    state[0] = x
    return x * <uint64_t>0x2545F4914F6CDD1DULL


cdef inline uint32_t rng_below(uint64_t *state, uint32_t n) noexcept nogil:
    """Uniform integer in [0, n) by multiply-shift (Lemire), bias below 2**-32."""
    return <uint32_t>(((rng_next(state) >> 32) * <uint64_t>n) >> 32)


cdef inline float rng_uniform(uint64_t *state) noexcept nogil:
    """Uniform float in [0, 1) with 24 random bits."""
    return <float>(rng_next(state) >> 40) * <float>(1.0 / 16777216.0)

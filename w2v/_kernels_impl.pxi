# Compiled training kernels: skip-gram and CBOW with negative sampling and/or hierarchical softmax.
#
# This body is compiled twice: _kernels_generic.pyx (any CPU) and _kernels_avx2.pyx (AVX2 + FMA);
# w2v/_kernels.py picks one at import.
#
# Python (train.py) validates and prepares everything, then each worker thread calls
# TrainState.train_chunk(), which runs a whole chunk of the encoded corpus inside one
# `with nogil:` block. Workers update syn0/syn1neg/syn1 without locks (Hogwild), as word2vec.c,
# fastText and gensim do; only a single thread with a fixed seed is bit-for-bit repeatable.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int32_t, uint64_t, int64_t
from libc.math cimport exp, log, fmaxf
from libc.stdlib cimport malloc, free
from libc.string cimport memset, memcpy, memcmp
from posix.time cimport clock_gettime, nanosleep, timespec, CLOCK_MONOTONIC

import numpy as np

from w2v._types cimport *
from w2v._random cimport rng_seed, rng_next, rng_below, rng_uniform

EOS = 0xFFFFFFFF
cdef uint32_t C_EOS = 0xFFFFFFFF

cdef extern from *:
    """
    #if defined(__unix__) || defined(__APPLE__)
    #include <sched.h>
    #endif
    #include <stdint.h>
    #include <string.h>
    #if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    #include <cpuid.h>
    #endif
    #if defined(__F16C__)
    #include <immintrin.h>
    #define W2V_HAS_F16C 1
    #else
    #define W2V_HAS_F16C 0
    #endif
    static inline long long w2v_atomic_add(long long *p, long long v) {
        return __atomic_add_fetch(p, v, __ATOMIC_RELAXED);
    }
    static inline long long w2v_atomic_load(long long *p) {
        return __atomic_load_n(p, __ATOMIC_RELAXED);
    }
    static inline int w2v_load_flag(int *p) {
        return __atomic_load_n(p, __ATOMIC_RELAXED);
    }
    static inline void w2v_store_flag(int *p, int v) {
        __atomic_store_n(p, v, __ATOMIC_RELAXED);
    }
    /* A spin lock that, after a few thousand turns, gives its core away at every turn: with more
       workers than cores a waiter that only spun would keep the holder off the CPU. */
    static inline void w2v_lock(int *p) {
        int spins = 0;
        while (__atomic_exchange_n(p, 1, __ATOMIC_ACQUIRE)) {
            while (__atomic_load_n(p, __ATOMIC_RELAXED)) {
                if (spins < 4096) {
                    spins++;
    #if defined(__x86_64__) || defined(__i386__)
                    __builtin_ia32_pause();
    #endif
                } else {
    #if defined(__unix__) || defined(__APPLE__)
                    sched_yield();
    #endif
                }
            }
        }
    }
    /* 1: taken; 0: another thread holds it (then nothing is written) */
    static inline int w2v_trylock(int *p) {
        return !__atomic_load_n(p, __ATOMIC_RELAXED) && !__atomic_exchange_n(p, 1, __ATOMIC_ACQUIRE);
    }
    static inline void w2v_unlock(int *p) {
        __atomic_store_n(p, 0, __ATOMIC_RELEASE);
    }
    /* Dot product with four independent accumulators: a single running sum makes every
       multiply-add wait for the previous one (4 cycles each), which left the dot products of
       the negative-sampling loop at a quarter of the speed the CPU can do. */
    #if defined(__AVX2__) && defined(__FMA__)
    #include <immintrin.h>
    static inline float w2v_dot(const float *a, const float *b, int n) {
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
        int i = 0;
        for (; i + 32 <= n; i += 32) {
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
            s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
            s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
        }
        for (; i + 8 <= n; i += 8)
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s0 = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        float t = _mm_cvtss_f32(h);
        for (; i < n; i++)
            t += a[i] * b[i];
        return t;
    }
    static inline __m256 w2v_low4(const float *p) {    /* 4 floats, the upper half zero */
        return _mm256_insertf128_ps(_mm256_setzero_ps(), _mm_loadu_ps(p), 0);
    }
    /* AVX-512 forms of the hierarchical-softmax path functions below (w2v_path_update,
       w2v_path_update_dot, the scores of w2v_path_scores) and of path_gradients, compiled for AVX-512
       inside this AVX2 build and used only by a trainer (skip-gram or CBOW) made while w2v_use512 is on
       (which needs a CPU that has AVX-512: Model.wide). A row is held in 16-float registers 128 floats at a
       time, its end masked off, so one node's update is about half the instructions of the 8-float
       form. */
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #define W2V_HAVE512 1
    #define W2V_T512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw")))
    static int w2v_use512 = 0;
    /* The registers a block of the row takes when `left` floats remain (at most 8: 128 floats), and
       the mask of the last one */
    static inline int w2v_block512(int left, __mmask16 *last) {
        *last = left >= 128 || (left & 15) == 0 ? (__mmask16)0xFFFF : (__mmask16)((1u << (left & 15)) - 1u);
        return left >= 128 ? 8 : (left + 15) / 16;
    }
    /* out[r] = the sum of acc[r]'s 16 floats for r < nrows, 16 rows at a time by a transposed
       reduction: 46 instructions for 16 rows instead of about 8 for each row alone. Each level adds
       the same halves as _mm512_reduce_add_ps does (lanes 0-7 and 8-15, then 0-3 and 4-7, 0-1 and
       2-3, 0 and 1), so the sums are the same bits. out has room for nrows rounded up to 16. */
    W2V_T512 static inline __attribute__((always_inline)) void w2v_sums512(const __m512 *acc, int nrows,
                                                                          float *out) {
        const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        int j, i;
        for (j = 0; j < nrows; j += 16) {
            __m512 v[16], w[8], x[4], y[2], t;
            for (i = 0; i < 16; i++)
                v[i] = j + i < nrows ? acc[j + i] : _mm512_setzero_ps();
            for (i = 0; i < 8; i++)      /* w[i]: rows 2i and 2i+1, 8 floats each */
                w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44),
                                     _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xEE));
            for (i = 0; i < 4; i++)      /* x[i]: rows 4i .. 4i+3, 4 floats each */
                x[i] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0x88),
                                     _mm512_shuffle_f32x4(w[2 * i], w[2 * i + 1], 0xDD));
            for (i = 0; i < 2; i++) {    /* y[i]: in group g of 4 floats, rows 8i+g and 8i+4+g, 2 floats each */
                __m512d a = _mm512_castps_pd(x[2 * i]), b = _mm512_castps_pd(x[2 * i + 1]);
                y[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                                     _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
            }
            /* group g: rows g, 4+g, 8+g, 12+g; then into row order */
            t = _mm512_add_ps(_mm512_shuffle_ps(y[0], y[1], 0x88), _mm512_shuffle_ps(y[0], y[1], 0xDD));
            _mm512_storeu_ps(out + j, _mm512_permutexvar_ps(order, t));
        }
    }
    W2V_T512 static inline __attribute__((always_inline)) void w2v_pud512_block(
            float *err, const float *h, const float *hn, float **rows, const float *g, int nrows,
            int x, __mmask16 last, __m512 *acc, const int K, const int dot) {
        __m512 e[8], hv[8], nv[8];
        int c, r;
        for (c = 0; c < K; c++) {
            __mmask16 mk = c == K - 1 ? last : (__mmask16)0xFFFF;
            e[c] = _mm512_maskz_loadu_ps(mk, err + x + 16 * c);
            hv[c] = _mm512_maskz_loadu_ps(mk, h + x + 16 * c);
            if (dot)
                nv[c] = _mm512_maskz_loadu_ps(mk, hn + x + 16 * c);
        }
        for (r = 0; r < nrows; r++) {
            float *u = rows[r] + x;
            __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
            if (g[r] != 0.0f) {
                __m512 s = _mm512_set1_ps(g[r]);
                for (c = 0; c < K; c++) {
                    __mmask16 mk = c == K - 1 ? last : (__mmask16)0xFFFF;
                    __m512 t = _mm512_maskz_loadu_ps(mk, u + 16 * c);
                    e[c] = _mm512_fmadd_ps(s, t, e[c]);
                    t = _mm512_fmadd_ps(s, hv[c], t);
                    _mm512_mask_storeu_ps(u + 16 * c, mk, t);
                    if (dot) {
                        if (c & 1) a1 = _mm512_fmadd_ps(t, nv[c], a1);
                        else a0 = _mm512_fmadd_ps(t, nv[c], a0);
                    }
                }
            } else if (dot) {
                for (c = 0; c < K; c++) {
                    __mmask16 mk = c == K - 1 ? last : (__mmask16)0xFFFF;
                    __m512 t = _mm512_maskz_loadu_ps(mk, u + 16 * c);
                    if (c & 1) a1 = _mm512_fmadd_ps(t, nv[c], a1);
                    else a0 = _mm512_fmadd_ps(t, nv[c], a0);
                }
            }
            if (dot)
                acc[r] = _mm512_add_ps(acc[r], _mm512_add_ps(a0, a1));
        }
        for (c = 0; c < K; c++)
            _mm512_mask_storeu_ps(err + x + 16 * c, c == K - 1 ? last : (__mmask16)0xFFFF, e[c]);
    }
    /* dot: 0 for w2v_path_update's work, 1 for w2v_path_update_dot's */
    W2V_T512 static void w2v_pud512(float *err, const float *h, const float *hn, float **rows, const float *g,
                                    int nrows, int n, float *next, const int dot) {
        __m512 acc[32];
        int x, r;
        if (dot)
            for (r = 0; r < nrows; r++)
                acc[r] = _mm512_setzero_ps();
        for (x = 0; x < n; x += 128) {
            __mmask16 last;
            int k = w2v_block512(n - x, &last);
            switch (k) {     /* one copy of the block for each number of registers a row takes */
            case 8: w2v_pud512_block(err, h, hn, rows, g, nrows, x, last, acc, 8, dot); break;
            case 7: w2v_pud512_block(err, h, hn, rows, g, nrows, x, last, acc, 7, dot); break;
            case 6: w2v_pud512_block(err, h, hn, rows, g, nrows, x, last, acc, 6, dot); break;
            case 5: w2v_pud512_block(err, h, hn, rows, g, nrows, x, last, acc, 5, dot); break;
            case 4: w2v_pud512_block(err, h, hn, rows, g, nrows, x, last, acc, 4, dot); break;
            case 3: w2v_pud512_block(err, h, hn, rows, g, nrows, x, last, acc, 3, dot); break;
            case 2: w2v_pud512_block(err, h, hn, rows, g, nrows, x, last, acc, 2, dot); break;
            default: w2v_pud512_block(err, h, hn, rows, g, nrows, x, last, acc, 1, dot); break;
            }
        }
        if (dot)
            w2v_sums512(acc, nrows, next);
    }
    /* fs[r] = h . rows[r] for r < nrows: h is held in registers 128 floats at a time */
    W2V_T512 static inline __attribute__((always_inline)) void w2v_scores512_block(
            const float *h, float **rows, int nrows, int x, __mmask16 last, __m512 *acc, const int K) {
        __m512 hv[8];
        int c, r;
        for (c = 0; c < K; c++)
            hv[c] = _mm512_maskz_loadu_ps(c == K - 1 ? last : (__mmask16)0xFFFF, h + x + 16 * c);
        for (r = 0; r < nrows; r++) {
            const float *u = rows[r] + x;
            __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
            for (c = 0; c < K; c++) {
                __m512 t = _mm512_maskz_loadu_ps(c == K - 1 ? last : (__mmask16)0xFFFF, u + 16 * c);
                if (c & 1) a1 = _mm512_fmadd_ps(t, hv[c], a1);
                else a0 = _mm512_fmadd_ps(t, hv[c], a0);
            }
            acc[r] = _mm512_add_ps(acc[r], _mm512_add_ps(a0, a1));
        }
    }
    W2V_T512 static void w2v_scores512(const float *h, float **rows, int nrows, int n, float *fs) {
        __m512 acc[32];
        int x, r;
        for (r = 0; r < nrows; r++)
            acc[r] = _mm512_setzero_ps();
        for (x = 0; x < n; x += 128) {
            __mmask16 last;
            int k = w2v_block512(n - x, &last);
            switch (k) {
            case 8: w2v_scores512_block(h, rows, nrows, x, last, acc, 8); break;
            case 7: w2v_scores512_block(h, rows, nrows, x, last, acc, 7); break;
            case 6: w2v_scores512_block(h, rows, nrows, x, last, acc, 6); break;
            case 5: w2v_scores512_block(h, rows, nrows, x, last, acc, 5); break;
            case 4: w2v_scores512_block(h, rows, nrows, x, last, acc, 4); break;
            case 3: w2v_scores512_block(h, rows, nrows, x, last, acc, 3); break;
            case 2: w2v_scores512_block(h, rows, nrows, x, last, acc, 2); break;
            default: w2v_scores512_block(h, rows, nrows, x, last, acc, 1); break;
            }
        }
        w2v_sums512(acc, nrows, fs);
    }
    /* The gradients of path nodes 0 .. nrows - 1 from their scores, 16 at a time, exactly as the
       scalar path_gradients: g = (1 - code - sig[cell]) * alpha inside (-max_exp, max_exp), 0 outside;
       the loss adds nll[cell] + code * f inside, max(0, (2 code - 1) f) outside. 0 when a score is
       NaN or beyond +-big. */
    W2V_T512 static int w2v_gradients512(const float *fs, const uint32_t *path, int nrows, float alpha,
                                         const float *sig, const float *nll, float max_exp, float scale,
                                         float big, float *gs, double *loss) {
        __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps(), pl = zero;
        int j;
        for (j = 0; j < nrows; j += 16) {
            __mmask16 mk = nrows - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (nrows - j)) - 1u);
            __m512 f = _mm512_maskz_loadu_ps(mk, fs + j), af = _mm512_abs_ps(f);
            if (_mm512_mask_cmp_ps_mask(mk, af, _mm512_set1_ps(big), _CMP_LT_OQ) != mk)
                return 0;
            __m512 code = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_maskz_loadu_epi32(mk, path + j),
                                                              _mm512_set1_epi32(1)));
            __mmask16 in = _mm512_mask_cmp_ps_mask(mk, af, _mm512_set1_ps(max_exp), _CMP_LT_OQ);
            __m512i cell = _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_add_ps(f, _mm512_set1_ps(max_exp)),
                                                             _mm512_set1_ps(scale)));
            __m512 t = _mm512_mask_i32gather_ps(zero, in, cell, sig, 4);
            __m512 nl = _mm512_mask_i32gather_ps(zero, in, cell, nll, 4);
            __m512 g = _mm512_maskz_mul_ps(in, _mm512_sub_ps(_mm512_sub_ps(one, code), t), _mm512_set1_ps(alpha));
            _mm512_mask_storeu_ps(gs + j, mk, g);
            __m512 lin = _mm512_add_ps(nl, _mm512_mul_ps(code, f));
            __m512 lout = _mm512_max_ps(zero, _mm512_mul_ps(_mm512_sub_ps(_mm512_add_ps(code, code), one), f));
            pl = _mm512_mask_add_ps(pl, mk, pl, _mm512_mask_blend_ps(in, lout, lin));
        }
        loss[0] += _mm512_reduce_add_ps(pl);
        return 1;
    }
    W2V_T512 static void w2v_path_update512(float *err, const float *h, float **rows, const float *g, int nrows, int n) {
        w2v_pud512(err, h, h, rows, g, nrows, n, NULL, 0);
    }
    W2V_T512 static void w2v_path_update_dot512(float *err, const float *h, const float *hn, float **rows,
                                                const float *g, int nrows, int n, float *next) {
        w2v_pud512(err, h, hn, rows, g, nrows, n, next, 1);
    }
    #else
    #define W2V_HAVE512 0
    static int w2v_use512 = 0;
    #endif
    /* Four dot products of one vector h with four rows, in one pass over h: the scores of
       hierarchical softmax along a path (h is fixed while the path is trained). Two accumulators
       a row keep the chains of dependent multiply-adds short. */
    static inline void w2v_dot4(const float *h, const float *b0, const float *b1, const float *b2,
                                const float *b3, int n, float *out) {
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps();
        __m256 a3 = _mm256_setzero_ps(), c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();
        __m256 c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps();
        int i = 0;
        for (; i + 16 <= n; i += 16) {
            __m256 x = _mm256_loadu_ps(h + i), y = _mm256_loadu_ps(h + i + 8);
            a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b0 + i), a0);
            a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b1 + i), a1);
            a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b2 + i), a2);
            a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b3 + i), a3);
            c0 = _mm256_fmadd_ps(y, _mm256_loadu_ps(b0 + i + 8), c0);
            c1 = _mm256_fmadd_ps(y, _mm256_loadu_ps(b1 + i + 8), c1);
            c2 = _mm256_fmadd_ps(y, _mm256_loadu_ps(b2 + i + 8), c2);
            c3 = _mm256_fmadd_ps(y, _mm256_loadu_ps(b3 + i + 8), c3);
        }
        if (i < n) {     /* the last 1..15 floats: 8, then 4, then one at a time */
            if (i + 8 <= n) {
                __m256 x = _mm256_loadu_ps(h + i);
                a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b0 + i), a0);
                a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b1 + i), a1);
                a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b2 + i), a2);
                a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b3 + i), a3);
                i += 8;
            }
            if (i + 4 <= n) {    /* 4 more floats, in the low half of the second accumulators */
                __m256 y = w2v_low4(h + i);
                c0 = _mm256_fmadd_ps(y, w2v_low4(b0 + i), c0);
                c1 = _mm256_fmadd_ps(y, w2v_low4(b1 + i), c1);
                c2 = _mm256_fmadd_ps(y, w2v_low4(b2 + i), c2);
                c3 = _mm256_fmadd_ps(y, w2v_low4(b3 + i), c3);
                i += 4;
            }
        }
        a0 = _mm256_add_ps(a0, c0); a1 = _mm256_add_ps(a1, c1);
        a2 = _mm256_add_ps(a2, c2); a3 = _mm256_add_ps(a3, c3);
        __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
        _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
        for (; i < n; i++) {
            out[0] += h[i] * b0[i]; out[1] += h[i] * b1[i];
            out[2] += h[i] * b2[i]; out[3] += h[i] * b3[i];
        }
    }
    /* out = rows[0] + rows[1] + ... + rows[k - 1] (k >= 1), added in that order, 32 floats at a
       time in registers: each row is read once and out written once. */
    static void w2v_sum_rows(float *out, float **rows, int k, int n) {
        int x = 0, r;
        for (; x + 32 <= n; x += 32) {
            __m256 a0 = _mm256_loadu_ps(rows[0] + x), a1 = _mm256_loadu_ps(rows[0] + x + 8);
            __m256 a2 = _mm256_loadu_ps(rows[0] + x + 16), a3 = _mm256_loadu_ps(rows[0] + x + 24);
            for (r = 1; r < k; r++) {
                a0 = _mm256_add_ps(a0, _mm256_loadu_ps(rows[r] + x));
                a1 = _mm256_add_ps(a1, _mm256_loadu_ps(rows[r] + x + 8));
                a2 = _mm256_add_ps(a2, _mm256_loadu_ps(rows[r] + x + 16));
                a3 = _mm256_add_ps(a3, _mm256_loadu_ps(rows[r] + x + 24));
            }
            _mm256_storeu_ps(out + x, a0); _mm256_storeu_ps(out + x + 8, a1);
            _mm256_storeu_ps(out + x + 16, a2); _mm256_storeu_ps(out + x + 24, a3);
        }
        for (; x + 8 <= n; x += 8) {
            __m256 a0 = _mm256_loadu_ps(rows[0] + x);
            for (r = 1; r < k; r++)
                a0 = _mm256_add_ps(a0, _mm256_loadu_ps(rows[r] + x));
            _mm256_storeu_ps(out + x, a0);
        }
        for (; x + 4 <= n; x += 4) {
            __m128 a0 = _mm_loadu_ps(rows[0] + x);
            for (r = 1; r < k; r++)
                a0 = _mm_add_ps(a0, _mm_loadu_ps(rows[r] + x));
            _mm_storeu_ps(out + x, a0);
        }
        for (; x < n; x++) {
            float t = rows[0][x];
            for (r = 1; r < k; r++)
                t += rows[r][x];
            out[x] = t;
        }
    }
    /* rows[r] += x for r = 0 .. k - 1, in that order (CBOW's error to every context word): x is
       loaded once per 32 floats for all the rows instead of once per row. */
    static void w2v_add_to_rows(float **rows, int k, const float *x, int n) {
        int i = 0, r;
        for (; i + 32 <= n; i += 32) {
            __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
            __m256 x2 = _mm256_loadu_ps(x + i + 16), x3 = _mm256_loadu_ps(x + i + 24);
            for (r = 0; r < k; r++) {
                float *u = rows[r] + i;
                _mm256_storeu_ps(u, _mm256_add_ps(_mm256_loadu_ps(u), x0));
                _mm256_storeu_ps(u + 8, _mm256_add_ps(_mm256_loadu_ps(u + 8), x1));
                _mm256_storeu_ps(u + 16, _mm256_add_ps(_mm256_loadu_ps(u + 16), x2));
                _mm256_storeu_ps(u + 24, _mm256_add_ps(_mm256_loadu_ps(u + 24), x3));
            }
        }
        for (; i + 8 <= n; i += 8) {
            __m256 x0 = _mm256_loadu_ps(x + i);
            for (r = 0; r < k; r++)
                _mm256_storeu_ps(rows[r] + i, _mm256_add_ps(_mm256_loadu_ps(rows[r] + i), x0));
        }
        for (; i + 4 <= n; i += 4) {
            __m128 x0 = _mm_loadu_ps(x + i);
            for (r = 0; r < k; r++)
                _mm_storeu_ps(rows[r] + i, _mm_add_ps(_mm_loadu_ps(rows[r] + i), x0));
        }
        for (; i < n; i++)
            for (r = 0; r < k; r++)
                rows[r][i] += x[i];
    }
    /* The updates of a path: for each row r with g[r] != 0, err += g[r] * row; row += g[r] * h (the
       row as it was in both). Done 32 floats at a time across all the rows, so err and h stay in
       registers: each row is loaded and stored once, err once per 32 floats of the whole path
       (a row at a time would load and store err at every row). */
    static void w2v_path_update(float *err, const float *h, float **rows, const float *g, int nrows, int n) {
        int x = 0, r;
        for (; x + 32 <= n; x += 32) {
            __m256 e0 = _mm256_loadu_ps(err + x), e1 = _mm256_loadu_ps(err + x + 8);
            __m256 e2 = _mm256_loadu_ps(err + x + 16), e3 = _mm256_loadu_ps(err + x + 24);
            __m256 h0 = _mm256_loadu_ps(h + x), h1 = _mm256_loadu_ps(h + x + 8);
            __m256 h2 = _mm256_loadu_ps(h + x + 16), h3 = _mm256_loadu_ps(h + x + 24);
            for (r = 0; r < nrows; r++) {
                if (g[r] == 0.0f)
                    continue;
                __m256 s = _mm256_broadcast_ss(g + r), t;
                float *u = rows[r] + x;
                t = _mm256_loadu_ps(u); e0 = _mm256_fmadd_ps(s, t, e0); _mm256_storeu_ps(u, _mm256_fmadd_ps(s, h0, t));
                t = _mm256_loadu_ps(u + 8); e1 = _mm256_fmadd_ps(s, t, e1); _mm256_storeu_ps(u + 8, _mm256_fmadd_ps(s, h1, t));
                t = _mm256_loadu_ps(u + 16); e2 = _mm256_fmadd_ps(s, t, e2); _mm256_storeu_ps(u + 16, _mm256_fmadd_ps(s, h2, t));
                t = _mm256_loadu_ps(u + 24); e3 = _mm256_fmadd_ps(s, t, e3); _mm256_storeu_ps(u + 24, _mm256_fmadd_ps(s, h3, t));
            }
            _mm256_storeu_ps(err + x, e0); _mm256_storeu_ps(err + x + 8, e1);
            _mm256_storeu_ps(err + x + 16, e2); _mm256_storeu_ps(err + x + 24, e3);
        }
        for (; x + 8 <= n; x += 8) {
            __m256 e0 = _mm256_loadu_ps(err + x), h0 = _mm256_loadu_ps(h + x);
            for (r = 0; r < nrows; r++) {
                if (g[r] == 0.0f)
                    continue;
                __m256 s = _mm256_broadcast_ss(g + r), t = _mm256_loadu_ps(rows[r] + x);
                e0 = _mm256_fmadd_ps(s, t, e0);
                _mm256_storeu_ps(rows[r] + x, _mm256_fmadd_ps(s, h0, t));
            }
            _mm256_storeu_ps(err + x, e0);
        }
        for (; x + 4 <= n; x += 4) {
            __m128 e0 = _mm_loadu_ps(err + x), h0 = _mm_loadu_ps(h + x);
            for (r = 0; r < nrows; r++) {
                if (g[r] == 0.0f)
                    continue;
                __m128 s = _mm_broadcast_ss(g + r), t = _mm_loadu_ps(rows[r] + x);
                e0 = _mm_fmadd_ps(s, t, e0);
                _mm_storeu_ps(rows[r] + x, _mm_fmadd_ps(s, h0, t));
            }
            _mm_storeu_ps(err + x, e0);
        }
        for (; x < n; x++)
            for (r = 0; r < nrows; r++) {
                float t = rows[r][x];
                err[x] += g[r] * t;
                rows[r][x] = t + g[r] * h[x];
            }
    }
    /* A skip-gram pair's path updates (as w2v_path_update) fused with the scores of the window's
       next pair, which has the same path and another input vector hn: next[r] = hn . row, the row
       as updated. Each row is loaded and stored once for both, instead of once for the updates and
       again for the next pair's scores. nrows <= 32 (PATH_BLOCK). */
    static void w2v_path_update_dot(float *err, const float *h, const float *hn, float **rows,
                                    const float *g, int nrows, int n, float *next) {
        __m256 acc[32 + 3];
        float tail[32 + 3];
        int x = 0, r;
        for (r = 0; r < nrows + 3; r++) {
            acc[r] = _mm256_setzero_ps();
            tail[r] = 0.0f;
        }
        for (; x + 32 <= n; x += 32) {
            __m256 e0 = _mm256_loadu_ps(err + x), e1 = _mm256_loadu_ps(err + x + 8);
            __m256 e2 = _mm256_loadu_ps(err + x + 16), e3 = _mm256_loadu_ps(err + x + 24);
            __m256 h0 = _mm256_loadu_ps(h + x), h1 = _mm256_loadu_ps(h + x + 8);
            __m256 h2 = _mm256_loadu_ps(h + x + 16), h3 = _mm256_loadu_ps(h + x + 24);
            for (r = 0; r < nrows; r++) {
                float *u = rows[r] + x;
                __m256 t0 = _mm256_loadu_ps(u), t1 = _mm256_loadu_ps(u + 8);
                __m256 t2 = _mm256_loadu_ps(u + 16), t3 = _mm256_loadu_ps(u + 24);
                if (g[r] != 0.0f) {
                    __m256 s = _mm256_broadcast_ss(g + r);
                    e0 = _mm256_fmadd_ps(s, t0, e0); t0 = _mm256_fmadd_ps(s, h0, t0); _mm256_storeu_ps(u, t0);
                    e1 = _mm256_fmadd_ps(s, t1, e1); t1 = _mm256_fmadd_ps(s, h1, t1); _mm256_storeu_ps(u + 8, t1);
                    e2 = _mm256_fmadd_ps(s, t2, e2); t2 = _mm256_fmadd_ps(s, h2, t2); _mm256_storeu_ps(u + 16, t2);
                    e3 = _mm256_fmadd_ps(s, t3, e3); t3 = _mm256_fmadd_ps(s, h3, t3); _mm256_storeu_ps(u + 24, t3);
                }
                __m256 d0 = _mm256_fmadd_ps(t0, _mm256_loadu_ps(hn + x), acc[r]);
                __m256 d1 = _mm256_mul_ps(t1, _mm256_loadu_ps(hn + x + 8));
                d0 = _mm256_fmadd_ps(t2, _mm256_loadu_ps(hn + x + 16), d0);
                d1 = _mm256_fmadd_ps(t3, _mm256_loadu_ps(hn + x + 24), d1);
                acc[r] = _mm256_add_ps(d0, d1);
            }
            _mm256_storeu_ps(err + x, e0); _mm256_storeu_ps(err + x + 8, e1);
            _mm256_storeu_ps(err + x + 16, e2); _mm256_storeu_ps(err + x + 24, e3);
        }
        for (; x + 8 <= n; x += 8) {
            __m256 e0 = _mm256_loadu_ps(err + x), h0 = _mm256_loadu_ps(h + x), n0 = _mm256_loadu_ps(hn + x);
            for (r = 0; r < nrows; r++) {
                __m256 t = _mm256_loadu_ps(rows[r] + x);
                if (g[r] != 0.0f) {
                    __m256 s = _mm256_broadcast_ss(g + r);
                    e0 = _mm256_fmadd_ps(s, t, e0);
                    t = _mm256_fmadd_ps(s, h0, t);
                    _mm256_storeu_ps(rows[r] + x, t);
                }
                acc[r] = _mm256_fmadd_ps(t, n0, acc[r]);
            }
            _mm256_storeu_ps(err + x, e0);
        }
        for (; x + 4 <= n; x += 4) {
            __m128 e0 = _mm_loadu_ps(err + x), h0 = _mm_loadu_ps(h + x), n0 = _mm_loadu_ps(hn + x);
            for (r = 0; r < nrows; r++) {
                __m128 t = _mm_loadu_ps(rows[r] + x);
                if (g[r] != 0.0f) {
                    __m128 s = _mm_broadcast_ss(g + r);
                    e0 = _mm_fmadd_ps(s, t, e0);
                    t = _mm_fmadd_ps(s, h0, t);
                    _mm_storeu_ps(rows[r] + x, t);
                }
                acc[r] = _mm256_add_ps(acc[r], _mm256_insertf128_ps(_mm256_setzero_ps(), _mm_mul_ps(t, n0), 0));
            }
            _mm_storeu_ps(err + x, e0);
        }
        for (; x < n; x++)
            for (r = 0; r < nrows; r++) {
                float t = rows[r][x];
                if (g[r] != 0.0f) {
                    err[x] += g[r] * t;
                    t += g[r] * h[x];
                    rows[r][x] = t;
                }
                tail[r] += t * hn[x];
            }
        for (r = 0; r < nrows; r += 4) {     /* four rows' sums at a time (acc has 3 spare) */
            __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(acc[r], acc[r + 1]), _mm256_hadd_ps(acc[r + 2], acc[r + 3]));
            __m128 q = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
            float o[4];
            _mm_storeu_ps(o, q);
            for (int k = 0; k < 4 && r + k < nrows; k++)
                next[r + k] = o[k] + tail[r + k];
        }
    }
    #else
    #define W2V_HAVE512 0
    static int w2v_use512 = 0;
    static inline float w2v_dot(const float *a, const float *b, int n) {
        float s[16] = {0};   /* gcc keeps these in four SSE registers */
        float t = 0.0f;
        int i = 0, j;
        for (; i + 16 <= n; i += 16)
            for (j = 0; j < 16; j++)
                s[j] += a[i + j] * b[i + j];
        for (; i < n; i++)
            t += a[i] * b[i];
        for (j = 0; j < 16; j++)
            t += s[j];
        return t;
    }
    static void w2v_sum_rows(float *out, float **rows, int k, int n) {
        int x, r;
        for (x = 0; x < n; x++)
            out[x] = 0.0f;
        for (r = 0; r < k; r++)
            for (x = 0; x < n; x++)
                out[x] += rows[r][x];
    }
    static void w2v_path_update(float *err, const float *h, float **rows, const float *g, int nrows, int n) {
        int x, r;
        for (r = 0; r < nrows; r++) {
            float *u = rows[r];
            if (g[r] == 0.0f)
                continue;
            for (x = 0; x < n; x++) {
                float t = u[x];
                err[x] += g[r] * t;
                u[x] = t + g[r] * h[x];
            }
        }
    }
    static void w2v_add_to_rows(float **rows, int k, const float *x, int n) {
        int i, r;
        for (r = 0; r < k; r++)
            for (i = 0; i < n; i++)
                rows[r][i] += x[i];
    }
    static void w2v_path_update_dot(float *err, const float *h, const float *hn, float **rows,
                                    const float *g, int nrows, int n, float *next) {
        w2v_path_update(err, h, rows, g, nrows, n);
        for (int r = 0; r < nrows; r++)
            next[r] = w2v_dot(hn, rows[r], n);
    }
    static inline void w2v_dot4(const float *h, const float *b0, const float *b1, const float *b2,
                                const float *b3, int n, float *out) {
        out[0] = w2v_dot(h, b0, n);
        out[1] = w2v_dot(h, b1, n);
        out[2] = w2v_dot(h, b2, n);
        out[3] = w2v_dot(h, b3, n);
    }
    #endif
    /* 1 when the AVX-512 path functions are compiled in and this CPU can run them */
    static int w2v_cpu_has_avx512(void) {
    #if W2V_HAVE512
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
    #else
        return 0;
    #endif
    }
    static void w2v_set_use512(int on) { w2v_use512 = on && w2v_cpu_has_avx512(); }
    static int w2v_get_use512(void) { return w2v_use512; }
    /* fs[r] = h . rows[r] for r < nrows, four rows in one pass over h (rows has three spare
       entries after them) */
    static void w2v_path_scores(const float *h, float **rows, int nrows, int n, float *fs) {
        for (int k = 0; k < nrows; k += 4)
            w2v_dot4(h, rows[k], rows[k + 1], rows[k + 2], rows[k + 3], n, fs + k);
    }
    #if !W2V_HAVE512      /* never called: Model.wide is 0 without them */
    #define w2v_path_update512 w2v_path_update
    #define w2v_path_update_dot512 w2v_path_update_dot
    #define w2v_scores512 w2v_path_scores
    static int w2v_gradients512(const float *fs, const uint32_t *path, int nrows, float alpha,
                                const float *sig, const float *nll, float max_exp, float scale,
                                float big, float *gs, double *loss) { return 0; }
    #endif
    static int w2v_cpu_has_avx2_fma(void) {
    #if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
        unsigned int a, b, c, d;
        __builtin_cpu_init();
        /* F16C (CPUID 1, ECX bit 29): the AVX2 build converts float16 with it; every AVX2 CPU has it */
        if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 29)))
            return 0;
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    #else
        return 0;
    #endif
    }
    /* float <-> IEEE binary16, rounding to nearest even: with the F16C instructions where the build has
       them, else bit by bit */
    static inline uint16_t w2v_f2h_bits(float f) {
        uint32_t x, sign, ax, e, m, shift, h, rem, half;
        memcpy(&x, &f, 4);
        sign = (x >> 16) & 0x8000u;
        ax = x & 0x7fffffffu;
        if (ax >= 0x7f800000u)                      /* inf, nan */
            return (uint16_t)(sign | 0x7c00u | (ax > 0x7f800000u ? 0x200u : 0u));
        if (ax >= 0x477ff000u)                      /* 65520 and beyond round to inf */
            return (uint16_t)(sign | 0x7c00u);
        if (ax >= 0x38800000u) {                    /* a normal half */
            ax += 0xfffu + ((ax >> 13) & 1u);
            return (uint16_t)(sign | ((ax - 0x38000000u) >> 13));
        }
        if (ax < 0x33000000u)                       /* below 2^-25: zero */
            return (uint16_t)sign;
        e = ax >> 23;                               /* a subnormal half: m 2^(e - 150) in units of 2^-24 */
        m = (ax & 0x7fffffu) | 0x800000u;
        shift = 126u - e;
        h = m >> shift;
        rem = m & ((1u << shift) - 1u);
        half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (h & 1u)))
            h++;
        return (uint16_t)(sign | h);
    }
    static inline float w2v_h2f_bits(uint16_t h) {
        uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
        float f;
        if (e == 0x1fu) x = sign | 0x7f800000u | (m << 13);
        else if (e) x = sign | ((e + 112u) << 23) | (m << 13);
        else {
            f = (float)m * 5.9604644775390625e-08f;     /* m 2^-24 */
            memcpy(&x, &f, 4);
            x |= sign;
        }
        memcpy(&f, &x, 4);
        return f;
    }
    /* n floats as halves; 0 when one of them is beyond float16's range (or not finite) */
    static int w2v_to_half(const float *x, uint16_t *out, Py_ssize_t n) {
        Py_ssize_t i = 0;
        int bad = 0;
    #if defined(__F16C__)
        for (; i + 8 <= n; i += 8)
            _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), 0));
    #endif
        for (; i < n; i++)
            out[i] = w2v_f2h_bits(x[i]);
        for (i = 0; i < n; i++)
            bad |= (out[i] & 0x7c00) == 0x7c00;
        return !bad;
    }
    static void w2v_from_half(const uint16_t *h, float *out, Py_ssize_t n) {
        Py_ssize_t i = 0;
    #if defined(__F16C__)
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
    #endif
        for (; i < n; i++)
            out[i] = w2v_h2f_bits(h[i]);
    }
    """
    int w2v_cpu_has_avx2_fma() nogil
    int w2v_cpu_has_avx512() nogil
    void w2v_set_use512(int on) nogil
    int w2v_get_use512() nogil
    int W2V_HAS_F16C
    int w2v_to_half(const float *x, uint16_t *out, Py_ssize_t n) nogil
    void w2v_from_half(const uint16_t *h, float *out, Py_ssize_t n) nogil
    float w2v_dot(const float *a, const float *b, int n) nogil
    void w2v_dot4(const float *h, const float *b0, const float *b1, const float *b2, const float *b3,
                  int n, float *out) nogil
    void w2v_path_update(float *err, const float *h, float **rows, const float *g, int nrows, int n) nogil
    void w2v_path_scores(const float *h, float **rows, int nrows, int n, float *fs) nogil
    void w2v_path_update512(float *err, const float *h, float **rows, const float *g, int nrows, int n) nogil
    void w2v_path_update_dot512(float *err, const float *h, const float *hn, float **rows, const float *g,
                                int nrows, int n, float *next) nogil
    void w2v_scores512(const float *h, float **rows, int nrows, int n, float *fs) nogil
    int w2v_gradients512(const float *fs, const uint32_t *path, int nrows, float alpha, const float *sig,
                         const float *nll, float max_exp, float scale, float big, float *gs, double *loss) nogil
    void w2v_path_update_dot(float *err, const float *h, const float *hn, float **rows, const float *g,
                             int nrows, int n, float *next) nogil
    void w2v_sum_rows(float *out, float **rows, int k, int n) nogil
    void w2v_add_to_rows(float **rows, int k, const float *x, int n) nogil
    void __builtin_prefetch(const void *p) nogil
    long long w2v_atomic_add(long long *p, long long v) nogil
    long long w2v_atomic_load(long long *p) nogil
    int w2v_load_flag(int *p) nogil
    void w2v_store_flag(int *p, int v) nogil
    void w2v_lock(int *p) nogil
    int w2v_trylock(int *p) nogil
    void w2v_unlock(int *p) nogil

# ---------------------------------------------------------------------------------------
# Sigmoid and loss tables (word2vec.c's expTable: 1000 entries over [-6, 6])
# ---------------------------------------------------------------------------------------

# One spare entry, as in word2vec.c: a score just below MAX_EXP can round to index SIZE.
cdef float SIGMOID_TABLE[SIGMOID_TABLE_SIZE + 1]
cdef float NLL_TABLE[SIGMOID_TABLE_SIZE + 1]      # -log(sigmoid(x)) on the same grid
cdef float TABLE_SCALE = SIGMOID_TABLE_SIZE / (2.0 * MAX_EXP)   # 83.33 table cells per unit


cdef void _init_tables():
    cdef int i
    cdef double x
    for i in range(SIGMOID_TABLE_SIZE + 1):
        x = (i / <double>SIGMOID_TABLE_SIZE * 2.0 - 1.0) * MAX_EXP
        SIGMOID_TABLE[i] = <float>(1.0 / (1.0 + exp(-x)))
        NLL_TABLE[i] = <float>log(1.0 + exp(-x))

_init_tables()


cdef inline float sigmoid(float f) noexcept nogil:
    # word2vec.c clips at +-MAX_EXP and looks the rest up in the table
    if f >= MAX_EXP:
        return 1.0
    if f <= -MAX_EXP:
        return 0.0
    return SIGMOID_TABLE[<int>((f + MAX_EXP) * TABLE_SCALE)]


cdef inline float neg_log_sigmoid(float z) noexcept nogil:
    if z >= MAX_EXP:
        return 0.0
    if z <= -MAX_EXP:
        return -z
    return NLL_TABLE[<int>((z + MAX_EXP) * TABLE_SCALE)]


# ---------------------------------------------------------------------------------------
# Vector helpers: plain loops that gcc vectorises at -O3; the dot product is written out above
# (w2v_dot) with four accumulators
# ---------------------------------------------------------------------------------------

cdef inline float dot(const float *a, const float *b, int n) noexcept nogil:
    return w2v_dot(a, b, n)


cdef inline void axpy(float alpha, const float *x, float *y, int n) noexcept nogil:
    cdef int i
    for i in range(n):
        y[i] += alpha * x[i]


cdef inline void update_pair(float g, const float *h, float *out, float *err, int n) noexcept nogil:
    """err += g * out; out += g * h, in one pass over the output row."""
    cdef int i
    cdef float o
    for i in range(n):
        o = out[i]
        err[i] += g * o
        out[i] = o + g * h[i]


cdef inline float *in_row(const Model *m, uint32_t w) noexcept nogil:
    """Word w's input (syn0) row: the worker's own copy for a hot word, else the shared row."""
    if w < m.hot:
        return m.hot0 + w * m.stride
    return m.syn0 + w * m.stride


cdef inline float *out_row(const Model *m, uint32_t w) noexcept nogil:
    """Word w's output (syn1neg) row, as in_row."""
    if w < m.hot:
        return m.hot1 + w * m.stride
    return m.syn1neg + w * m.stride


cdef inline float *node_row(const Model *m, uint32_t n) noexcept nogil:
    """Inner node n's hierarchical-softmax (syn1) row, as in_row: the rows nearest the root are
    the first ones, and with several workers each has its own copy of them."""
    if n < m.hot_nodes:
        return m.hot2 + n * m.stride
    return m.syn1 + n * m.stride


cdef inline void prefetch_row(const float *row, int n) noexcept nogil:
    """Ask for a row's cache lines now, so the misses overlap instead of queueing."""
    cdef int i
    for i in range(0, n, 16):
        __builtin_prefetch(row + i)


cdef enum:
    CACHED_NODE_BYTES = 256 * 1024  # syn1 rows from the root up to this size stay in cache: not requested ahead


cdef inline uint32_t prefetch_start(int64_t stride) noexcept nogil:
    """Model.prefetch_from for rows `stride` floats apart: the inner nodes nearest the root, whose rows
    (CACHED_NODE_BYTES of them) are on most paths and so stay in cache, are not requested ahead. On
    wiki17m at dim 100 (112 floats a row, 585 nodes) CBOW with hierarchical softmax made 1.07-1.13x the
    words/s of requesting every node's row, with 64 to 4096 nodes left out alike (medians over rounds of
    chunks run by each; benchmarks/results/hs-cbow-avx512/)."""
    return <uint32_t>(CACHED_NODE_BYTES // (stride * <int64_t>sizeof(float)))


cdef inline void prefetch_tree(const Model *m, const uint32_t *sen, int i, int n) noexcept nogil:
    """Hierarchical softmax reads, for a centre word, its entry of code_start, then its path, then
    the path's syn1 rows; each address comes from the read before, so they are requested in
    stages: three, two and one centre words ahead (the rows from m.prefetch_from on)."""
    cdef int64_t d
    cdef uint32_t w, node
    if m.path == NULL:              # a vocabulary of one word: no inner nodes
        return
    if i + 3 < n:
        __builtin_prefetch(m.code_start + sen[i + 3])
    if i + 2 < n:
        w = sen[i + 2]
        __builtin_prefetch(m.path + m.code_start[w])
        __builtin_prefetch(m.path + m.code_start[w + 1] - 1)
    if i + 1 < n:
        w = sen[i + 1]
        for d in range(m.code_start[w], m.code_start[w + 1]):
            node = m.path[d] >> 1
            if node >= m.prefetch_from:
                prefetch_row(node_row(m, node), m.dim)


cdef inline uint32_t alias_column(const Model *m, uint64_t r) noexcept nogil:
    """The alias-table column a random number picks (its high 32 bits)."""
    return <uint32_t>(((r >> 32) * <uint64_t>m.vocab_size) >> 32)


cdef inline uint32_t alias_resolve(const Model *m, uint64_t r, uint32_t i) noexcept nogil:
    """Column i's word or its alias, by the random number's low 24 bits."""
    if <float>(r & 0xFFFFFF) * <float>(1.0 / 16777216.0) < m.alias_prob[i]:
        return i
    return <uint32_t>m.alias_idx[i]


cdef inline uint32_t draw_noise(const Model *m, uint64_t *rng) noexcept nogil:
    """One draw from the alias table: O(1), two reads."""
    cdef uint64_t r = rng_next(rng)
    return alias_resolve(m, r, alias_column(m, r))


cdef enum:
    NOISE_BATCH = 64

cdef enum:
    DEFAULT_MERGE_BLOCKS = 32  # blocks of hot rows merged under locks of their own (see hot_merge_locked)

cdef float BIG = 1e30          # a score beyond this is treated as infinite (diverged)

cdef enum:
    SUM_ROWS = 64              # CBOW: context words summed in one pass (more: one at a time)

cdef uint64_t NOISE_SEED = 0x6A09E667F3BCC909ULL


cdef struct Noise:
    # A worker's noise words, drawn NOISE_BATCH at a time from their own random stream: the
    # alias-table entries of a whole batch are requested before any is read, so their cache
    # misses overlap instead of stalling one draw at a time.
    uint64_t rng
    int pos
    uint32_t words[NOISE_BATCH]


cdef inline void noise_refill(const Model *m, Noise *nz) noexcept nogil:
    cdef uint64_t r[NOISE_BATCH]
    cdef uint32_t i
    cdef int j
    for j in range(NOISE_BATCH):
        r[j] = rng_next(&nz.rng)
        i = alias_column(m, r[j])
        nz.words[j] = i
        __builtin_prefetch(m.alias_prob + i)
        __builtin_prefetch(m.alias_idx + i)
    for j in range(NOISE_BATCH):     # the entries requested above have arrived by now
        nz.words[j] = alias_resolve(m, r[j], nz.words[j])
    nz.pos = 0


cdef inline uint32_t noise_next(const Model *m, Noise *nz) noexcept nogil:
    if nz.pos == NOISE_BATCH:
        noise_refill(m, nz)
    nz.pos += 1
    return nz.words[nz.pos - 1]


# ---------------------------------------------------------------------------------------
# One training example. Both the corpus loop and the test hooks call these.
# ---------------------------------------------------------------------------------------

cdef inline int predict(const Model *m, const float *h, uint32_t word, const uint32_t *negs,
                        float alpha, float *err, double *loss) noexcept nogil:
    """Negative sampling for one hidden vector h: raise the score of `word`, lower those of the
    noise words (one equal to `word` is skipped), update their output rows, and add the
    gradient for h to err."""
    cdef int k, dim = m.dim
    cdef float *l2
    cdef float f, g
    cdef uint32_t target
    for k in range(m.negative + 1):
        if k == 0:
            target = word
        else:
            target = negs[k - 1]
            if target == word:
                continue
        l2 = out_row(m, target)
        f = dot(h, l2, dim)
        if f != f or f > 1e30 or f < -1e30:
            return STATUS_NAN
        if k == 0:
            g = (1.0 - sigmoid(f)) * alpha
            loss[0] += neg_log_sigmoid(f)
        else:
            g = -sigmoid(f) * alpha
            loss[0] += neg_log_sigmoid(-f)
        update_pair(g, h, l2, err, dim)
    return STATUS_OK


cdef inline int path_gradients(const Model *m, int64_t d, int nb, const float *fs, float *gs, float alpha,
                               double *path_loss) noexcept nogil:
    """The gradients gs of path nodes d .. d + nb - 1 from their scores fs, as word2vec.c:
    g = (1 - code - sigmoid(f)) * alpha; and their loss, -log sigmoid((1 - 2 code) f)."""
    cdef int j, cell
    cdef float f, code
    cdef float one = 1.0, zero = 0.0, two = 2.0     # float, not double, arithmetic (a bare 1 would be 1.0)
    cdef float pl = 0.0                 # this block's loss (at most PATH_BLOCK terms)
    if m.wide:                          # the same, 16 nodes at a time
        if not w2v_gradients512(fs, m.path + d, nb, alpha, SIGMOID_TABLE, NLL_TABLE, MAX_EXP, TABLE_SCALE,
                                BIG, gs, path_loss):
            return STATUS_NAN
        return STATUS_OK
    for j in range(nb):
        f = fs[j]
        if not (-BIG < f < BIG):           # NaN or infinite
            return STATUS_NAN
        code = <float>(m.path[d + j] & 1)
        if -MAX_EXP < f < MAX_EXP:
            # one table cell for both: g, and the loss -log sigmoid(f) + code * f
            cell = <int>((f + MAX_EXP) * TABLE_SCALE)
            gs[j] = (one - code - SIGMOID_TABLE[cell]) * alpha
            pl += NLL_TABLE[cell] + code * f
        else:                              # word2vec.c and gensim skip a saturated node
            gs[j] = zero
            pl += fmaxf(zero, (two * code - one) * f)
    path_loss[0] += pl
    return STATUS_OK


cdef inline int path_rows(const Model *m, int64_t d, int nb, float **rows) noexcept nogil:
    """The syn1 rows of path nodes d .. d + nb - 1, and three spare copies of the first for the
    last group of four scores (their scores are not used)."""
    cdef int j
    for j in range(nb):
        rows[j] = node_row(m, m.path[d + j] >> 1)
    for j in range(nb, nb + 3):
        rows[j] = rows[0]
    return nb


cdef inline void path_scores(const Model *m, const float *h, float **rows, int nb, float *fs) noexcept nogil:
    """fs[j] = h . rows[j]: four rows in one pass over h, or (m.wide) each row against h held in
    16-float registers (rows has three spare entries; fs has room for nb rounded up to 16)."""
    if m.wide:
        w2v_scores512(h, rows, nb, m.dim, fs)
    else:
        w2v_path_scores(h, rows, nb, m.dim, fs)


cdef inline void path_update(const Model *m, float *err, const float *h, float **rows, const float *gs,
                             int nb) noexcept nogil:
    """err += g * row, row += g * h, for each of the nb rows (the row as it was in both)."""
    if m.wide:
        w2v_path_update512(err, h, rows, gs, nb, m.dim)
    else:
        w2v_path_update(err, h, rows, gs, nb, m.dim)


cdef inline void path_update_dot(const Model *m, float *err, const float *h, const float *hn, float **rows,
                                 const float *gs, int nb, float *fs) noexcept nogil:
    """path_update, and fs[j] = hn . rows[j] with the rows as updated."""
    if m.wide:
        w2v_path_update_dot512(err, h, hn, rows, gs, nb, m.dim, fs)
    else:
        w2v_path_update_dot(err, h, hn, rows, gs, nb, m.dim, fs)


cdef inline int predict_hs(const Model *m, const float *h, uint32_t word, float alpha, float *err,
                           double *loss) noexcept nogil:
    """Hierarchical softmax for one hidden vector h, as word2vec.c: at each inner node on the
    path from the root to `word`, sigmoid(h . syn1[node]) is the probability of taking branch 0;
    raise that of the branch the path takes, update the node's row, and add the gradient for h
    to err. The loss is -log of the probability of the path (every node counts).

    A node's score depends only on h and its own row, which the other nodes' updates do not
    touch, so the scores of a whole path (up to PATH_BLOCK nodes at a time) are computed first,
    four in one pass over h, then the updates: the same results as one node at a time, without
    each score waiting for the update before it."""
    cdef int64_t d = m.code_start[word], end = m.code_start[word + 1]
    cdef int nb
    cdef float *rows[PATH_BLOCK + 3]
    cdef float fs[PATH_BLOCK + 16]     # room for whole groups of 16 (w2v_sums512)
    cdef float gs[PATH_BLOCK]
    while d < end:
        nb = path_rows(m, d, PATH_BLOCK if end - d >= PATH_BLOCK else <int>(end - d), rows)
        path_scores(m, h, rows, nb, fs)
        if path_gradients(m, d, nb, fs, gs, alpha, loss) != STATUS_OK:
            return STATUS_NAN
        path_update(m, err, h, rows, gs, nb)
        d += nb
    return STATUS_OK


cdef inline int predict_all(const Model *m, const float *h, uint32_t word, const uint32_t *negs,
                            float alpha, float *err, double *loss) noexcept nogil:
    """Both output layers that are on, into the same gradient err: hierarchical softmax first,
    then negative sampling, in word2vec.c's order."""
    if m.hs and predict_hs(m, h, word, alpha, err, loss) != STATUS_OK:
        return STATUS_NAN
    if m.negative and predict(m, h, word, negs, alpha, err, loss) != STATUS_OK:
        return STATUS_NAN
    return STATUS_OK


cdef inline int sg_example(const Model *m, uint32_t context, uint32_t word, const uint32_t *negs,
                           float alpha, float *neu1e, double *loss) noexcept nogil:
    """Skip-gram pair in word2vec.c's orientation: the context word's input vector predicts
    the centre word (against `negative` noise words and/or along its Huffman path)."""
    cdef float *l1 = in_row(m, context)
    memset(neu1e, 0, m.dim * sizeof(float))
    if m.hs and predict_hs(m, l1, word, alpha, neu1e, loss) != STATUS_OK:
        return STATUS_NAN
    return sg_pair_end(m, l1, word, negs, alpha, neu1e, loss)


cdef inline int sg_pair_end(const Model *m, float *l1, uint32_t word, const uint32_t *negs, float alpha,
                            float *neu1e, double *loss) noexcept nogil:
    """The rest of a skip-gram pair after its hierarchical softmax (if on): negative sampling into
    the same gradient neu1e, then neu1e added to the input row l1."""
    if m.negative and predict(m, l1, word, negs, alpha, neu1e, loss) != STATUS_OK:
        return STATUS_NAN
    axpy(1.0, neu1e, l1, m.dim)
    return STATUS_OK


cdef inline int sg_window(const Model *m, const uint32_t *ctx, int nctx, uint32_t word,
                          const uint32_t *negs, float alpha, float *neu1e, double *loss) noexcept nogil:
    """All the skip-gram pairs of one centre word's window, one after the other (each as
    sg_example). Their hierarchical-softmax paths are the same (the centre word's), so when the
    path fits in one block, each pair's path updates also compute the next pair's scores with
    the rows as updated (w2v_path_update_dot): one pass over the path's rows a pair instead of
    two. Only the order of the additions inside those scores differs from sg_example's."""
    cdef int64_t d = 0
    cdef int j, nb = 0, dim = m.dim, scored = 0
    cdef float *rows[PATH_BLOCK + 3]
    cdef float fs[PATH_BLOCK + 16]     # room for whole groups of 16 (w2v_sums512)
    cdef float gs[PATH_BLOCK]
    cdef float *l1
    cdef float *nxt
    if m.hs:
        d = m.code_start[word]
        nb = <int>(m.code_start[word + 1] - d)
    if nb == 0 or nb > PATH_BLOCK or nctx < 2:
        for j in range(nctx):
            if sg_example(m, ctx[j], word, negs, alpha, neu1e, loss) != STATUS_OK:
                return STATUS_NAN
        return STATUS_OK
    path_rows(m, d, nb, rows)
    l1 = in_row(m, ctx[0])
    for j in range(nctx):
        if not scored:
            path_scores(m, l1, rows, nb, fs)
        memset(neu1e, 0, dim * sizeof(float))
        if path_gradients(m, d, nb, fs, gs, alpha, loss) != STATUS_OK:
            return STATUS_NAN
        nxt = in_row(m, ctx[j + 1]) if j + 1 < nctx else NULL
        # the next pair's input row is not changed by this pair unless it is the same row
        scored = nxt != NULL and nxt != l1
        if scored:
            path_update_dot(m, neu1e, l1, nxt, rows, gs, nb, fs)
        else:
            path_update(m, neu1e, l1, rows, gs, nb)
        if sg_pair_end(m, l1, word, negs, alpha, neu1e, loss) != STATUS_OK:
            return STATUS_NAN
        l1 = nxt
    return STATUS_OK


cdef inline int cbow_example(const Model *m, const uint32_t *context, int n_context, uint32_t word,
                             const uint32_t *negs, float alpha, float *neu1, float *neu1e,
                             double *loss) noexcept nogil:
    """CBOW: the mean (or, with cbow_mean off, the sum) of the context input vectors predicts
    the centre word. As in word2vec.c and gensim (cbow_mean=1) the error is added to every
    context vector undivided."""
    cdef int d, j, dim = m.dim
    cdef float one = 1.0
    cdef float scale = one / <float>n_context
    cdef float *rows[SUM_ROWS]
    memset(neu1e, 0, dim * sizeof(float))
    if n_context <= SUM_ROWS:       # the sum in one pass (the same additions, in the same order)
        for j in range(n_context):
            rows[j] = in_row(m, context[j])
        w2v_sum_rows(neu1, rows, n_context, dim)
    else:
        memset(neu1, 0, dim * sizeof(float))
        for j in range(n_context):
            axpy(1.0, in_row(m, context[j]), neu1, dim)
    if m.cbow_mean:
        for d in range(dim):
            neu1[d] *= scale
    if predict_all(m, neu1, word, negs, alpha, neu1e, loss) != STATUS_OK:
        return STATUS_NAN
    if n_context <= SUM_ROWS:       # the error to every context row, in one pass
        w2v_add_to_rows(rows, n_context, neu1e, dim)
    else:
        for j in range(n_context):
            axpy(1.0, neu1e, in_row(m, context[j]), dim)
    return STATUS_OK


# ---------------------------------------------------------------------------------------
# The corpus loop: one chunk [start, end) of the encoded corpus, entirely without the GIL
# ---------------------------------------------------------------------------------------

cdef inline float current_alpha(const Model *m, int64_t done) noexcept nogil:
    cdef double a = m.alpha0 - (m.alpha0 - m.min_alpha) * (<double>done / <double>m.total_words)
    if a < m.min_alpha:
        a = m.min_alpha
    return <float>a


cdef inline int64_t hot_span(const Model *m, uint32_t rows) noexcept nogil:
    """Floats from the first hot row's start to the last hot row's end (rows >= 1)."""
    return (<int64_t>rows - 1) * m.stride + m.dim


cdef void merge_rows(float *shared, float *copy, float *snap, int64_t n) noexcept nogil:
    cdef int64_t i
    cdef float v
    for i in range(n):
        v = shared[i] + (copy[i] - snap[i])
        shared[i] = v
        copy[i] = v
        snap[i] = v


cdef inline void merge_part(float *shared, float *copy, float *snap, const Model *m, uint32_t rows,
                            int b, int nb) noexcept nogil:
    """Block b of nb of a matrix's `rows` hot rows: rows rows * b / nb .. rows * (b + 1) / nb - 1.
    The padding after a row is merged with it, except the last hot row's (see hot_merge)."""
    cdef int64_t r0 = <int64_t>rows * b // nb, r1 = <int64_t>rows * (b + 1) // nb, off
    if r1 <= r0:
        return
    off = r0 * m.stride
    merge_rows(shared + off, copy + off, snap + off,
               (r1 - r0) * m.stride if r1 < rows else hot_span(m, <uint32_t>(r1 - r0)))


cdef void merge_block(const Model *shared, Model *m, int b, int nb) noexcept nogil:
    """hot_merge of block b of nb: the same share of the hot rows of every matrix."""
    if m.hot0 != NULL:
        merge_part(shared.syn0, m.hot0, m.snap0, m, m.hot, b, nb)
    if m.hot1 != NULL:
        merge_part(shared.syn1neg, m.hot1, m.snap1, m, m.hot, b, nb)
    if m.hot2 != NULL:
        merge_part(shared.syn1, m.hot2, m.snap2, m, m.hot_nodes, b, nb)


cdef void hot_merge(const Model *shared, Model *m) noexcept nogil:
    """Add this worker's changes to its hot rows (copy - snapshot) to the shared rows, and
    start again from the shared rows as they are now (which carry the other workers' changes).
    The copies are laid out with the shared rows' stride; the padding between rows is merged
    too (it never changes), the last row's is not (it may lie outside the shared array)."""
    merge_block(shared, m, 0, 1)


cdef struct MergeStats:
    # Measured by the merge when asked (benchmarks, tests): never while training.
    int64_t merges
    int64_t hold_ns              # time spent holding a merge lock
    int64_t wait_ns              # time spent waiting for a lock another worker held
    int64_t max_wait_ns          # the longest wait of one merge


cdef inline int64_t now_ns() noexcept nogil:
    cdef timespec t
    clock_gettime(CLOCK_MONOTONIC, &t)
    return <int64_t>t.tv_sec * 1000000000 + t.tv_nsec


cdef inline void merge_block_locked(const Model *shared, Model *m, int b, MergeStats *st) noexcept nogil:
    """merge_block b, its lock already taken by this worker; releases it."""
    cdef int64_t t = now_ns() if st != NULL else 0
    merge_block(shared, m, b, shared.merge_blocks)
    w2v_unlock(shared.merge_locks + b * LOCK_STRIDE)
    if st != NULL:
        st.hold_ns += now_ns() - t


cdef void hot_merge_locked(const Model *shared, Model *m, MergeStats *st) noexcept nogil:
    """hot_merge while other workers merge too: by blocks of rows (merge_blocks of them), each
    under its own lock. Two merges of one block running together could each read a shared value
    before the other wrote it, and one worker's changes would be lost; merges of different blocks
    touch different rows. With one lock for all the rows, 64 workers merging 1 MB every 10,000
    words at 1M words/s each would keep it held nearly all the time (benchmarks/merge_lock.py).

    A merge takes every block once, starting at a block its ticket picks (consecutive merges start
    far apart), free blocks first (a try-lock); it waits only when every block it has left is being
    merged by another worker, and then for one of them. The arithmetic of each float is hot_merge's,
    so one worker alone gets the same results. st: NULL, or where to add the time this merge held
    locks and waited for them."""
    cdef int nb = shared.merge_blocks, b, k, took
    cdef uint64_t todo = (~(<uint64_t>0)) >> (64 - nb)
    cdef uint64_t ticket = <uint64_t>w2v_atomic_add(<long long *>shared.merge_ticket, 1)
    # Fibonacci hashing: merges 0, 1, 2, ... start 0.618 of the way round from one another
    cdef int start = <int>((((ticket * <uint64_t>0x9E3779B97F4A7C15ULL) >> 32) * <uint64_t>nb) >> 32)
    cdef int64_t t0 = 0, waited = 0
    while todo:
        took = 0
        for k in range(nb):
            b = start + k if start + k < nb else start + k - nb
            if (todo >> b) & 1 and w2v_trylock(shared.merge_locks + b * LOCK_STRIDE):
                merge_block_locked(shared, m, b, st)
                todo &= ~((<uint64_t>1) << b)
                took = 1
        if todo and not took:     # every block left is being merged by another worker: wait for one
            b = start
            while not (todo >> b) & 1:
                b = b + 1 if b + 1 < nb else 0
            if st != NULL:
                t0 = now_ns()
            w2v_lock(shared.merge_locks + b * LOCK_STRIDE)
            if st != NULL:
                waited += now_ns() - t0
            merge_block_locked(shared, m, b, st)
            todo &= ~((<uint64_t>1) << b)
    if st != NULL:
        st.merges += 1
        st.wait_ns += waited
        if waited > st.max_wait_ns:
            st.max_wait_ns = waited


cdef float *hot_copies(const Model *shared, Model *m, void **mem) noexcept nogil:
    """Allocate this worker's copies of the hot rows (and their snapshots) and fill them from the
    shared rows; point m's hot*/snap* at them (NULL where a matrix has no hot rows). Returns
    the block (NULL if there are no hot rows or no memory: then *mem is NULL too)."""
    cdef int64_t n0 = 0, n1 = 0, n2 = 0, total
    cdef float *hot = NULL
    m.hot0 = m.hot1 = m.hot2 = NULL
    m.snap0 = m.snap1 = m.snap2 = NULL
    mem[0] = NULL
    if m.hot > m.vocab_size:
        m.hot = m.vocab_size
    if m.syn1 == NULL:
        m.hot_nodes = 0
    elif m.hot_nodes > m.vocab_size - 1:     # V - 1 inner nodes
        m.hot_nodes = m.vocab_size - 1
    if m.hot > 0:
        n0 = <int64_t>m.hot * m.stride
        if m.syn1neg != NULL:
            n1 = n0
    if m.hot_nodes > 0:
        n2 = <int64_t>m.hot_nodes * m.stride
    total = n0 + n1 + n2
    if total == 0:
        return NULL
    mem[0] = malloc(2 * total * sizeof(float) + 64)
    if mem[0] == NULL:
        return NULL
    hot = <float *>((<size_t>mem[0] + 63) & ~(<size_t>63))   # a 64-byte boundary
    if n0:
        m.hot0 = hot
        memcpy(m.hot0, shared.syn0, hot_span(m, m.hot) * sizeof(float))
    if n1:
        m.hot1 = hot + n0
        memcpy(m.hot1, shared.syn1neg, hot_span(m, m.hot) * sizeof(float))
    if n2:
        m.hot2 = hot + n0 + n1
        memcpy(m.hot2, shared.syn1, hot_span(m, m.hot_nodes) * sizeof(float))
    memcpy(hot + total, hot, total * sizeof(float))    # the snapshots, laid out as the copies
    if n0:
        m.snap0 = m.hot0 + total
    if n1:
        m.snap1 = m.hot1 + total
    if n2:
        m.snap2 = m.hot2 + total
    return hot


cdef ChunkResult train_range(const Model *shared, int64_t start, int64_t end, uint64_t rng,
                             uint64_t noise_rng) noexcept nogil:
    cdef ChunkResult res
    cdef Model local = shared[0]
    cdef Model *m = &local      # this worker's view: its own hot rows, if any
    cdef float *hot = NULL
    cdef void *hot_mem = NULL   # hot, from malloc; hot itself is rounded up to a 64-byte boundary
    cdef int64_t since_sync = 0
    cdef Noise nz
    nz.rng = noise_rng
    nz.pos = NOISE_BATCH
    cdef uint32_t *sen = NULL
    cdef uint32_t *ctx = NULL
    cdef uint32_t negs[MAX_NEGATIVE]
    cdef uint32_t next_negs[MAX_NEGATIVE]
    cdef int have_next = 0
    cdef float *buf = NULL
    cdef float *neu1
    cdef float *neu1e
    cdef int64_t pos = start
    cdef int64_t unreported = 0
    cdef int n, i, j, k, lo, hi, b, nctx, status = STATUS_OK
    cdef uint32_t w
    cdef float alpha, kp
    cdef int dim = m.dim
    res.words = 0
    res.kept = 0
    res.examples = 0
    res.loss = 0.0
    res.status = STATUS_OK

    sen = <uint32_t *>malloc(MAX_SENTENCE_LEN * sizeof(uint32_t))
    ctx = <uint32_t *>malloc((2 * m.window + 1) * sizeof(uint32_t))
    buf = <float *>malloc(2 * dim * sizeof(float) + 64)
    if sen == NULL or ctx == NULL or buf == NULL:
        free(sen); free(ctx); free(buf)
        res.status = -1
        return res
    neu1 = buf
    neu1e = buf + dim

    hot = hot_copies(shared, &local, &hot_mem)
    if hot == NULL and (local.hot > 0 or local.hot_nodes > 0):
        free(sen); free(ctx); free(buf)
        res.status = -1
        return res

    alpha = current_alpha(m, w2v_atomic_load(<long long *>m.progress))
    while pos < end and status == STATUS_OK:
        # gather one sentence, dropping frequent words by subsampling
        n = 0
        while pos < end and m.ids[pos] != C_EOS and n < MAX_SENTENCE_LEN:
            w = m.ids[pos]
            pos += 1
            res.words += 1
            unreported += 1
            since_sync += 1
            if m.keep_prob != NULL:
                kp = m.keep_prob[w]
                if kp < 1.0 and rng_uniform(&rng) >= kp:
                    continue
            sen[n] = w
            n += 1
        res.kept += n
        if pos < end and m.ids[pos] == C_EOS:
            pos += 1

        if m.hs and n > 0:
            prefetch_tree(m, sen, -1, n)
        # the rows of the first window's words; a later word's is requested as it can enter the next window
        for j in range(m.window + 1 if m.window + 1 < n else n):
            prefetch_row(in_row(m, sen[j]), dim)
        for i in range(n):
            w = sen[i]
            if m.hs:
                prefetch_tree(m, sen, i, n)
            if i + m.window + 1 < n:    # the word that can enter the next centre word's window
                prefetch_row(in_row(m, sen[i + m.window + 1]), dim)
            # reduced window, as word2vec.c (the draw is made either way: the same stream)
            b = <int>rng_below(&rng, <uint32_t>m.window)
            if not m.shrink_windows:
                b = 0
            lo = i - m.window + b
            if lo < 0:
                lo = 0
            hi = i + m.window - b + 1
            if hi > n:
                hi = n
            if m.cbow or m.shared_negatives:
                nctx = 0
                for j in range(lo, hi):
                    if j != i:
                        ctx[nctx] = sen[j]
                        nctx += 1
                if nctx == 0:
                    continue
                if m.negative:
                    prefetch_row(out_row(m, w), dim)
                # the noise words were drawn (and their rows requested) one centre word ahead
                if not have_next:
                    for k in range(m.negative):
                        next_negs[k] = noise_next(m, &nz)
                for k in range(m.negative):
                    negs[k] = next_negs[k]
                    next_negs[k] = noise_next(m, &nz)
                    prefetch_row(out_row(m, next_negs[k]), dim)
                have_next = 1
                if m.cbow:
                    status = cbow_example(m, ctx, nctx, w, negs, alpha, neu1, neu1e, &res.loss)
                    res.examples += 1
                else:   # skip-gram, one set of noise words for the whole window
                    status = sg_window(m, ctx, nctx, w, negs, alpha, neu1e, &res.loss)
                    res.examples += nctx
            else:
                for j in range(lo, hi):
                    if j == i:
                        continue
                    for k in range(m.negative):
                        negs[k] = noise_next(m, &nz)
                    status = sg_example(m, sen[j], w, negs, alpha, neu1e, &res.loss)
                    res.examples += 1
                    if status != STATUS_OK:
                        break
            if status != STATUS_OK:
                break

        if hot != NULL and since_sync >= m.hot_sync:
            hot_merge_locked(shared, m, NULL)
            since_sync = 0
        if unreported >= 10000:
            alpha = current_alpha(m, w2v_atomic_add(<long long *>m.progress, unreported))
            unreported = 0
            if w2v_load_flag(m.stop):
                status = STATUS_STOPPED

    if unreported:
        w2v_atomic_add(<long long *>m.progress, unreported)
    if hot != NULL:
        hot_merge_locked(shared, m, NULL)
        free(hot_mem)
    free(sen); free(ctx); free(buf)
    res.status = status
    return res


def merge_changes(float[:, ::1] master, const int32_t[::1] rows, const float[:, ::1] values,
                  const int32_t[::1] count, const int64_t[::1] where, float[:, ::1] acc):
    """One worker's changed rows into a reconciliation of the master copy (w2v.distributed.reconcile),
    in one pass: a row that no other worker changed (count[row] == 1) becomes the worker's row; the
    change (values - master) of a row several workers changed is added to acc[where[row]], and that
    master row is not written (every worker's change is taken against the round's start)."""
    cdef Py_ssize_t i, j, n = rows.shape[0], dim = master.shape[1], v = master.shape[0]
    cdef int32_t r
    cdef float *a
    cdef float *m
    cdef const float *x
    if values.shape[0] != n or values.shape[1] != dim or acc.shape[1] != dim:
        raise ValueError("rows, values and the master copy do not match")
    if count.shape[0] != v or where.shape[0] != v:
        raise ValueError("count and where must have a slot per row of the master copy")
    for i in range(n):
        r = rows[i]
        if r < 0 or r >= v or count[r] < 1 or (count[r] > 1 and not 0 <= where[r] < acc.shape[0]):
            raise ValueError(f"row {r} is not a changed row of the master copy")
    with nogil:
        for i in range(n):
            r = rows[i]
            x = &values[i, 0]
            m = &master[r, 0]
            if count[r] == 1:
                memcpy(m, x, dim * sizeof(float))
            else:
                a = &acc[where[r], 0]
                for j in range(dim):
                    a[j] += x[j] - m[j]


FLOAT16_INSTRUCTIONS = bool(W2V_HAS_F16C)     # this build converts float16 with the CPU's F16C instructions


def to_float16(const float[:, ::1] x):
    """x as float16, rounded to the nearest (F16C instructions in the AVX2 build); None if a value is beyond
    float16's range or not finite. The conversion changed_rows() and others_changes() apply row by row,
    whole (the tests compare it with numpy's cast in every build)."""
    out = np.empty((x.shape[0], x.shape[1]), dtype=np.uint16)
    cdef uint16_t[:, ::1] o = out
    cdef Py_ssize_t n = x.shape[0] * x.shape[1]
    cdef int ok = 1
    if n:
        with nogil:
            ok = w2v_to_half(&x[0, 0], &o[0, 0], n)
    return out.view(np.float16) if ok else None


def from_float16(h):
    """A 2-D float16 array as float32."""
    cdef const uint16_t[:, ::1] b = np.ascontiguousarray(h, dtype=np.float16).view(np.uint16)
    out = np.empty((b.shape[0], b.shape[1]), dtype=np.float32)
    cdef float[:, ::1] o = out
    cdef Py_ssize_t n = b.shape[0] * b.shape[1]
    if n:
        with nogil:
            w2v_from_half(&b[0, 0], &o[0, 0], n)
    return out


cdef inline bint round_change(float *change, uint16_t *half, float *cur, float *st, Py_ssize_t dim) noexcept nogil:
    """A row's change (cur - st, in change) as float16 (half); if it is within float16's range, change becomes
    the rounded change and the row and its start move to start + that. 0 (nothing moved) if it is not."""
    cdef Py_ssize_t k
    cdef float x
    if not w2v_to_half(change, half, dim):
        return 0
    w2v_from_half(half, change, dim)
    for k in range(dim):
        x = st[k] + change[k]
        cur[k] = x
        st[k] = x
    return 1


def changed_rows(float[:, :] current, float[:, ::1] start, bint changes=False, bint float16=False):
    """The rows of `current` whose bytes differ from start's (ascending, int32), their values (changes: their
    values less start's), and start brought up to date: a replica's rows changed since they last went out
    (w2v.distributed), in one pass over the matrix and another over the changed rows.
    float16 (with changes): the changes come as float16, and a row (with its start) moves to its start plus
    its rounded change, what the receiver of the changes adds; where a row's change is beyond float16's
    range it stays and every change comes as float32 (those of the other rows rounded all the same)."""
    cdef Py_ssize_t i, j, k, c = 0, n = start.shape[0], dim = start.shape[1], wide = -1
    cdef float *cur
    cdef float *st
    cdef float *out
    cdef float *row = NULL
    cdef uint16_t[:, ::1] h
    cdef float[:, ::1] v
    if float16 and not changes:
        raise ValueError("float16 needs changes")
    if current.shape[0] != n or current.shape[1] != dim:
        raise ValueError("current and start do not match")
    if dim > 1 and current.strides[1] != sizeof(float):
        raise ValueError("the rows' floats must be adjacent")
    found = np.empty(n, dtype=np.int32)
    cdef int32_t[::1] f = found
    with nogil:
        for i in range(n):
            if memcmp(&current[i, 0], &start[i, 0], dim * sizeof(float)) != 0:
                f[c] = <int32_t>i
                c += 1
    rows = found[:c].copy()
    if float16:
        # each change rounded to float16 on the way out, through one row of scratch: float32 values only if a
        # change is beyond float16's range
        narrow = np.empty((c, dim), dtype=np.uint16)
        h = narrow
        row = <float *>malloc(max(1, dim) * sizeof(float))
        if row == NULL:
            raise MemoryError()
        with nogil:
            for j in range(c):
                i = f[j]
                cur = &current[i, 0]
                st = &start[i, 0]
                for k in range(dim):
                    row[k] = cur[k] - st[k]
                if not round_change(row, &h[j, 0], cur, st, dim):
                    wide = j
                    break
        free(row)
        if wide < 0:
            return rows, narrow.view(np.float16)
    values = np.empty((c, dim), dtype=np.float32)
    v = values
    if float16:     # the rows before the first wide one went out rounded: their float32 values say so
        with nogil:
            for j in range(wide):
                w2v_from_half(&h[j, 0], &v[j, 0], dim)
    with nogil:
        for j in range(max(wide, 0), c):
            i = f[j]
            cur = &current[i, 0]
            st = &start[i, 0]
            out = &v[j, 0]
            if changes:
                for k in range(dim):
                    out[k] = cur[k] - st[k]
                if float16 and round_change(out, &h[j, 0], cur, st, dim):
                    continue
            else:
                memcpy(out, cur, dim * sizeof(float))
            memcpy(st, cur, dim * sizeof(float))
    return rows, values


ctypedef fused change_t:      # changes as they travel: float32, or float16's bits (w2v.distributed)
    float
    uint16_t

ctypedef fused out_t:
    float
    uint16_t


cdef inline const float *change_row(const change_t[:, ::1] changes, Py_ssize_t i, float *buf,
                                    Py_ssize_t dim) noexcept nogil:
    """Row i of changes as floats: the row itself (float32), or decoded into buf (float16's bits)."""
    if change_t is float:
        return &changes[i, 0]
    w2v_from_half(&changes[i, 0], buf, dim)
    return buf


def add_rows(float[:, :] a, const int32_t[::1] rows, const change_t[:, ::1] values, float[:, :] also=None):
    """a[rows[i]] += values[i], and the same to `also` if given (rows distinct; the matrices' rows may be
    padded, their floats within a row adjacent). values: float32, or float16 as uint16 (added as float32)."""
    cdef Py_ssize_t i, j, n = rows.shape[0], dim = a.shape[1], v = a.shape[0]
    cdef float *p
    cdef float *q
    cdef const float *x
    cdef float *buf
    cdef bint both = also is not None
    if values.shape[0] != n or (n and values.shape[1] != dim):
        raise ValueError("rows and values do not match")
    if dim > 1 and a.strides[1] != sizeof(float):
        raise ValueError("the rows' floats must be adjacent")
    if both and (also.shape[0] != v or also.shape[1] != dim or (dim > 1 and also.strides[1] != sizeof(float))):
        raise ValueError("the two matrices do not match")
    for i in range(n):
        if not 0 <= rows[i] < v:
            raise ValueError(f"row {rows[i]} is outside the matrix")
    buf = <float *>malloc(max(1, dim) * sizeof(float))
    if buf == NULL:
        raise MemoryError()
    with nogil:
        for i in range(n):
            x = change_row(values, i, buf, dim)
            p = &a[rows[i], 0]
            for j in range(dim):
                p[j] += x[j]
            if both:
                q = &also[rows[i], 0]
                for j in range(dim):
                    q[j] += x[j]
    free(buf)


def add_changes(float[:, ::1] total, const int64_t[::1] pos, const int32_t[::1] rows, const change_t[:, ::1] changes):
    """total[pos[rows[i]]] += changes[i]: one worker's changes into the sum over the workers of the rows
    any of them changed (w2v.distributed.reconcile_changes). changes: float32, or float16 as uint16."""
    cdef Py_ssize_t i, j, n = rows.shape[0], dim = total.shape[1], v = pos.shape[0]
    cdef float *t
    cdef const float *x
    cdef float *buf
    if changes.shape[0] != n or (n and changes.shape[1] != dim):
        raise ValueError("rows and changes do not match")
    for i in range(n):
        if not (0 <= rows[i] < v and 0 <= pos[rows[i]] < total.shape[0]):
            raise ValueError(f"row {rows[i]} is not a changed row")
    buf = <float *>malloc(max(1, dim) * sizeof(float))
    if buf == NULL:
        raise MemoryError()
    with nogil:
        for i in range(n):
            t = &total[pos[rows[i]], 0]
            x = change_row(changes, i, buf, dim)
            for j in range(dim):
                t[j] += x[j]
    free(buf)


def others_changes(const float[:, ::1] total, const int64_t[::1] pos, const int32_t[::1] send,
                   const int32_t[::1] rows, const change_t[:, ::1] changes, out_t[:, ::1] out):
    """out[i] = total[pos[send[i]]], less the worker's own change of that row if it has one (rows and
    changes: its changed rows and their changes; send and rows ascending): what the others' changes add
    to each row of send. changes and out: float32, or float16 as uint16; False if a value of out is beyond
    float16's range (out is then incomplete)."""
    cdef Py_ssize_t i, j = 0, k, n = send.shape[0], m = rows.shape[0], dim = total.shape[1], v = pos.shape[0]
    cdef float *o
    cdef const float *t
    cdef const float *x
    cdef float *own = NULL
    cdef float *row = NULL
    cdef int ok = 1
    if out.shape[0] != n or (n and out.shape[1] != dim) or changes.shape[0] != m or (m and changes.shape[1] != dim):
        raise ValueError("rows, changes and the output do not match")
    for i in range(n):
        if not (0 <= send[i] < v and 0 <= pos[send[i]] < total.shape[0]) or (i and send[i] <= send[i - 1]):
            raise ValueError(f"row {send[i]} is not a changed row, or the rows do not ascend")
    for i in range(1, m):
        if rows[i] <= rows[i - 1]:
            raise ValueError("the worker's rows do not ascend")
    own = <float *>malloc(2 * max(1, dim) * sizeof(float))
    if own == NULL:
        raise MemoryError()
    row = own + max(1, dim)
    with nogil:
        for i in range(n):
            if out_t is float:
                o = &out[i, 0]
            else:
                o = row
            t = &total[pos[send[i]], 0]
            while j < m and rows[j] < send[i]:
                j += 1
            if j < m and rows[j] == send[i]:
                x = change_row(changes, j, own, dim)
                for k in range(dim):
                    o[k] = t[k] - x[k]
            else:
                for k in range(dim):
                    o[k] = t[k]
            if out_t is uint16_t:
                if not w2v_to_half(row, &out[i, 0], dim):
                    ok = 0
                    break
    free(own)
    return bool(ok)


def apply_merged(float[:, ::1] master, const int64_t[::1] shared, const float[:, ::1] acc, const float[::1] factor,
                 bint divide):
    """master[shared[j]] += acc[j] (divided by factor[j] if divide, else times factor[j]; no factor: as is)."""
    cdef Py_ssize_t i, j, n = shared.shape[0], dim = master.shape[1], v = master.shape[0]
    cdef bint scaled = factor is not None
    cdef float f
    cdef float *m
    cdef const float *a
    if acc.shape[0] != n or acc.shape[1] != dim or (scaled and factor.shape[0] != n):
        raise ValueError("shared rows, their changes and factors do not match")
    for i in range(n):
        if not 0 <= shared[i] < v:
            raise ValueError(f"row {shared[i]} is outside the master copy")
    with nogil:
        for i in range(n):
            m = &master[shared[i], 0]
            a = &acc[i, 0]
            if not scaled:
                for j in range(dim):
                    m[j] += a[j]
            elif divide:
                f = factor[i]
                for j in range(dim):
                    m[j] += a[j] / f
            else:
                f = factor[i]
                for j in range(dim):
                    m[j] += a[j] * f


def _check_rows(float[:, :] a, name, Py_ssize_t dim, int64_t stride):
    if a.shape[0] > 0 and a.shape[1] > 1 and a.strides[1] != sizeof(float):
        raise ValueError(f"{name}: syn0, syn1neg and syn1 must have contiguous rows and the same row stride")
    if a.shape[0] > 1 and (a.strides[0] % sizeof(float) != 0 or <int64_t>(a.strides[0] // sizeof(float)) != stride
                           or a.strides[0] < dim * <Py_ssize_t>sizeof(float)):
        raise ValueError(f"{name}: syn0, syn1neg and syn1 must have contiguous rows and the same row stride")


def _check_tree(path, code_start, Py_ssize_t V):
    """The kernels trust the tree: every path must stay inside path and syn1."""
    if code_start.shape != (V + 1,) or code_start[0] != 0 or np.any(np.diff(code_start) < 0):
        raise ValueError("tree: code_start must be V + 1 non-decreasing offsets from 0")
    if path.shape != (code_start[V],):
        raise ValueError("tree: path must hold code_start[V] entries")
    if path.size and (path >> 1).max() > V - 2:
        raise ValueError("tree: path entries must be inner nodes (0 .. V - 2) << 1 | branch")


cdef class TrainState:
    """The arrays of one training run, gathered into a C struct for the kernels.

    Holds references to every array whose pointer the struct keeps, so none can be freed
    while a worker runs. syn1neg and the alias table may be None when negative is 0; syn1
    (V - 1 rows) and tree (path, code_start: see build_huffman) turn on
    hierarchical softmax.
    """
    cdef Model m
    cdef object _keep
    cdef readonly object syn0, syn1neg, syn1, ids, keep_prob, alias_prob, alias_idx
    cdef readonly object path, code_start
    cdef readonly object progress, stop_flag, merge_locks, merge_ticket

    def __init__(self, float[:, :] syn0, syn1neg, const uint32_t[::1] ids,
                 keep_prob, alias_prob, alias_idx,
                 bint cbow, int window, int negative, double alpha0, double min_alpha,
                 int64_t total_words, bint shared_negatives=False, uint32_t hot_rows=0,
                 int64_t hot_sync=10000, syn1=None, tree=None, bint cbow_mean=True, hot_nodes=None,
                 bint shrink_windows=True, int merge_blocks=DEFAULT_MERGE_BLOCKS):
        cdef const float[::1] kp
        cdef const float[::1] ap
        cdef const int32_t[::1] ai
        cdef float[:, :] s1n
        cdef float[:, :] s1
        cdef const uint32_t[::1] path
        cdef const int64_t[::1] code_start
        cdef Py_ssize_t V = syn0.shape[0]
        if syn0.shape[0] < 1 or syn0.shape[1] < 1:
            raise ValueError("syn0 must not be empty")
        if not (0 <= negative <= MAX_NEGATIVE):
            raise ValueError(f"negative must be between 0 and {MAX_NEGATIVE}")
        if negative == 0 and syn1 is None:
            raise ValueError("nothing to train: negative is 0 and there is no hierarchical softmax (syn1)")
        if window < 1:
            raise ValueError("window must be at least 1")
        if total_words < 1:
            raise ValueError("total_words must be positive")
        if not (1 <= merge_blocks <= MAX_MERGE_BLOCKS):
            raise ValueError(f"merge_blocks must be between 1 and {MAX_MERGE_BLOCKS}")
        memset(&self.m, 0, sizeof(Model))
        self.m.dim = syn0.shape[1]
        self.m.stride = syn0.strides[0] // sizeof(float) if V > 1 else syn0.shape[1]
        # rows may be padded (a view of a wider array), but each row's floats must be contiguous
        # and every matrix must use the same row stride (a single row has no stride to speak of)
        _check_rows(syn0, "syn0", syn0.shape[1], self.m.stride)
        self.syn0 = syn0.base if syn0.base is not None else syn0
        self.m.syn0 = &syn0[0, 0]
        self.syn1neg = None
        if negative > 0:
            if syn1neg is None:
                raise ValueError("negative sampling needs syn1neg")
            s1n = syn1neg
            if s1n.shape[0] != V or s1n.shape[1] != syn0.shape[1]:
                raise ValueError("syn0 and syn1neg must have the same shape")
            _check_rows(s1n, "syn1neg", syn0.shape[1], self.m.stride)
            self.syn1neg = s1n.base if s1n.base is not None else s1n
            self.m.syn1neg = &s1n[0, 0]
            if alias_prob is None or alias_idx is None:
                raise ValueError("negative sampling needs the alias table")
            ap = alias_prob
            ai = alias_idx
            if ap.shape[0] != V or ai.shape[0] != V:
                raise ValueError("the alias table must have one entry per vocabulary word")
            self.alias_prob = alias_prob
            self.alias_idx = alias_idx
            self.m.alias_prob = &ap[0]
            self.m.alias_idx = &ai[0]
        if syn1 is not None:
            if tree is None:
                raise ValueError("hierarchical softmax needs the Huffman tree")
            s1 = syn1
            if s1.shape[0] != V - 1 or s1.shape[1] != syn0.shape[1]:
                raise ValueError("syn1 must have one row per inner node (V - 1) and syn0's width")
            _check_rows(s1, "syn1", syn0.shape[1], self.m.stride)
            path, code_start = tree
            _check_tree(np.asarray(path), np.asarray(code_start), V)
            self.syn1 = s1.base if s1.base is not None else s1
            self.m.syn1 = &s1[0, 0] if V > 1 else NULL
            self.path, self.code_start = path, code_start
            self.m.path = &path[0] if path.shape[0] > 0 else NULL
            self.m.code_start = &code_start[0]
            self.m.hs = 1
        self.ids = ids
        self.progress = np.zeros(1, dtype=np.int64)
        self.stop_flag = np.zeros(1, dtype=np.intc)
        locks = np.zeros((merge_blocks + 1) * LOCK_STRIDE, dtype=np.intc)     # one cache line each
        first = (-locks.ctypes.data % 64) // locks.itemsize
        self.merge_locks = locks[first:first + merge_blocks * LOCK_STRIDE]
        self.merge_ticket = np.zeros(1, dtype=np.int64)
        self.m.merge_blocks = merge_blocks
        self.m.window = window
        self.m.negative = negative
        self.m.cbow = cbow
        self.m.cbow_mean = cbow_mean
        self.m.wide = w2v_get_use512()     # the path in 16-float registers (use_avx512)
        self.m.shrink_windows = shrink_windows
        self.m.shared_negatives = shared_negatives
        self.m.hot = hot_rows
        self.m.hot_nodes = (hot_rows if hot_nodes is None else hot_nodes) if self.m.hs else 0
        self.m.prefetch_from = prefetch_start(self.m.stride)
        self.m.hot_sync = hot_sync if hot_sync > 0 else 1
        self.m.vocab_size = <uint32_t>V
        self.m.ids = &ids[0] if ids.shape[0] > 0 else NULL
        if keep_prob is None:
            self.keep_prob = None
            self.m.keep_prob = NULL
        else:
            kp = keep_prob
            if kp.shape[0] != V:
                raise ValueError("keep_prob must have one entry per vocabulary word")
            self.keep_prob = keep_prob
            self.m.keep_prob = &kp[0]
        self.m.alpha0 = alpha0
        self.m.min_alpha = min_alpha
        self.m.total_words = total_words
        cdef int64_t[::1] prog = self.progress
        cdef int[::1] stop = self.stop_flag
        self.m.progress = &prog[0]
        self.m.stop = &stop[0]
        cdef int[::1] merge_locks = self.merge_locks
        cdef int64_t[::1] merge_ticket = self.merge_ticket
        self.m.merge_locks = &merge_locks[0]
        self.m.merge_ticket = &merge_ticket[0]

    def train_chunk(self, int64_t start, int64_t end, uint64_t seed, uint64_t epoch, uint64_t chunk):
        """Train on ids[start:end] (a run of whole sentences). Releases the GIL throughout.

        The random streams (one for windows and subsampling, one for noise words) are derived
        from (seed, epoch, chunk), so a single thread with a fixed seed repeats exactly, also when
        training resumes from a chunk boundary.
        Returns (words, examples, loss, status, kept): corpus words read, positive examples
        trained, their summed loss, the status, and the words subsampling kept.
        """
        cdef ChunkResult r
        cdef uint64_t rng = rng_seed(seed, epoch, chunk)
        cdef uint64_t noise_rng = rng_seed(seed ^ NOISE_SEED, epoch, chunk)   # noise words: their own stream
        if start < 0 or end > self.ids.shape[0] or start > end:
            raise ValueError("chunk out of range")
        with nogil:
            r = train_range(&self.m, start, end, rng, noise_rng)
        if r.status < 0:
            raise MemoryError("cannot allocate the worker's buffers")
        return r.words, r.examples, r.loss, r.status, r.kept

    def _merge_loop(self, int64_t merges, int64_t work_ns=0, float delta=0.0, bint sleep=True):
        """Test hook: one worker's merge path in a loop, without training. Makes this worker's
        copies of the hot rows as train_chunk does, then `merges` times: adds delta to every
        float of every hot row of its copies (its training), waits until work_ns have passed since
        the round began (sleeping, or spinning with sleep=False), and merges under the lock(s).
        Releases the GIL throughout; call it from several threads at once to load the merge path.
        Returns a dict: merges, hold_ns, wait_ns, max_wait_ns, and start_ns, end_ns (CLOCK_MONOTONIC)."""
        cdef Model local = self.m
        cdef void *mem = NULL
        cdef float *hot
        cdef MergeStats st
        cdef int64_t it, r, x, t_round, t_start, t_end, left
        cdef timespec ts
        cdef float *rows[3]
        cdef int64_t nrows[3]
        cdef int k
        memset(&st, 0, sizeof(MergeStats))
        with nogil:
            hot = hot_copies(&self.m, &local, &mem)
        if hot == NULL:
            raise ValueError("no hot rows to merge (hot_rows is 0) or no memory for them")
        rows[0], rows[1], rows[2] = local.hot0, local.hot1, local.hot2
        nrows[0] = local.hot if local.hot0 != NULL else 0
        nrows[1] = local.hot if local.hot1 != NULL else 0
        nrows[2] = local.hot_nodes if local.hot2 != NULL else 0
        with nogil:
            t_start = now_ns()
            for it in range(merges):
                t_round = now_ns()
                if delta != 0.0:
                    for k in range(3):
                        for r in range(nrows[k]):
                            for x in range(local.dim):
                                rows[k][r * local.stride + x] += delta
                while work_ns > 0:
                    left = t_round + work_ns - now_ns()
                    if left <= 0:
                        break
                    if sleep:
                        ts.tv_sec = left // 1000000000
                        ts.tv_nsec = left % 1000000000
                        nanosleep(&ts, NULL)
                hot_merge_locked(&self.m, &local, &st)
            t_end = now_ns()
            free(mem)
        return {"merges": st.merges, "hold_ns": st.hold_ns, "wait_ns": st.wait_ns,
                "max_wait_ns": st.max_wait_ns, "start_ns": t_start, "end_ns": t_end}

    def set_progress(self, int64_t words):
        self.progress[0] = words

    def request_stop(self):
        w2v_store_flag(self.m.stop, 1)

    def clear_stop(self):
        w2v_store_flag(self.m.stop, 0)

    @property
    def words_done(self):
        return int(w2v_atomic_load(<long long *>self.m.progress))

    @property
    def alpha(self):
        return current_alpha(&self.m, w2v_atomic_load(<long long *>self.m.progress))


def cpu_has_avx2_fma():
    """Whether this CPU can run the AVX2 + FMA build of the kernels."""
    return bool(w2v_cpu_has_avx2_fma())


def cpu_has_avx512():
    """Whether this build has the AVX-512 form of the hierarchical-softmax path and this CPU can run it."""
    return bool(w2v_cpu_has_avx512())


def use_avx512(on=None):
    """Whether trainers made from now on run the hierarchical-softmax path (skip-gram and CBOW) in its
    AVX-512 form (possible only where cpu_has_avx512()); `on` switches it. Off at import:
    w2v._kernels switches it on where it picks the "avx512" build."""
    if on is not None:
        w2v_set_use512(1 if on else 0)
    return bool(w2v_get_use512())


MAX_SENTENCE_LENGTH = MAX_SENTENCE_LEN   # corpus.py splits longer lines; checked against params.MAX_SENTENCE
STOPPED = STATUS_STOPPED
NAN = STATUS_NAN


# ---------------------------------------------------------------------------------------
# Vose's alias method: O(V) build, O(1) draw
# ---------------------------------------------------------------------------------------

def build_alias(const double[::1] weights):
    """Alias table (prob float32, alias int32) for sampling index i with probability w_i / sum(w)."""
    cdef Py_ssize_t n = weights.shape[0], i, n_small = 0, n_large = 0, s, l
    cdef double total = 0.0
    for i in range(n):
        if not (weights[i] >= 0.0) or weights[i] == float("inf"):
            raise ValueError("weights must be finite and non-negative")
        total += weights[i]
    if n == 0 or total <= 0.0:
        raise ValueError("weights must have a positive sum")
    prob_np = np.empty(n, dtype=np.float32)
    alias_np = np.arange(n, dtype=np.int32)
    scaled_np = np.empty(n, dtype=np.float64)
    small_np = np.empty(n, dtype=np.intp)
    large_np = np.empty(n, dtype=np.intp)
    cdef float[::1] prob = prob_np
    cdef int32_t[::1] alias = alias_np
    cdef double[::1] scaled = scaled_np
    cdef Py_ssize_t[::1] small = small_np
    cdef Py_ssize_t[::1] large = large_np
    with nogil:
        for i in range(n):
            scaled[i] = weights[i] * n / total
            if scaled[i] < 1.0:
                small[n_small] = i
                n_small += 1
            else:
                large[n_large] = i
                n_large += 1
        while n_small > 0 and n_large > 0:
            n_small -= 1
            s = small[n_small]
            l = large[n_large - 1]
            prob[s] = <float>scaled[s]
            alias[s] = <int32_t>l
            scaled[l] = (scaled[l] + scaled[s]) - 1.0
            if scaled[l] < 1.0:
                n_large -= 1
                small[n_small] = l
                n_small += 1
        while n_large > 0:
            n_large -= 1
            prob[large[n_large]] = 1.0
        while n_small > 0:   # only rounding leftovers
            n_small -= 1
            prob[small[n_small]] = 1.0
    return prob_np, alias_np


# ---------------------------------------------------------------------------------------
# The Huffman tree of hierarchical softmax: O(V) from counts sorted by descending count
# ---------------------------------------------------------------------------------------

def build_huffman(const int64_t[::1] counts):
    """Huffman codes of V words whose counts are sorted by descending count, built as
    word2vec.c's CreateBinaryTree: two pointers, one walking the leaves from the rarest word,
    one the inner nodes in the order they are made (their counts never decrease), always
    joining the two smallest; the second of the pair gets branch 1. O(V).

    Returns (path uint32, code_start int64): word w's path from the root is entries
    code_start[w] .. code_start[w + 1] - 1 of path, each the inner node on it (its syn1 row)
    shifted left by one bit, or'ed with the branch taken there. Inner nodes are numbered from the root (row 0) in
    the reverse of the order they are made, so rows are by descending count, like the words
    (word2vec.c numbers them the other way: its row r is row V - 2 - r here).
    """
    cdef Py_ssize_t V = counts.shape[0], a, k, pos1, pos2
    cdef Py_ssize_t pick[2]
    if V < 1:
        raise ValueError("the vocabulary is empty")
    for a in range(V):
        if counts[a] < 0 or (a > 0 and counts[a] > counts[a - 1]):
            raise ValueError("counts must be non-negative and sorted by descending count")
    count_np = np.empty(2 * V, dtype=np.int64)
    parent_np = np.zeros(2 * V, dtype=np.int64)
    binary_np = np.zeros(2 * V, dtype=np.uint8)
    cdef int64_t[::1] count = count_np
    cdef int64_t[::1] parent = parent_np
    cdef uint8_t[::1] binary = binary_np
    with nogil:
        for a in range(V):
            count[a] = counts[a]
        pos1 = V - 1                 # the rarest leaf not yet joined
        pos2 = V                     # the first inner node not yet joined
        for a in range(V - 1):       # inner node V + a joins the two smallest
            for k in range(2):       # the smaller first; a tie goes to the inner node, as in word2vec.c
                if pos1 >= 0 and (pos2 >= V + a or count[pos1] < count[pos2]):
                    pick[k] = pos1
                    pos1 -= 1
                else:
                    pick[k] = pos2
                    pos2 += 1
            count[V + a] = count[pick[0]] + count[pick[1]]
            parent[pick[0]] = V + a
            parent[pick[1]] = V + a
            binary[pick[1]] = 1      # word2vec.c: the larger of the two is branch 1
    return _tree_paths(V, parent_np, binary_np)


cdef struct HeapItem:
    int64_t count
    int64_t node


cdef void _heap_sift_down(HeapItem *heap, Py_ssize_t start, Py_ssize_t pos) noexcept nogil:
    """heapq._siftdown: move heap[pos] up towards start while its count is below its parent's."""
    cdef HeapItem item = heap[pos]
    cdef Py_ssize_t up
    while pos > start:
        up = (pos - 1) >> 1
        if not item.count < heap[up].count:
            break
        heap[pos] = heap[up]
        pos = up
    heap[pos] = item


cdef void _heap_sift_up(HeapItem *heap, Py_ssize_t n, Py_ssize_t pos) noexcept nogil:
    """heapq._siftup: move the lighter child up until heap[pos]'s item reaches a leaf, then sift it down."""
    cdef HeapItem item = heap[pos]
    cdef Py_ssize_t start = pos, child = 2 * pos + 1
    while child < n:
        if child + 1 < n and not heap[child].count < heap[child + 1].count:
            child += 1
        heap[pos] = heap[child]
        pos = child
        child = 2 * pos + 1
    heap[pos] = item
    _heap_sift_down(heap, start, pos)


def build_huffman_heap(const int64_t[::1] counts, const int64_t[::1] order):
    """Huffman codes of V words (counts in word order) built as gensim builds them (_build_heap in
    gensim.models.word2vec): the words, in the order `order` gives (a permutation of 0 .. V - 1),
    made a binary heap by Python's heapq, whose items compare by count alone; the two lightest are
    popped and joined into an inner node that is pushed back, the first popped on branch 0, the
    second on branch 1. The same heap operations as heapq's, so ties between equal counts fall as
    they fall in gensim. O(V log V).

    Returns (path, code_start) as build_huffman does, for the words in word order, inner nodes
    numbered from the root in the reverse of the order they are made (gensim's point p is row
    V - 2 - p here)."""
    cdef Py_ssize_t V = counts.shape[0], a, n
    cdef HeapItem x, y
    if V < 1:
        raise ValueError("the vocabulary is empty")
    if order.shape[0] != V:
        raise ValueError(f"order must list every word once: {order.shape[0]} entries for {V} words")
    for a in range(V):
        if counts[a] < 0:
            raise ValueError("counts must be non-negative")
    seen = np.zeros(V, dtype=np.uint8)
    cdef uint8_t[::1] once = seen
    for a in range(V):
        if not 0 <= order[a] < V or once[order[a]]:
            raise ValueError("order must list every word once")
        once[order[a]] = 1
    parent_np = np.zeros(2 * V, dtype=np.int64)
    binary_np = np.zeros(2 * V, dtype=np.uint8)
    cdef int64_t[::1] parent = parent_np
    cdef uint8_t[::1] binary = binary_np
    cdef HeapItem *heap = <HeapItem *>malloc(V * sizeof(HeapItem))
    if heap == NULL:
        raise MemoryError()
    with nogil:
        for a in range(V):
            heap[a].node = order[a]
            heap[a].count = counts[order[a]]
        n = V
        for a in range(V // 2 - 1, -1, -1):      # heapq.heapify
            _heap_sift_up(heap, n, a)
        for a in range(V - 1):
            x = heap[0]                           # heapq.heappop, twice
            n -= 1
            heap[0] = heap[n]
            _heap_sift_up(heap, n, 0)
            y = heap[0]
            n -= 1
            if n > 0:
                heap[0] = heap[n]
                _heap_sift_up(heap, n, 0)
            parent[x.node] = V + a
            parent[y.node] = V + a
            binary[y.node] = 1
            heap[n].node = V + a                  # heapq.heappush
            heap[n].count = x.count + y.count
            n += 1
            _heap_sift_down(heap, 0, n - 1)
    free(heap)
    return _tree_paths(V, parent_np, binary_np)


def _tree_paths(Py_ssize_t V, parent_np, binary_np):
    """(path, code_start) of a tree whose leaves are 0 .. V - 1 and whose inner nodes V .. 2V - 2 are
    made in that order (a parent after its children; the root last), from each node's parent and
    branch bit (see build_huffman)."""
    cdef int64_t[::1] parent = parent_np
    cdef uint8_t[::1] binary = binary_np
    cdef Py_ssize_t root = 2 * V - 2, n, w
    cdef int64_t d
    depth_np = np.zeros(2 * V, dtype=np.int64)
    code_start_np = np.zeros(V + 1, dtype=np.int64)
    cdef int64_t[::1] depth = depth_np
    cdef int64_t[::1] code_start = code_start_np
    if V - 2 > 0x7FFFFFFF:
        raise ValueError("the vocabulary is too large for hierarchical softmax (2**31 words at most)")
    with nogil:
        # depths from the root down: a parent is always made after its children
        for n in range(root - 1, -1, -1):
            depth[n] = depth[parent[n]] + 1
        for w in range(V):
            code_start[w + 1] = code_start[w] + depth[w]
    path_np = np.empty(code_start[V], dtype=np.uint32)
    cdef uint32_t[::1] path = path_np
    with nogil:
        for w in range(V):           # walk up from the leaf, filling the path from its end
            d = code_start[w + 1] - 1
            n = w
            while n != root:
                path[d] = <uint32_t>((root - parent[n]) << 1) | binary[n]
                d -= 1
                n = parent[n]
    return path_np, code_start_np


# ---------------------------------------------------------------------------------------
# Test hooks: expose single steps of the compiled code to a numpy reference. Not public API.
# ---------------------------------------------------------------------------------------

def _sigmoid_py(float x):
    return sigmoid(x)


def _neg_log_sigmoid_py(float x):
    return neg_log_sigmoid(x)


def _draw_py(const float[::1] prob, const int32_t[::1] alias, Py_ssize_t n, uint64_t seed):
    cdef Model m
    cdef uint64_t rng = rng_seed(seed, 0, 0)
    cdef Py_ssize_t i
    out_np = np.empty(n, dtype=np.uint32)
    cdef uint32_t[::1] out = out_np
    m.vocab_size = <uint32_t>prob.shape[0]
    m.alias_prob = &prob[0]
    m.alias_idx = &alias[0]
    with nogil:
        for i in range(n):
            out[i] = draw_noise(&m, &rng)
    return out_np


def _uniform_py(Py_ssize_t n, uint64_t seed):
    cdef uint64_t rng = rng_seed(seed, 0, 0)
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    cdef Py_ssize_t i
    for i in range(n):
        o[i] = rng_uniform(&rng)
    return out


def _step_py(float[:, ::1] syn0, syn1neg, const uint32_t[::1] context, uint32_t word,
             const uint32_t[::1] negs, float alpha, bint cbow, syn1=None, tree=None, bint cbow_mean=True):
    """One skip-gram example (context must hold one word) or one CBOW example, in place:
    negative sampling against negs (none: off), hierarchical softmax when syn1 and tree are
    given. Returns the loss."""
    cdef Model m
    cdef double loss = 0.0
    cdef int status
    cdef float[:, ::1] s1n
    cdef float[:, ::1] s1
    cdef const uint32_t[::1] path
    cdef const int64_t[::1] code_start
    cdef uint32_t no_negs[1]
    neu = np.zeros(2 * syn0.shape[1], dtype=np.float32)
    cdef float[::1] nbuf = neu
    if context.shape[0] < 1 or (negs.shape[0] < 1 and syn1 is None):
        raise ValueError("need at least one context word, and noise words or hierarchical softmax")
    memset(&m, 0, sizeof(Model))
    m.syn0 = &syn0[0, 0]
    m.dim = syn0.shape[1]
    m.stride = syn0.shape[1]
    m.negative = negs.shape[0]
    m.vocab_size = syn0.shape[0]
    m.cbow_mean = cbow_mean
    m.wide = w2v_get_use512()
    if m.negative:
        s1n = syn1neg
        if syn0.shape[0] != s1n.shape[0] or syn0.shape[1] != s1n.shape[1]:
            raise ValueError("shape mismatch")
        m.syn1neg = &s1n[0, 0]
    if syn1 is not None:
        s1 = syn1
        path, code_start = tree
        _check_tree(np.asarray(path), np.asarray(code_start), syn0.shape[0])
        if s1.shape[0] != syn0.shape[0] - 1 or s1.shape[1] != syn0.shape[1]:
            raise ValueError("shape mismatch")
        m.hs = 1
        m.syn1 = &s1[0, 0] if s1.shape[0] else NULL
        m.path = &path[0] if path.shape[0] else NULL
        m.code_start = &code_start[0]
    if cbow:
        status = cbow_example(&m, &context[0], context.shape[0], word, &negs[0] if m.negative else no_negs,
                              alpha, &nbuf[0], &nbuf[m.dim], &loss)
    else:
        status = sg_example(&m, context[0], word, &negs[0] if m.negative else no_negs, alpha, &nbuf[0], &loss)
    if status != STATUS_OK:
        raise FloatingPointError("non-finite score")
    return loss


def _hot_merge_py(float[:, ::1] syn0, float[:, ::1] syn1neg, float[:, ::1] hot0, float[:, ::1] hot1,
                  float[:, ::1] snap):
    """A worker's merge of its hot rows: hot0/hot1 are its copies of the first hot0.shape[0] rows,
    snap (2*hot rows: syn0's then syn1neg's) the shared rows as they were at its last merge."""
    cdef Model shared, local
    cdef uint32_t hot = hot0.shape[0]
    if (hot1.shape[0] != hot or snap.shape[0] != 2 * hot or hot > syn0.shape[0]
            or syn1neg.shape[0] != syn0.shape[0] or hot == 0):
        raise ValueError("shape mismatch")
    memset(&shared, 0, sizeof(Model))
    memset(&local, 0, sizeof(Model))
    shared.syn0 = &syn0[0, 0]
    shared.syn1neg = &syn1neg[0, 0]
    local.dim = syn0.shape[1]
    local.stride = syn0.shape[1]
    local.hot = hot
    local.hot0 = &hot0[0, 0]
    local.hot1 = &hot1[0, 0]
    local.snap0 = &snap[0, 0]
    local.snap1 = &snap[hot, 0]
    hot_merge(&shared, &local)

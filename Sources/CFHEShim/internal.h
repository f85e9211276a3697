// Shared by the kernel files; not part of the public header.
#ifndef CFHESHIM_INTERNAL_H
#define CFHESHIM_INTERNAL_H

#include "include/CFHEShim.h"
#include <string.h>

/// The level the dispatching entry points use: the detected one, unless the calling thread forced a
/// lower one (thread-local, so a test comparing paths never changes what other threads run).
extern int cfhe_isa_global;
extern _Thread_local int cfhe_isa_thread;
#define cfhe_isa_level (cfhe_isa_thread >= 0 ? cfhe_isa_thread : cfhe_isa_global)

#define CFHE_INLINE static inline __attribute__((always_inline))
#define CFHE_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define CFHE_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))

/// Defines three variants of a loop written once as an always-inline body: the scalar reference and
/// copies compiled for AVX2 and AVX-512 (the compiler vectorises each for its target), plus the
/// dispatching public function. Used for the simple integer loops; the FFT is hand-written.
#define CFHE_MULTIVERSION(ret, name, params, args)                                   \
    static ret name##_scalar params { return name##_body args; }                     \
    CFHE_TARGET_AVX2 static ret name##_avx2 params { return name##_body args; }       \
    CFHE_TARGET_AVX512 static ret name##_avx512 params { return name##_body args; }   \
    ret cfhe_##name params {                                                          \
        switch (cfhe_isa_level) {                                                     \
        case CFHE_ISA_AVX512: return name##_avx512 args;                              \
        case CFHE_ISA_AVX2: return name##_avx2 args;                                  \
        default: return name##_scalar args;                                           \
        }                                                                             \
    }

/// round(y * 2^64) modulo 2^64 for a torus value y of any finite size, to the nearest integer with
/// ties to even — the rounding the AVX-512 and AVX2 conversions get from the FPU, so every kernel
/// returns the same residue. Reads the IEEE-754 fields so it never saturates.
CFHE_INLINE uint64_t cfhe_f64_to_torus(double y) {
    double scaled = y * 0x1p64; // exact: a power of two
    uint64_t bits;
    memcpy(&bits, &scaled, sizeof bits);
    int64_t e = (int64_t)((bits >> 52) & 0x7ff);
    uint64_t mant = (bits & ((1ull << 52) - 1)) | (1ull << 52);
    int64_t shift = e - 1075;
    uint64_t r;
    if (shift >= 64) r = 0;
    else if (shift >= 0) r = mant << shift;
    else if (shift < -53) r = 0;
    else {
        int64_t s = -shift; // add just under one half, plus one more when the kept part is odd
        r = (mant + (1ull << (s - 1)) - 1 + ((mant >> s) & 1)) >> s;
    }
    return (bits >> 63) ? (uint64_t)0 - r : r;
}

// FFT variants (fft.c, fft_avx2.c, fft_avx512.c).
void cfhe_fft_forward_int_avx2(const double *t, size_t n, const int64_t *in, double *re, double *im,
                          const double *prefetch);
void cfhe_fft_forward_torus_avx2(const double *t, size_t n, const uint64_t *in, double *re, double *im);
void cfhe_fft_backward_torus_add_avx2(const double *t, size_t n, double *re, double *im, uint64_t *out,
                                 const double *prefetch);
void cfhe_f64_to_torus_add_avx2(const double *y, size_t count, uint64_t *out);
void cfhe_fourier_mac_avx2(size_t m, size_t rows, size_t cols, size_t first, size_t count, const double *f,
                             const double *g, double *acc, int accumulate);
void cfhe_f64_to_torus_add_avx512(const double *y, size_t count, uint64_t *out);
void cfhe_fft_forward_int_avx512(const double *t, size_t n, const int64_t *in, double *re, double *im,
                          const double *prefetch);
void cfhe_fft_forward_torus_avx512(const double *t, size_t n, const uint64_t *in, double *re, double *im);
void cfhe_fft_backward_torus_add_avx512(const double *t, size_t n, double *re, double *im, uint64_t *out,
                                 const double *prefetch);
void cfhe_fourier_mac_avx512(size_t m, size_t rows, size_t cols, size_t first, size_t count, const double *f,
                             const double *g, double *acc, int accumulate);

/// Table layout for polynomial size n, m = n/2 (all doubles):
///   [0, m)    twiddle re:  stage with half-size h uses index h + j, j < h: cos(pi j / h)
///   [m, 2m)   twiddle im:  -sin(pi j / h)            (forward; the inverse conjugates)
///   [2m, 3m)  twist re:    cos(pi j / n)
///   [3m, 4m)  twist im:    sin(pi j / n)
///   [4m, 5m)  untwist re:  cos(pi j / n) / m  (inverse twist and normalisation)
///   [5m, 6m)  untwist im: -sin(pi j / n) / m
#define CFHE_TW_RE(t, m) (t)
#define CFHE_TW_IM(t, m) ((t) + (m))
#define CFHE_TWIST_RE(t, m) ((t) + 2 * (m))
#define CFHE_TWIST_IM(t, m) ((t) + 3 * (m))
#define CFHE_UNTWIST_RE(t, m) ((t) + 4 * (m))
#define CFHE_UNTWIST_IM(t, m) ((t) + 5 * (m))

#endif

// AVX-512 negacyclic FFT. Same algorithm and table as the scalar path in fft.c: radix-2 stages
// fused in pairs (radix-2^2) for half-sizes >= 8, and the last three stages (half-size 4, 2, 1)
// done inside one register of 8 doubles with permutes, so each pass over memory does two stages.
#include "internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define T CFHE_TARGET_AVX512
typedef __m512d V;

/// Spreads the prefetch of one spectrum (n doubles = n/8 cache lines) over every loop iteration
/// of a transform: one line per iteration keeps the request rate below what the miss buffers
/// sustain, so the stream overlaps with the arithmetic instead of stalling it.
typedef struct { const char *p; size_t next, end; } Prefetcher;

T static inline void prefetch_step(Prefetcher *pf) {
    if (pf->next < pf->end) { _mm_prefetch(pf->p + 64 * pf->next, _MM_HINT_T1); pf->next++; }
}

T static inline void cmul(V ar, V ai, V br, V bi, V *or_, V *oi) {
    *or_ = _mm512_fmsub_pd(ar, br, _mm512_mul_pd(ai, bi));
    *oi = _mm512_fmadd_pd(ar, bi, _mm512_mul_pd(ai, br));
}

/// Twiddles for the in-register stages, expanded to one vector each (re, im); conj selects the
/// inverse direction. Lane p of the stage with half-size h uses W[h + (p mod h)] on the upper half
/// of each 2h group and 1 on the lower half.
typedef struct { V r4, i4, r2, i2, s4, s2, s1; __m512i p4, p2, p1; } Tail;

T static inline Tail tail_consts(const double *t, size_t m, int conj) {
    const double *wr = CFHE_TW_RE(t, m), *wi = CFHE_TW_IM(t, m);
    double c = conj ? -1.0 : 1.0;
    Tail k;
    k.r4 = _mm512_setr_pd(1, 1, 1, 1, wr[4], wr[5], wr[6], wr[7]);
    k.i4 = _mm512_setr_pd(0, 0, 0, 0, c * wi[4], c * wi[5], c * wi[6], c * wi[7]);
    k.r2 = _mm512_setr_pd(1, 1, wr[2], wr[3], 1, 1, wr[2], wr[3]);
    k.i2 = _mm512_setr_pd(0, 0, c * wi[2], c * wi[3], 0, 0, c * wi[2], c * wi[3]);
    k.s4 = _mm512_setr_pd(1, 1, 1, 1, -1, -1, -1, -1);
    k.s2 = _mm512_setr_pd(1, 1, -1, -1, 1, 1, -1, -1);
    k.s1 = _mm512_setr_pd(1, -1, 1, -1, 1, -1, 1, -1);
    k.p4 = _mm512_setr_epi64(4, 5, 6, 7, 0, 1, 2, 3);
    k.p2 = _mm512_setr_epi64(2, 3, 0, 1, 6, 7, 4, 5);
    k.p1 = _mm512_setr_epi64(1, 0, 3, 2, 5, 4, 7, 6);
    return k;
}

/// One in-register butterfly stage: lower lanes get u + v, upper lanes u - v.
T static inline void lane_bfly(V *r, V *i, __m512i perm, V sign) {
    *r = _mm512_fmadd_pd(*r, sign, _mm512_permutexvar_pd(perm, *r));
    *i = _mm512_fmadd_pd(*i, sign, _mm512_permutexvar_pd(perm, *i));
}

T static inline void dif_tail8(const Tail *k, V *r, V *i) {
    lane_bfly(r, i, k->p4, k->s4);
    cmul(*r, *i, k->r4, k->i4, r, i);
    lane_bfly(r, i, k->p2, k->s2);
    cmul(*r, *i, k->r2, k->i2, r, i);
    lane_bfly(r, i, k->p1, k->s1);
}

T static inline void dit_tail8(const Tail *k, V *r, V *i) {
    lane_bfly(r, i, k->p1, k->s1);
    cmul(*r, *i, k->r2, k->i2, r, i);
    lane_bfly(r, i, k->p2, k->s2);
    cmul(*r, *i, k->r4, k->i4, r, i);
    lane_bfly(r, i, k->p4, k->s4);
}

T static void dif(const double *t, size_t m, double *re, double *im, Prefetcher *pf) {
    const double *wr = CFHE_TW_RE(t, m), *wi = CFHE_TW_IM(t, m);
    int stages = __builtin_ctzll(m) - 3; // stages with half-size >= 8
    size_t h = m / 2;
    for (; stages >= 2 + (stages & 1); stages -= 2, h >>= 2) {
        size_t q = h / 2;
        for (size_t k = 0; k < m; k += 2 * h) {
            for (size_t j = 0; j < q; j += 8) {
                prefetch_step(pf);
                double *r0 = re + k + j, *i0 = im + k + j;
                V x0r = _mm512_loadu_pd(r0), x0i = _mm512_loadu_pd(i0);
                V x1r = _mm512_loadu_pd(r0 + q), x1i = _mm512_loadu_pd(i0 + q);
                V x2r = _mm512_loadu_pd(r0 + h), x2i = _mm512_loadu_pd(i0 + h);
                V x3r = _mm512_loadu_pd(r0 + h + q), x3i = _mm512_loadu_pd(i0 + h + q);
                V y0r = _mm512_add_pd(x0r, x2r), y0i = _mm512_add_pd(x0i, x2i);
                V y1r = _mm512_add_pd(x1r, x3r), y1i = _mm512_add_pd(x1i, x3i);
                V y2r, y2i, y3r, y3i;
                cmul(_mm512_sub_pd(x0r, x2r), _mm512_sub_pd(x0i, x2i), _mm512_loadu_pd(wr + h + j),
                     _mm512_loadu_pd(wi + h + j), &y2r, &y2i);
                cmul(_mm512_sub_pd(x1r, x3r), _mm512_sub_pd(x1i, x3i), _mm512_loadu_pd(wr + h + q + j),
                     _mm512_loadu_pd(wi + h + q + j), &y3r, &y3i);
                V w2r = _mm512_loadu_pd(wr + q + j), w2i = _mm512_loadu_pd(wi + q + j);
                _mm512_storeu_pd(r0, _mm512_add_pd(y0r, y1r));
                _mm512_storeu_pd(i0, _mm512_add_pd(y0i, y1i));
                V zr, zi;
                cmul(_mm512_sub_pd(y0r, y1r), _mm512_sub_pd(y0i, y1i), w2r, w2i, &zr, &zi);
                _mm512_storeu_pd(r0 + q, zr);
                _mm512_storeu_pd(i0 + q, zi);
                _mm512_storeu_pd(r0 + h, _mm512_add_pd(y2r, y3r));
                _mm512_storeu_pd(i0 + h, _mm512_add_pd(y2i, y3i));
                cmul(_mm512_sub_pd(y2r, y3r), _mm512_sub_pd(y2i, y3i), w2r, w2i, &zr, &zi);
                _mm512_storeu_pd(r0 + h + q, zr);
                _mm512_storeu_pd(i0 + h + q, zi);
            }
        }
    }
    Tail k = tail_consts(t, m, 0);
    if (stages == 1) { // half-size 8 remains: pair the two vectors of each 16-block, then the tail
        V w8r = _mm512_loadu_pd(wr + 8), w8i = _mm512_loadu_pd(wi + 8);
        for (size_t b = 0; b < m; b += 16) {
            prefetch_step(pf);
            V ar = _mm512_loadu_pd(re + b), ai = _mm512_loadu_pd(im + b);
            V br = _mm512_loadu_pd(re + b + 8), bi = _mm512_loadu_pd(im + b + 8);
            V sr = _mm512_add_pd(ar, br), si = _mm512_add_pd(ai, bi);
            V dr, di;
            cmul(_mm512_sub_pd(ar, br), _mm512_sub_pd(ai, bi), w8r, w8i, &dr, &di);
            dif_tail8(&k, &sr, &si);
            dif_tail8(&k, &dr, &di);
            _mm512_storeu_pd(re + b, sr);
            _mm512_storeu_pd(im + b, si);
            _mm512_storeu_pd(re + b + 8, dr);
            _mm512_storeu_pd(im + b + 8, di);
        }
    } else {
        for (size_t b = 0; b < m; b += 8) {
            prefetch_step(pf);
            V r = _mm512_loadu_pd(re + b), i = _mm512_loadu_pd(im + b);
            dif_tail8(&k, &r, &i);
            _mm512_storeu_pd(re + b, r);
            _mm512_storeu_pd(im + b, i);
        }
    }
}

T static void dit(const double *t, size_t m, double *re, double *im, Prefetcher *pf) {
    const double *wr = CFHE_TW_RE(t, m), *wi = CFHE_TW_IM(t, m);
    int stages = __builtin_ctzll(m) - 3;
    Tail k = tail_consts(t, m, 1);
    size_t h = 8;
    if (stages & 1) {
        V w8r = _mm512_loadu_pd(wr + 8), w8i = _mm512_sub_pd(_mm512_setzero_pd(), _mm512_loadu_pd(wi + 8));
        for (size_t b = 0; b < m; b += 16) {
            prefetch_step(pf);
            V ar = _mm512_loadu_pd(re + b), ai = _mm512_loadu_pd(im + b);
            V br = _mm512_loadu_pd(re + b + 8), bi = _mm512_loadu_pd(im + b + 8);
            dit_tail8(&k, &ar, &ai);
            dit_tail8(&k, &br, &bi);
            V vr, vi;
            cmul(br, bi, w8r, w8i, &vr, &vi);
            _mm512_storeu_pd(re + b, _mm512_add_pd(ar, vr));
            _mm512_storeu_pd(im + b, _mm512_add_pd(ai, vi));
            _mm512_storeu_pd(re + b + 8, _mm512_sub_pd(ar, vr));
            _mm512_storeu_pd(im + b + 8, _mm512_sub_pd(ai, vi));
        }
        stages -= 1;
        h = 16;
    } else {
        for (size_t b = 0; b < m; b += 8) {
            prefetch_step(pf);
            V r = _mm512_loadu_pd(re + b), i = _mm512_loadu_pd(im + b);
            dit_tail8(&k, &r, &i);
            _mm512_storeu_pd(re + b, r);
            _mm512_storeu_pd(im + b, i);
        }
    }
    const V zero = _mm512_setzero_pd();
    for (; stages >= 2; stages -= 2, h <<= 2) {
        for (size_t k0 = 0; k0 < m; k0 += 4 * h) {
            for (size_t j = 0; j < h; j += 8) {
                prefetch_step(pf);
                double *r0 = re + k0 + j, *i0 = im + k0 + j;
                V w1r = _mm512_loadu_pd(wr + h + j), w1i = _mm512_sub_pd(zero, _mm512_loadu_pd(wi + h + j));
                V x0r = _mm512_loadu_pd(r0), x0i = _mm512_loadu_pd(i0);
                V x1r = _mm512_loadu_pd(r0 + h), x1i = _mm512_loadu_pd(i0 + h);
                V x2r = _mm512_loadu_pd(r0 + 2 * h), x2i = _mm512_loadu_pd(i0 + 2 * h);
                V x3r = _mm512_loadu_pd(r0 + 3 * h), x3i = _mm512_loadu_pd(i0 + 3 * h);
                V vr, vi;
                cmul(x1r, x1i, w1r, w1i, &vr, &vi);
                V y0r = _mm512_add_pd(x0r, vr), y0i = _mm512_add_pd(x0i, vi);
                V y1r = _mm512_sub_pd(x0r, vr), y1i = _mm512_sub_pd(x0i, vi);
                cmul(x3r, x3i, w1r, w1i, &vr, &vi);
                V y2r = _mm512_add_pd(x2r, vr), y2i = _mm512_add_pd(x2i, vi);
                V y3r = _mm512_sub_pd(x2r, vr), y3i = _mm512_sub_pd(x2i, vi);
                V w2r = _mm512_loadu_pd(wr + 2 * h + j), w2i = _mm512_sub_pd(zero, _mm512_loadu_pd(wi + 2 * h + j));
                V w3r = _mm512_loadu_pd(wr + 3 * h + j), w3i = _mm512_sub_pd(zero, _mm512_loadu_pd(wi + 3 * h + j));
                cmul(y2r, y2i, w2r, w2i, &vr, &vi);
                _mm512_storeu_pd(r0, _mm512_add_pd(y0r, vr));
                _mm512_storeu_pd(i0, _mm512_add_pd(y0i, vi));
                _mm512_storeu_pd(r0 + 2 * h, _mm512_sub_pd(y0r, vr));
                _mm512_storeu_pd(i0 + 2 * h, _mm512_sub_pd(y0i, vi));
                cmul(y3r, y3i, w3r, w3i, &vr, &vi);
                _mm512_storeu_pd(r0 + h, _mm512_add_pd(y1r, vr));
                _mm512_storeu_pd(i0 + h, _mm512_add_pd(y1i, vi));
                _mm512_storeu_pd(r0 + 3 * h, _mm512_sub_pd(y1r, vr));
                _mm512_storeu_pd(i0 + 3 * h, _mm512_sub_pd(y1i, vi));
            }
        }
    }
}

/// round(y * 2^64) mod 2^64 for a torus value y of any size: y - round(y) is exact in floating
/// point, and converting (y - round(y)) * 2^64 in [-2^63, 2^63] needs one instruction; the one
/// overflow, +2^63, converts to the integer indefinite 0x8000..., which is the same residue.
T static inline __m512i fraction_to_torus(V y) {
    V fraction = _mm512_sub_pd(y, _mm512_roundscale_pd(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    return _mm512_cvtpd_epi64(_mm512_mul_pd(fraction, _mm512_set1_pd(0x1p64)));
}

T static inline void twist_store(const double *t, size_t m, size_t j, V a, V b, double *re, double *im) {
    V cr = _mm512_loadu_pd(CFHE_TWIST_RE(t, m) + j), ci = _mm512_loadu_pd(CFHE_TWIST_IM(t, m) + j);
    _mm512_storeu_pd(re + j, _mm512_fmsub_pd(a, cr, _mm512_mul_pd(b, ci)));
    _mm512_storeu_pd(im + j, _mm512_fmadd_pd(a, ci, _mm512_mul_pd(b, cr)));
}

T void cfhe_fft_forward_int_avx512(const double *t, size_t n, const int64_t *in, double *re, double *im,
                          const double *prefetch) {
    size_t m = n / 2;
    Prefetcher pf = {(const char *)prefetch, 0, prefetch ? n / 8 : 0};
    for (size_t j = 0; j < m; j += 8) {
        prefetch_step(&pf);
        V a = _mm512_cvtepi64_pd(_mm512_loadu_si512(in + j));
        V b = _mm512_cvtepi64_pd(_mm512_loadu_si512(in + j + m));
        twist_store(t, m, j, a, b, re, im);
    }
    dif(t, m, re, im, &pf);
}

T void cfhe_fft_forward_torus_avx512(const double *t, size_t n, const uint64_t *in, double *re, double *im) {
    size_t m = n / 2;
    const V s = _mm512_set1_pd(0x1p-64);
    for (size_t j = 0; j < m; j += 8) {
        V a = _mm512_mul_pd(_mm512_cvtepi64_pd(_mm512_loadu_si512(in + j)), s);
        V b = _mm512_mul_pd(_mm512_cvtepi64_pd(_mm512_loadu_si512(in + j + m)), s);
        twist_store(t, m, j, a, b, re, im);
    }
    Prefetcher none = {0, 0, 0};
    dif(t, m, re, im, &none);
}

T void cfhe_fft_backward_torus_add_avx512(const double *t, size_t n, double *re, double *im, uint64_t *out,
                                 const double *prefetch) {
    size_t m = n / 2;
    Prefetcher pf = {(const char *)prefetch, 0, prefetch ? n / 8 : 0};
    dit(t, m, re, im, &pf);
    const double *ur = CFHE_UNTWIST_RE(t, m), *ui = CFHE_UNTWIST_IM(t, m);
    for (size_t j = 0; j < m; j += 8) {
        prefetch_step(&pf);
        V r = _mm512_loadu_pd(re + j), i = _mm512_loadu_pd(im + j);
        V cr = _mm512_loadu_pd(ur + j), ci = _mm512_loadu_pd(ui + j);
        V a = _mm512_fmsub_pd(r, cr, _mm512_mul_pd(i, ci));
        V b = _mm512_fmadd_pd(r, ci, _mm512_mul_pd(i, cr));
        __m512i lo = _mm512_add_epi64(_mm512_loadu_si512(out + j), fraction_to_torus(a));
        __m512i hi = _mm512_add_epi64(_mm512_loadu_si512(out + j + m), fraction_to_torus(b));
        _mm512_storeu_si512(out + j, lo);
        _mm512_storeu_si512(out + j + m, hi);
    }
}

T void cfhe_f64_to_torus_add_avx512(const double *y, size_t count, uint64_t *out) {
    size_t j = 0;
    for (; j + 8 <= count; j += 8) {
        _mm512_storeu_si512(out + j, _mm512_add_epi64(_mm512_loadu_si512(out + j), fraction_to_torus(_mm512_loadu_pd(y + j))));
    }
    for (; j < count; j++) out[j] += cfhe_f64_to_torus(y[j]);
}

T void cfhe_fourier_mac_avx512(size_t m, size_t rows, size_t cols, size_t first, size_t count, const double *f,
                             const double *g, double *acc, int accumulate) {
    for (size_t c = first; c < first + count; c++) {
        double *ar = acc + 2 * m * (c - first), *ai = ar + m;
        for (size_t j = 0; j < m; j += 8) {
            V sr = accumulate ? _mm512_loadu_pd(ar + j) : _mm512_setzero_pd();
            V si = accumulate ? _mm512_loadu_pd(ai + j) : _mm512_setzero_pd();
            for (size_t r = 0; r < rows; r++) {
                const double *fr = f + 2 * m * r, *gr = g + 2 * m * (r * cols + c);
                V xr = _mm512_loadu_pd(fr + j), xi = _mm512_loadu_pd(fr + m + j);
                V yr = _mm512_loadu_pd(gr + j), yi = _mm512_loadu_pd(gr + m + j);
                sr = _mm512_fmadd_pd(xr, yr, _mm512_fnmadd_pd(xi, yi, sr));
                si = _mm512_fmadd_pd(xr, yi, _mm512_fmadd_pd(xi, yr, si));
            }
            _mm512_storeu_pd(ar + j, sr);
            _mm512_storeu_pd(ai + j, si);
        }
    }
}
#endif

// AVX2+FMA negacyclic FFT: the AVX-512 algorithm (fft_avx512.c) with 4-double vectors, so the
// in-register tail covers half-sizes 2 and 1 and the paired stages need half-sizes >= 4.
#include "internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define T CFHE_TARGET_AVX2
typedef __m256d V;

T static inline void cmul(V ar, V ai, V br, V bi, V *or_, V *oi) {
    *or_ = _mm256_fmsub_pd(ar, br, _mm256_mul_pd(ai, bi));
    *oi = _mm256_fmadd_pd(ar, bi, _mm256_mul_pd(ai, br));
}

typedef struct { V r2, i2, s2, s1; } Tail;

T static inline Tail tail_consts(const double *t, size_t m, int conj) {
    const double *wr = CFHE_TW_RE(t, m), *wi = CFHE_TW_IM(t, m);
    double c = conj ? -1.0 : 1.0;
    Tail k;
    k.r2 = _mm256_setr_pd(1, 1, wr[2], wr[3]);
    k.i2 = _mm256_setr_pd(0, 0, c * wi[2], c * wi[3]);
    k.s2 = _mm256_setr_pd(1, 1, -1, -1);
    k.s1 = _mm256_setr_pd(1, -1, 1, -1);
    return k;
}

T static inline void bfly2(V *r, V *i, V sign) {
    *r = _mm256_fmadd_pd(*r, sign, _mm256_permute4x64_pd(*r, 0x4E));
    *i = _mm256_fmadd_pd(*i, sign, _mm256_permute4x64_pd(*i, 0x4E));
}
T static inline void bfly1(V *r, V *i, V sign) {
    *r = _mm256_fmadd_pd(*r, sign, _mm256_permute_pd(*r, 0x5));
    *i = _mm256_fmadd_pd(*i, sign, _mm256_permute_pd(*i, 0x5));
}

T static inline void dif_tail4(const Tail *k, V *r, V *i) {
    bfly2(r, i, k->s2);
    cmul(*r, *i, k->r2, k->i2, r, i);
    bfly1(r, i, k->s1);
}
T static inline void dit_tail4(const Tail *k, V *r, V *i) {
    bfly1(r, i, k->s1);
    cmul(*r, *i, k->r2, k->i2, r, i);
    bfly2(r, i, k->s2);
}

T static void dif(const double *t, size_t m, double *re, double *im) {
    const double *wr = CFHE_TW_RE(t, m), *wi = CFHE_TW_IM(t, m);
    int stages = __builtin_ctzll(m) - 2; // stages with half-size >= 4
    size_t h = m / 2;
    for (; stages >= 2 + (stages & 1); stages -= 2, h >>= 2) {
        size_t q = h / 2;
        for (size_t k = 0; k < m; k += 2 * h) {
            for (size_t j = 0; j < q; j += 4) {
                double *r0 = re + k + j, *i0 = im + k + j;
                V x0r = _mm256_loadu_pd(r0), x0i = _mm256_loadu_pd(i0);
                V x1r = _mm256_loadu_pd(r0 + q), x1i = _mm256_loadu_pd(i0 + q);
                V x2r = _mm256_loadu_pd(r0 + h), x2i = _mm256_loadu_pd(i0 + h);
                V x3r = _mm256_loadu_pd(r0 + h + q), x3i = _mm256_loadu_pd(i0 + h + q);
                V y0r = _mm256_add_pd(x0r, x2r), y0i = _mm256_add_pd(x0i, x2i);
                V y1r = _mm256_add_pd(x1r, x3r), y1i = _mm256_add_pd(x1i, x3i);
                V y2r, y2i, y3r, y3i;
                cmul(_mm256_sub_pd(x0r, x2r), _mm256_sub_pd(x0i, x2i), _mm256_loadu_pd(wr + h + j),
                     _mm256_loadu_pd(wi + h + j), &y2r, &y2i);
                cmul(_mm256_sub_pd(x1r, x3r), _mm256_sub_pd(x1i, x3i), _mm256_loadu_pd(wr + h + q + j),
                     _mm256_loadu_pd(wi + h + q + j), &y3r, &y3i);
                V w2r = _mm256_loadu_pd(wr + q + j), w2i = _mm256_loadu_pd(wi + q + j);
                _mm256_storeu_pd(r0, _mm256_add_pd(y0r, y1r));
                _mm256_storeu_pd(i0, _mm256_add_pd(y0i, y1i));
                V zr, zi;
                cmul(_mm256_sub_pd(y0r, y1r), _mm256_sub_pd(y0i, y1i), w2r, w2i, &zr, &zi);
                _mm256_storeu_pd(r0 + q, zr);
                _mm256_storeu_pd(i0 + q, zi);
                _mm256_storeu_pd(r0 + h, _mm256_add_pd(y2r, y3r));
                _mm256_storeu_pd(i0 + h, _mm256_add_pd(y2i, y3i));
                cmul(_mm256_sub_pd(y2r, y3r), _mm256_sub_pd(y2i, y3i), w2r, w2i, &zr, &zi);
                _mm256_storeu_pd(r0 + h + q, zr);
                _mm256_storeu_pd(i0 + h + q, zi);
            }
        }
    }
    Tail k = tail_consts(t, m, 0);
    if (stages == 1) {
        V w4r = _mm256_loadu_pd(wr + 4), w4i = _mm256_loadu_pd(wi + 4);
        for (size_t b = 0; b < m; b += 8) {
            V ar = _mm256_loadu_pd(re + b), ai = _mm256_loadu_pd(im + b);
            V br = _mm256_loadu_pd(re + b + 4), bi = _mm256_loadu_pd(im + b + 4);
            V sr = _mm256_add_pd(ar, br), si = _mm256_add_pd(ai, bi);
            V dr, di;
            cmul(_mm256_sub_pd(ar, br), _mm256_sub_pd(ai, bi), w4r, w4i, &dr, &di);
            dif_tail4(&k, &sr, &si);
            dif_tail4(&k, &dr, &di);
            _mm256_storeu_pd(re + b, sr);
            _mm256_storeu_pd(im + b, si);
            _mm256_storeu_pd(re + b + 4, dr);
            _mm256_storeu_pd(im + b + 4, di);
        }
    } else {
        for (size_t b = 0; b < m; b += 4) {
            V r = _mm256_loadu_pd(re + b), i = _mm256_loadu_pd(im + b);
            dif_tail4(&k, &r, &i);
            _mm256_storeu_pd(re + b, r);
            _mm256_storeu_pd(im + b, i);
        }
    }
}

T static void dit(const double *t, size_t m, double *re, double *im) {
    const double *wr = CFHE_TW_RE(t, m), *wi = CFHE_TW_IM(t, m);
    int stages = __builtin_ctzll(m) - 2;
    Tail k = tail_consts(t, m, 1);
    const V zero = _mm256_setzero_pd();
    size_t h = 4;
    if (stages & 1) {
        V w4r = _mm256_loadu_pd(wr + 4), w4i = _mm256_sub_pd(zero, _mm256_loadu_pd(wi + 4));
        for (size_t b = 0; b < m; b += 8) {
            V ar = _mm256_loadu_pd(re + b), ai = _mm256_loadu_pd(im + b);
            V br = _mm256_loadu_pd(re + b + 4), bi = _mm256_loadu_pd(im + b + 4);
            dit_tail4(&k, &ar, &ai);
            dit_tail4(&k, &br, &bi);
            V vr, vi;
            cmul(br, bi, w4r, w4i, &vr, &vi);
            _mm256_storeu_pd(re + b, _mm256_add_pd(ar, vr));
            _mm256_storeu_pd(im + b, _mm256_add_pd(ai, vi));
            _mm256_storeu_pd(re + b + 4, _mm256_sub_pd(ar, vr));
            _mm256_storeu_pd(im + b + 4, _mm256_sub_pd(ai, vi));
        }
        stages -= 1;
        h = 8;
    } else {
        for (size_t b = 0; b < m; b += 4) {
            V r = _mm256_loadu_pd(re + b), i = _mm256_loadu_pd(im + b);
            dit_tail4(&k, &r, &i);
            _mm256_storeu_pd(re + b, r);
            _mm256_storeu_pd(im + b, i);
        }
    }
    for (; stages >= 2; stages -= 2, h <<= 2) {
        for (size_t k0 = 0; k0 < m; k0 += 4 * h) {
            for (size_t j = 0; j < h; j += 4) {
                double *r0 = re + k0 + j, *i0 = im + k0 + j;
                V w1r = _mm256_loadu_pd(wr + h + j), w1i = _mm256_sub_pd(zero, _mm256_loadu_pd(wi + h + j));
                V x0r = _mm256_loadu_pd(r0), x0i = _mm256_loadu_pd(i0);
                V x1r = _mm256_loadu_pd(r0 + h), x1i = _mm256_loadu_pd(i0 + h);
                V x2r = _mm256_loadu_pd(r0 + 2 * h), x2i = _mm256_loadu_pd(i0 + 2 * h);
                V x3r = _mm256_loadu_pd(r0 + 3 * h), x3i = _mm256_loadu_pd(i0 + 3 * h);
                V vr, vi;
                cmul(x1r, x1i, w1r, w1i, &vr, &vi);
                V y0r = _mm256_add_pd(x0r, vr), y0i = _mm256_add_pd(x0i, vi);
                V y1r = _mm256_sub_pd(x0r, vr), y1i = _mm256_sub_pd(x0i, vi);
                cmul(x3r, x3i, w1r, w1i, &vr, &vi);
                V y2r = _mm256_add_pd(x2r, vr), y2i = _mm256_add_pd(x2i, vi);
                V y3r = _mm256_sub_pd(x2r, vr), y3i = _mm256_sub_pd(x2i, vi);
                V w2r = _mm256_loadu_pd(wr + 2 * h + j), w2i = _mm256_sub_pd(zero, _mm256_loadu_pd(wi + 2 * h + j));
                V w3r = _mm256_loadu_pd(wr + 3 * h + j), w3i = _mm256_sub_pd(zero, _mm256_loadu_pd(wi + 3 * h + j));
                cmul(y2r, y2i, w2r, w2i, &vr, &vi);
                _mm256_storeu_pd(r0, _mm256_add_pd(y0r, vr));
                _mm256_storeu_pd(i0, _mm256_add_pd(y0i, vi));
                _mm256_storeu_pd(r0 + 2 * h, _mm256_sub_pd(y0r, vr));
                _mm256_storeu_pd(i0 + 2 * h, _mm256_sub_pd(y0i, vi));
                cmul(y3r, y3i, w3r, w3i, &vr, &vi);
                _mm256_storeu_pd(r0 + h, _mm256_add_pd(y1r, vr));
                _mm256_storeu_pd(i0 + h, _mm256_add_pd(y1i, vi));
                _mm256_storeu_pd(r0 + 3 * h, _mm256_sub_pd(y1r, vr));
                _mm256_storeu_pd(i0 + 3 * h, _mm256_sub_pd(y1i, vi));
            }
        }
    }
}

/// round(y * 2^64) mod 2^64, ties to even, for a torus value y of any size: the AVX-512 path's
/// conversion without its f64 -> i64 instruction. The fraction f = y - round(y) is exact and
/// f * 2^64 is split into a high and a low 32-bit half; adding 1.5 * 2^52 rounds each to an integer
/// (ties to even, exact below 2^51) whose bits are then that integer plus a constant. Rounding the
/// high half first moves the value by a multiple of 2^32, an even number, so the low half's
/// rounding is the whole value's.
T static inline __m256i fraction_to_torus(V y) {
    const V magic = _mm256_set1_pd(0x1.8p52), two32 = _mm256_set1_pd(0x1p32);
    const __m256i magic_bits = _mm256_castpd_si256(magic);
    V fraction = _mm256_sub_pd(y, _mm256_round_pd(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    V upper = _mm256_mul_pd(fraction, two32);                      // |upper| <= 2^31, exact
    V high = _mm256_add_pd(upper, magic);                          // magic + round(upper)
    V rest = _mm256_sub_pd(upper, _mm256_sub_pd(high, magic));     // exact, within [-1/2, 1/2]
    V low = _mm256_fmadd_pd(rest, two32, magic);                   // magic + round(rest * 2^32)
    __m256i h = _mm256_sub_epi64(_mm256_castpd_si256(high), magic_bits);
    __m256i l = _mm256_sub_epi64(_mm256_castpd_si256(low), magic_bits);
    return _mm256_add_epi64(_mm256_slli_epi64(h, 32), l);
}

/// Exact int64 -> double for |x| < 2^51: AVX2 has no cvtepi64_pd, so add the bit pattern of
/// 1.5 * 2^52 (whose binade has unit spacing) and subtract it again as a double.
T static inline V small_int_to_double(__m256i x) {
    const __m256i magic_bits = _mm256_set1_epi64x(0x4338000000000000ll);
    return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(x, magic_bits)), _mm256_set1_pd(0x1.8p52));
}

/// Requests the share of the n = 2m doubles at `p` that belongs to loop position j of m: the same
/// number of bytes per iteration, so the whole spectrum arrives during one loop.
T static inline void prefetch_lines(const double *p, size_t j, size_t m) {
    if (p == NULL) return;
    // 2m doubles over m/4 iterations: 8 doubles = 1 cache lines per iteration.
    for (size_t line = 0; line < 1; line++) _mm_prefetch((const char *)(p + 2 * j + 8 * line), _MM_HINT_T1);
}

T static inline void twist_store(const double *t, size_t m, size_t j, V a, V b, double *re, double *im) {
    V cr = _mm256_loadu_pd(CFHE_TWIST_RE(t, m) + j), ci = _mm256_loadu_pd(CFHE_TWIST_IM(t, m) + j);
    _mm256_storeu_pd(re + j, _mm256_fmsub_pd(a, cr, _mm256_mul_pd(b, ci)));
    _mm256_storeu_pd(im + j, _mm256_fmadd_pd(a, ci, _mm256_mul_pd(b, cr)));
}

T void cfhe_fft_forward_int_avx2(const double *t, size_t n, const int64_t *in, double *re, double *im,
                          const double *prefetch) {
    size_t m = n / 2;
    for (size_t j = 0; j < m; j += 4) {
        prefetch_lines(prefetch, j, m);
        V a = small_int_to_double(_mm256_loadu_si256((const __m256i *)(in + j)));
        V b = small_int_to_double(_mm256_loadu_si256((const __m256i *)(in + j + m)));
        twist_store(t, m, j, a, b, re, im);
    }
    dif(t, m, re, im);
}

T void cfhe_fft_forward_torus_avx2(const double *t, size_t n, const uint64_t *in, double *re, double *im) {
    size_t m = n / 2;
    for (size_t j = 0; j < m; j += 4) {
        double a[4], b[4];
        for (int l = 0; l < 4; l++) {
            a[l] = (double)(int64_t)in[j + l] * 0x1p-64;
            b[l] = (double)(int64_t)in[j + m + l] * 0x1p-64;
        }
        twist_store(t, m, j, _mm256_loadu_pd(a), _mm256_loadu_pd(b), re, im);
    }
    dif(t, m, re, im);
}

T void cfhe_fft_backward_torus_add_avx2(const double *t, size_t n, double *re, double *im, uint64_t *out,
                                 const double *prefetch) {
    size_t m = n / 2;
    dit(t, m, re, im);
    const double *ur = CFHE_UNTWIST_RE(t, m), *ui = CFHE_UNTWIST_IM(t, m);
    for (size_t j = 0; j < m; j += 4) {
        prefetch_lines(prefetch, j, m);
        V r = _mm256_loadu_pd(re + j), i = _mm256_loadu_pd(im + j);
        V cr = _mm256_loadu_pd(ur + j), ci = _mm256_loadu_pd(ui + j);
        V a = _mm256_fmsub_pd(r, cr, _mm256_mul_pd(i, ci));
        V b = _mm256_fmadd_pd(r, ci, _mm256_mul_pd(i, cr));
        __m256i *lo = (__m256i *)(out + j), *hi = (__m256i *)(out + j + m);
        _mm256_storeu_si256(lo, _mm256_add_epi64(_mm256_loadu_si256(lo), fraction_to_torus(a)));
        _mm256_storeu_si256(hi, _mm256_add_epi64(_mm256_loadu_si256(hi), fraction_to_torus(b)));
    }
}

T void cfhe_f64_to_torus_add_avx2(const double *y, size_t count, uint64_t *out) {
    size_t j = 0;
    for (; j + 4 <= count; j += 4) {
        __m256i *o = (__m256i *)(out + j);
        _mm256_storeu_si256(o, _mm256_add_epi64(_mm256_loadu_si256(o), fraction_to_torus(_mm256_loadu_pd(y + j))));
    }
    for (; j < count; j++) out[j] += cfhe_f64_to_torus(y[j]);
}

/// Both output columns of a k = 1 matrix at once (rows = cols = 2, the shipped sets' shape): the two
/// digit spectra are loaded once for both columns, with all four sums in registers. Each column
/// still sums its rows in order 0, 1, so the bytes are those of the one-column loop. The general
/// loop with positions outer was measured instead and gains nothing (both columns 1.85x one
/// column, against 1.42x here), because its row and column counts are not known to the compiler.
T static void fourier_mac_two_by_two(size_t m, const double *f, const double *g, double *acc, int accumulate) {
    const double *f0 = f, *f1 = f + 2 * m;
    const double *g00 = g, *g01 = g + 2 * m, *g10 = g + 4 * m, *g11 = g + 6 * m;
    double *a0 = acc, *a1 = acc + 2 * m;
    for (size_t j = 0; j < m; j += 4) {
        V s0r = accumulate ? _mm256_loadu_pd(a0 + j) : _mm256_setzero_pd();
        V s0i = accumulate ? _mm256_loadu_pd(a0 + m + j) : _mm256_setzero_pd();
        V s1r = accumulate ? _mm256_loadu_pd(a1 + j) : _mm256_setzero_pd();
        V s1i = accumulate ? _mm256_loadu_pd(a1 + m + j) : _mm256_setzero_pd();
        V xr = _mm256_loadu_pd(f0 + j), xi = _mm256_loadu_pd(f0 + m + j);
        V yr = _mm256_loadu_pd(g00 + j), yi = _mm256_loadu_pd(g00 + m + j);
        s0r = _mm256_fmadd_pd(xr, yr, _mm256_fnmadd_pd(xi, yi, s0r));
        s0i = _mm256_fmadd_pd(xr, yi, _mm256_fmadd_pd(xi, yr, s0i));
        yr = _mm256_loadu_pd(g01 + j), yi = _mm256_loadu_pd(g01 + m + j);
        s1r = _mm256_fmadd_pd(xr, yr, _mm256_fnmadd_pd(xi, yi, s1r));
        s1i = _mm256_fmadd_pd(xr, yi, _mm256_fmadd_pd(xi, yr, s1i));
        xr = _mm256_loadu_pd(f1 + j), xi = _mm256_loadu_pd(f1 + m + j);
        yr = _mm256_loadu_pd(g10 + j), yi = _mm256_loadu_pd(g10 + m + j);
        s0r = _mm256_fmadd_pd(xr, yr, _mm256_fnmadd_pd(xi, yi, s0r));
        s0i = _mm256_fmadd_pd(xr, yi, _mm256_fmadd_pd(xi, yr, s0i));
        yr = _mm256_loadu_pd(g11 + j), yi = _mm256_loadu_pd(g11 + m + j);
        s1r = _mm256_fmadd_pd(xr, yr, _mm256_fnmadd_pd(xi, yi, s1r));
        s1i = _mm256_fmadd_pd(xr, yi, _mm256_fmadd_pd(xi, yr, s1i));
        _mm256_storeu_pd(a0 + j, s0r);
        _mm256_storeu_pd(a0 + m + j, s0i);
        _mm256_storeu_pd(a1 + j, s1r);
        _mm256_storeu_pd(a1 + m + j, s1i);
    }
}

T void cfhe_fourier_mac_avx2(size_t m, size_t rows, size_t cols, size_t first, size_t count, const double *f,
                             const double *g, double *acc, int accumulate) {
    if (rows == 2 && cols == 2 && first == 0 && count == 2) {
        fourier_mac_two_by_two(m, f, g, acc, accumulate);
        return;
    }
    for (size_t c = first; c < first + count; c++) {
        double *ar = acc + 2 * m * (c - first), *ai = ar + m;
        for (size_t j = 0; j < m; j += 4) {
            V sr = accumulate ? _mm256_loadu_pd(ar + j) : _mm256_setzero_pd();
            V si = accumulate ? _mm256_loadu_pd(ai + j) : _mm256_setzero_pd();
            for (size_t r = 0; r < rows; r++) {
                const double *fr = f + 2 * m * r, *gr = g + 2 * m * (r * cols + c);
                V xr = _mm256_loadu_pd(fr + j), xi = _mm256_loadu_pd(fr + m + j);
                V yr = _mm256_loadu_pd(gr + j), yi = _mm256_loadu_pd(gr + m + j);
                sr = _mm256_fmadd_pd(xr, yr, _mm256_fnmadd_pd(xi, yi, sr));
                si = _mm256_fmadd_pd(xr, yi, _mm256_fmadd_pd(xi, yr, si));
            }
            _mm256_storeu_pd(ar + j, sr);
            _mm256_storeu_pd(ai + j, si);
        }
    }
}
#endif

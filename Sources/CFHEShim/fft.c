// Negacyclic FFT: tables, the scalar reference path, and dispatch to the SIMD files.
//
// Forward: fold + twist, then radix-2 decimation in frequency (natural order in, bit-reversed out).
// Inverse: radix-2 decimation in time (bit-reversed in, natural out), then untwist + unfold.
// Skipping both bit-reversal permutations is what makes the pair cheap; spectra are only ever
// multiplied pointwise, so their order is irrelevant as long as it is the same everywhere.
//
// Bit-exact on every path: the scalar reference performs, for every output, the same IEEE-754
// operations in the same order as the AVX2 and AVX-512 kernels — the same butterflies (their
// paired radix-4 stages are two radix-2 stages computed in registers), and the same fused
// multiply-adds: a complex product is re = fma(ar, br, -(ai*bi)), im = fma(ar, bi, ai*br), a
// Fourier multiply-accumulate is acc = fma(xr, yr, fma(-xi, yi, acc)) and fma(xr, yi, fma(xi, yr,
// acc)). C's fma() rounds once, as the vector instructions do, so every machine computes the same
// bytes for the same evaluation (threshold custody compares them).
#include "internal.h"
#include <math.h>

/// The complex product of every path: two roundings per component, in this order.
static inline void cmul_scalar(double ar, double ai, double br, double bi, double *or_, double *oi) {
    *or_ = fma(ar, br, -(ai * bi));
    *oi = fma(ar, bi, ai * br);
}

size_t cfhe_fft_table_len(size_t n) { return 3 * n; }

void cfhe_fft_table_init(double *t, size_t n) {
    size_t m = n / 2;
    const double pi = 3.14159265358979323846264338327950288;
    t[0] = 1.0;
    t[m] = 0.0;
    for (size_t h = 1; h < m; h <<= 1) {
        for (size_t j = 0; j < h; j++) {
            // exp(-2 pi i j / (2h)); long double keeps the table correctly rounded for big sizes.
            long double a = (long double)pi * (long double)j / (long double)h;
            CFHE_TW_RE(t, m)[h + j] = (double)cosl(a);
            CFHE_TW_IM(t, m)[h + j] = (double)-sinl(a);
        }
    }
    long double scale = 1.0L / (long double)m;
    for (size_t j = 0; j < m; j++) {
        long double a = (long double)pi * (long double)j / (long double)n;
        CFHE_TWIST_RE(t, m)[j] = (double)cosl(a);
        CFHE_TWIST_IM(t, m)[j] = (double)sinl(a);
        CFHE_UNTWIST_RE(t, m)[j] = (double)(cosl(a) * scale);
        CFHE_UNTWIST_IM(t, m)[j] = (double)(-sinl(a) * scale);
    }
}

size_t cfhe_fft_bitrev_index(size_t k, size_t m) {
    size_t r = 0;
    for (size_t bit = 1; bit < m; bit <<= 1) {
        r = (r << 1) | (k & 1);
        k >>= 1;
    }
    return r;
}

// MARK: - Scalar reference

static void dif_scalar(const double *t, size_t m, double *re, double *im) {
    const double *twr = CFHE_TW_RE(t, m), *twi = CFHE_TW_IM(t, m);
    for (size_t h = m / 2; h >= 1; h >>= 1) {
        for (size_t k = 0; k < m; k += 2 * h) {
            for (size_t j = 0; j < h; j++) {
                double wr = twr[h + j], wi = twi[h + j];
                double ur = re[k + j], ui = im[k + j], vr = re[k + j + h], vi = im[k + j + h];
                re[k + j] = ur + vr;
                im[k + j] = ui + vi;
                cmul_scalar(ur - vr, ui - vi, wr, wi, &re[k + j + h], &im[k + j + h]);
            }
        }
    }
}

static void dit_scalar(const double *t, size_t m, double *re, double *im) {
    const double *twr = CFHE_TW_RE(t, m), *twi = CFHE_TW_IM(t, m);
    for (size_t h = 1; h < m; h <<= 1) {
        for (size_t k = 0; k < m; k += 2 * h) {
            for (size_t j = 0; j < h; j++) {
                double wr = twr[h + j], wi = -twi[h + j];
                double vr, vi;
                cmul_scalar(re[k + j + h], im[k + j + h], wr, wi, &vr, &vi);
                double ur = re[k + j], ui = im[k + j];
                re[k + j] = ur + vr;
                im[k + j] = ui + vi;
                re[k + j + h] = ur - vr;
                im[k + j + h] = ui - vi;
            }
        }
    }
}

static void forward_int_scalar(const double *t, size_t n, const int64_t *in, double *re, double *im,
                               const double *prefetch) {
    (void)prefetch; // the reference path leaves memory to the hardware
    size_t m = n / 2;
    const double *cr = CFHE_TWIST_RE(t, m), *ci = CFHE_TWIST_IM(t, m);
    for (size_t j = 0; j < m; j++) {
        double a = (double)in[j], b = (double)in[j + m];
        cmul_scalar(a, b, cr[j], ci[j], &re[j], &im[j]);
    }
    dif_scalar(t, m, re, im);
}

static void forward_torus_scalar(const double *t, size_t n, const uint64_t *in, double *re, double *im) {
    size_t m = n / 2;
    const double *cr = CFHE_TWIST_RE(t, m), *ci = CFHE_TWIST_IM(t, m);
    const double s = 0x1p-64;
    for (size_t j = 0; j < m; j++) {
        double a = (double)(int64_t)in[j] * s, b = (double)(int64_t)in[j + m] * s;
        cmul_scalar(a, b, cr[j], ci[j], &re[j], &im[j]);
    }
    dif_scalar(t, m, re, im);
}

static void backward_torus_add_scalar(const double *t, size_t n, double *re, double *im, uint64_t *out,
                                      const double *prefetch) {
    (void)prefetch;
    size_t m = n / 2;
    dit_scalar(t, m, re, im);
    const double *cr = CFHE_UNTWIST_RE(t, m), *ci = CFHE_UNTWIST_IM(t, m);
    for (size_t j = 0; j < m; j++) {
        double a, b;
        cmul_scalar(re[j], im[j], cr[j], ci[j], &a, &b);
        out[j] += cfhe_f64_to_torus(a);
        out[j + m] += cfhe_f64_to_torus(b);
    }
}

static void fourier_mac_scalar(size_t m, size_t rows, size_t cols, size_t first, size_t count, const double *f,
                               const double *g, double *acc, int accumulate) {
    for (size_t c = first; c < first + count; c++) {
        double *ar = acc + 2 * m * (c - first), *ai = ar + m;
        if (!accumulate) {
            memset(ar, 0, 2 * m * sizeof(double));
        }
        for (size_t r = 0; r < rows; r++) {
            const double *fr = f + 2 * m * r, *fi = fr + m;
            const double *gr = g + 2 * m * (r * cols + c), *gi = gr + m;
            for (size_t j = 0; j < m; j++) {
                ar[j] = fma(fr[j], gr[j], fma(-fi[j], gi[j], ar[j]));
                ai[j] = fma(fr[j], gi[j], fma(fi[j], gr[j], ai[j]));
            }
        }
    }
}

// MARK: - Dispatch

void cfhe_fft_forward_int(const double *t, size_t n, const int64_t *in, double *re, double *im,
                          const double *prefetch) {
    switch (cfhe_isa_level) {
    case CFHE_ISA_AVX512: cfhe_fft_forward_int_avx512(t, n, in, re, im, prefetch); return;
    case CFHE_ISA_AVX2: cfhe_fft_forward_int_avx2(t, n, in, re, im, prefetch); return;
    default: (void)prefetch; forward_int_scalar(t, n, in, re, im, NULL);
    }
}

void cfhe_fft_forward_torus(const double *t, size_t n, const uint64_t *in, double *re, double *im) {
    switch (cfhe_isa_level) {
    case CFHE_ISA_AVX512: cfhe_fft_forward_torus_avx512(t, n, in, re, im); return;
    case CFHE_ISA_AVX2: cfhe_fft_forward_torus_avx2(t, n, in, re, im); return;
    default: forward_torus_scalar(t, n, in, re, im);
    }
}

void cfhe_fft_backward_torus_add(const double *t, size_t n, double *re, double *im, uint64_t *out,
                                 const double *prefetch) {
    switch (cfhe_isa_level) {
    case CFHE_ISA_AVX512: cfhe_fft_backward_torus_add_avx512(t, n, re, im, out, prefetch); return;
    case CFHE_ISA_AVX2: cfhe_fft_backward_torus_add_avx2(t, n, re, im, out, prefetch); return;
    default: backward_torus_add_scalar(t, n, re, im, out, NULL);
    }
}

void cfhe_f64_to_torus_add(const double *y, size_t count, uint64_t *out) {
    switch (cfhe_isa_level) {
    case CFHE_ISA_AVX512: cfhe_f64_to_torus_add_avx512(y, count, out); return;
    case CFHE_ISA_AVX2: cfhe_f64_to_torus_add_avx2(y, count, out); return;
    default:
        for (size_t j = 0; j < count; j++) out[j] += cfhe_f64_to_torus(y[j]);
    }
}

void cfhe_fourier_mac_columns(size_t m, size_t rows, size_t cols, size_t first, size_t count, const double *f,
                              const double *g, double *acc, int accumulate) {
    switch (cfhe_isa_level) {
    case CFHE_ISA_AVX512: cfhe_fourier_mac_avx512(m, rows, cols, first, count, f, g, acc, accumulate); return;
    case CFHE_ISA_AVX2: cfhe_fourier_mac_avx2(m, rows, cols, first, count, f, g, acc, accumulate); return;
    default: fourier_mac_scalar(m, rows, cols, first, count, f, g, acc, accumulate);
    }
}

void cfhe_fourier_mac(size_t m, size_t rows, size_t cols, const double *f, const double *g, double *acc,
                      int accumulate) {
    cfhe_fourier_mac_columns(m, rows, cols, 0, cols, f, g, acc, accumulate);
}

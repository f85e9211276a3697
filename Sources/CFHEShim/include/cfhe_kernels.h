// CFHEShim kernels: the flat C kernels under FHECore.
//
// Why C: these loops are the hot path of programmable bootstrapping (negacyclic FFT, Fourier
// multiply-accumulate, gadget decomposition, keyswitch). Swift cannot name AVX-512/FMA intrinsics
// portably, and in debug builds its SIMD code is 150x slower; this target is compiled -O3 in every
// configuration. Each kernel has a portable scalar reference and AVX2+FMA / AVX-512 variants that
// are selected once at load time (cfhe_isa_*), so one binary runs on any x86-64.
//
// Rules for everything declared here: no allocation, no error codes, no decisions about
// parameters. Callers (FHECore) validate shapes before calling. Pointers must not alias unless a
// comment says so. Lengths are element counts.
#ifndef CFHE_KERNELS_H
#define CFHE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Instruction-set dispatch

/// Instruction-set levels. Higher levels include the lower ones.
enum {
    CFHE_ISA_SCALAR = 0,  ///< portable C, the reference path
    CFHE_ISA_AVX2 = 1,    ///< AVX2 + FMA
    CFHE_ISA_AVX512 = 2,  ///< AVX-512 F/DQ/VL/BW
};

/// The best level this CPU supports.
int cfhe_isa_detected(void);
/// The level kernels currently use on the calling thread.
int cfhe_isa_active(void);
/// On the calling thread only, use at most `level` (clamped to what the CPU supports; -1 returns
/// to the process level); returns the level now active on this thread. For tests and benchmarks
/// that compare paths on one thread.
int cfhe_isa_force(int level);
/// For the whole process (every thread without a forced level), use at most `level`, clamped to
/// what the CPU supports; returns the level set. At load time the level is the detected one, capped
/// by SYPHON_ISA=scalar|avx2|avx512 when that is set.
int cfhe_isa_limit(int level);
/// The level SYPHON_ISA names: -1 when unset, -2 when it names none.
int cfhe_isa_from_environment(void);

// CPUs this process may run on (its affinity mask on Linux, else the online count), at least 1.
int cfhe_available_cpus(void);
/// Returns freed heap pages to the system (glibc's malloc_trim over every arena); 1 when some were
/// released, 0 otherwise or where the C library has no such call.
int cfhe_release_free_memory(void);

// MARK: - Negacyclic FFT
//
// A polynomial of size n (a power of two, 32 <= n <= 65536) over Z[X]/(X^n + 1) maps to m = n/2
// complex values: fold (p_j + i p_{j+m}), twist by e^{i pi j / n}, then an m-point DFT with
// exponent -2 pi i. This is the convention of tfhe-rs/concrete-fft (spec §4.3.3). The spectrum is
// kept in bit-reversed order (decimation in frequency without the final permutation); the pointwise
// product does not care, and cfhe_fft_bitrev_index maps to natural order for serialization.
// Spectra are split: re[m] and im[m].

/// Doubles needed for the precomputed tables of size n.
size_t cfhe_fft_table_len(size_t n);
/// Fills `table` (cfhe_fft_table_len(n) doubles) for polynomial size n.
void cfhe_fft_table_init(double *table, size_t n);
/// Bit reversal of k over log2(m) bits: position of natural-order coefficient k in our spectrum.
size_t cfhe_fft_bitrev_index(size_t k, size_t m);

/// Forward transform of an integer polynomial (small signed coefficients, |c| < 2^51).
/// `prefetch`, when not NULL, names n doubles (one spectrum of the next bootstrap-key GGSW) to pull
/// into L2 while this transform runs: the key is larger than L3, and requesting it at a steady
/// rate across each blind-rotation step hides the DRAM latency that a burst at the point of use
/// cannot. The backward transform takes the same hint.
void cfhe_fft_forward_int(const double *table, size_t n, const int64_t *in, double *re, double *im,
                          const double *prefetch);
/// Forward transform of a torus polynomial: coefficients read as signed 64-bit, scaled by 2^-64.
void cfhe_fft_forward_torus(const double *table, size_t n, const uint64_t *in, double *re, double *im);
/// Inverse transform to the torus, added into out: out_j += round(y_j * 2^64) mod 2^64 where y is
/// the inverse of (re, im). re and im are used as scratch and destroyed.
void cfhe_fft_backward_torus_add(const double *table, size_t n, double *re, double *im, uint64_t *out,
                                 const double *prefetch);
/// The backward transform's last step on its own: out_j += round(y_j * 2^64) mod 2^64, nearest with
/// ties to even, for finite y_j of any size. The same residue on every kernel, halves included.
void cfhe_f64_to_torus_add(const double *y, size_t count, uint64_t *out);

/// Fourier external-product accumulation for one GGSW level matrix:
///   acc[c] (+)= sum_r f[r] (.) ggsw[r][c]   for c < cols, r < rows
/// Every polynomial is m complex values stored as re[m] then im[m] (2m doubles).
/// f: rows polynomials; ggsw: rows*cols polynomials, row-major; acc: cols polynomials.
/// If `accumulate` is 0 acc is overwritten, otherwise added to.
void cfhe_fourier_mac(size_t m, size_t rows, size_t cols, const double *f, const double *ggsw,
                      double *acc, int accumulate);
/// The same for output columns first ..< first + count only; acc holds those `count` polynomials.
/// Each column is summed over r in the same order as cfhe_fourier_mac does, so the two threads of
/// a paired blind rotation (one column each) produce exactly the bytes of one thread doing both.
void cfhe_fourier_mac_columns(size_t m, size_t rows, size_t cols, size_t first, size_t count, const double *f,
                              const double *ggsw, double *acc, int accumulate);

// MARK: - Torus polynomials (coefficients mod 2^64)

/// a += b (wrapping), n words.
void cfhe_poly_add_assign(uint64_t *a, const uint64_t *b, size_t n);
/// a -= b (wrapping), n words.
void cfhe_poly_sub_assign(uint64_t *a, const uint64_t *b, size_t n);
/// out = in * X^k in Z[X]/(X^n + 1), 0 <= k < 2n.
void cfhe_poly_mul_monomial(uint64_t *out, const uint64_t *in, size_t n, size_t k);
/// out = in * X^k - in (the CMux difference of blind rotation), 0 <= k < 2n.
void cfhe_poly_mul_monomial_sub(uint64_t *out, const uint64_t *in, size_t n, size_t k);
/// acc += a * s (negacyclic) where s has coefficients in {0, 1}. Runs in time independent of s
/// (s is secret key material).
void cfhe_poly_mul_binary_add(uint64_t *acc, const uint64_t *a, const uint64_t *s, size_t n);
/// sum_i a[i] * s[i] (wrapping) for a binary s; constant time in s.
uint64_t cfhe_dot_binary(const uint64_t *a, const uint64_t *s, size_t n);

// MARK: - Gadget decomposition

/// Signed gadget decomposition with rounding to the closest representable value (spec §7.3):
/// for each x = in[t], digits d_1..d_L in [-B/2, B/2] (B = 2^base_log) with
///   sum_l d_l * 2^(64 - base_log*l) = x rounded to its top base_log*levels bits.
/// out[(l-1)*n + t] = d_l, level 1 (most significant) first. base_log*levels < 64.
void cfhe_decompose(const uint64_t *in, size_t n, uint32_t base_log, uint32_t levels, int64_t *out);
/// cfhe_decompose of in * X^k - in (0 <= k < 2n, negacyclic), the CMux difference, in one pass:
/// the same digits as cfhe_poly_mul_monomial_sub followed by cfhe_decompose.
void cfhe_decompose_monomial_difference(const uint64_t *in, size_t n, size_t k, uint32_t base_log, uint32_t levels,
                                        int64_t *out);

// MARK: - LWE keyswitch and modulus switch
//
// The keyswitch key and the keyswitch output keep only the top 32 bits of each torus word. The
// output is only ever modulus-switched to 2N <= 2^13 afterwards, and rounding every key word to 32
// bits adds an error of about 2^38 against keyswitch noise of about 2^55 (docs/parameters.md);
// in exchange the key is half as large (30 MB instead of 61 MB for tfhe-rs 0.5) and the
// arithmetic uses 32-bit lanes, twice as many per vector.

/// Keyswitch of one LWE ciphertext `in` (in_dimension mask words then the body, full 64-bit):
///   out = (0,...,0, top32(body)) - sum_i sum_l d_{i,l} * ksk[i][l]   (mod 2^32)
/// where d_{i,l} decomposes in[i] (base_log, levels) and row (i, l) (out_size words: mask then
/// body, top 32 bits) is at ksk[(i*levels + l-1) * out_size], level 1 first.
void cfhe_keyswitch(uint32_t *out, size_t out_size, const uint64_t *in, size_t in_dimension, const uint32_t *ksk,
                    uint32_t base_log, uint32_t levels);
/// The same for `count` ciphertexts in one pass over the key: in[c] at in + c*in_stride, out[c]
/// at out + c*out_size. The key is read once per batch instead of once per ciphertext.
void cfhe_keyswitch_batch(uint32_t *out, size_t out_size, const uint64_t *in, size_t in_stride,
                          size_t in_dimension, size_t count, const uint32_t *ksk, uint32_t base_log,
                          uint32_t levels);
/// The share of mask coefficients first ..< first + coefficients of cfhe_keyswitch_batch, with the
/// rounded bodies when with_body is not 0: for each of the `count` ciphertexts,
///   out = [with_body] (0,...,0, top32(body)) - sum_{first <= i < first + coefficients} sum_l d_{i,l} * ksk[i][l]
/// Shares over disjoint ranges covering the mask, exactly one with the bodies, add up (mod 2^32, in
/// any order) to exactly cfhe_keyswitch_batch's output, so threads can each stream a part of the
/// key for the whole batch (a paired bootstrap, a round of a few bootstraps).
void cfhe_keyswitch_share(uint32_t *out, size_t out_size, const uint64_t *in, size_t in_stride, size_t in_dimension,
                          size_t count, size_t first, size_t coefficients, int with_body, const uint32_t *ksk,
                          uint32_t base_log, uint32_t levels);
/// out[t] = round(in[t] / 2^32) (mod 2^32): the key-word rounding used when storing a keyswitch key.
void cfhe_torus_to_top32(const uint64_t *in, size_t count, uint32_t *out);
/// Modulus switch of 32-bit torus words to 2n: out[t] = round(in[t] * 2n / 2^32) (ties up), in
/// [0, 2n]. log2_2n = log2(2n) <= 31.
void cfhe_modulus_switch(const uint32_t *in, size_t count, uint32_t log2_2n, uint32_t *out);
/// Centred modulus switch of `count` LWE ciphertexts under a binary key (each `size` words: mask
/// then body, 32-bit torus; ciphertext c at in + c*size): the mask words switch as above; the body
/// first absorbs half the mask's rounding errors, sum_i (round(a_i) - a_i) / 2, the expected value
/// of the error sum_i (round(a_i) - a_i) * s_i for a key of mean 1/2, so only
/// sum_i (round(a_i) - a_i) * (s_i - 1/2) remains: half the variance of the plain switch. The
/// correction uses public data only. out has the same layout, values in [0, 2n].
void cfhe_modulus_switch_centered(const uint32_t *in, size_t size, size_t count, uint32_t log2_2n, uint32_t *out);

#ifdef __cplusplus
}
#endif
#endif

// Torus polynomial kernels over Z_{2^64}[X]/(X^n + 1). Each loop is written once as an
// always-inline body and compiled for scalar, AVX2 and AVX-512 by CFHE_MULTIVERSION.
#include "internal.h"

CFHE_INLINE void poly_add_assign_body(uint64_t *restrict a, const uint64_t *restrict b, size_t n) {
    for (size_t i = 0; i < n; i++) a[i] += b[i];
}
CFHE_MULTIVERSION(void, poly_add_assign, (uint64_t *restrict a, const uint64_t *restrict b, size_t n), (a, b, n))

CFHE_INLINE void poly_sub_assign_body(uint64_t *restrict a, const uint64_t *restrict b, size_t n) {
    for (size_t i = 0; i < n; i++) a[i] -= b[i];
}
CFHE_MULTIVERSION(void, poly_sub_assign, (uint64_t *restrict a, const uint64_t *restrict b, size_t n), (a, b, n))

/// Shared by the two monomial kernels: out = in * X^k (minus in when `subtract_input`).
/// X^n = -1, so a shift by k >= n is a shift by k - n with every sign flipped; the sign is applied
/// as (x ^ mask) - mask to keep the loops branch-free.
CFHE_INLINE void monomial_body(uint64_t *restrict out, const uint64_t *restrict in, size_t n, size_t k,
                               int subtract_input) {
    uint64_t flip = 0;
    if (k >= n) { k -= n; flip = ~(uint64_t)0; }
    uint64_t wrapped = ~flip; // coefficients that wrap past X^n change sign once more
    for (size_t t = 0; t < k; t++) {
        uint64_t v = (in[t + n - k] ^ wrapped) - wrapped;
        out[t] = subtract_input ? v - in[t] : v;
    }
    for (size_t t = k; t < n; t++) {
        uint64_t v = (in[t - k] ^ flip) - flip;
        out[t] = subtract_input ? v - in[t] : v;
    }
}
CFHE_INLINE void poly_mul_monomial_body(uint64_t *restrict out, const uint64_t *restrict in, size_t n, size_t k) {
    monomial_body(out, in, n, k, 0);
}
CFHE_MULTIVERSION(void, poly_mul_monomial, (uint64_t *restrict out, const uint64_t *restrict in, size_t n, size_t k),
                  (out, in, n, k))
CFHE_INLINE void poly_mul_monomial_sub_body(uint64_t *restrict out, const uint64_t *restrict in, size_t n, size_t k) {
    monomial_body(out, in, n, k, 1);
}
CFHE_MULTIVERSION(void, poly_mul_monomial_sub,
                  (uint64_t *restrict out, const uint64_t *restrict in, size_t n, size_t k), (out, in, n, k))

CFHE_INLINE void poly_mul_binary_add_body(uint64_t *restrict acc, const uint64_t *restrict a,
                                          const uint64_t *restrict s, size_t n) {
    for (size_t j = 0; j < n; j++) {
        uint64_t mask = (uint64_t)0 - (s[j] & 1); // all ones iff s_j = 1, no branch on the key
        for (size_t t = 0; t < j; t++) acc[t] -= a[t + n - j] & mask;
        for (size_t t = j; t < n; t++) acc[t] += a[t - j] & mask;
    }
}
CFHE_MULTIVERSION(void, poly_mul_binary_add,
                  (uint64_t *restrict acc, const uint64_t *restrict a, const uint64_t *restrict s, size_t n),
                  (acc, a, s, n))

CFHE_INLINE uint64_t dot_binary_body(const uint64_t *restrict a, const uint64_t *restrict s, size_t n) {
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += a[i] & ((uint64_t)0 - (s[i] & 1));
    return sum;
}
CFHE_MULTIVERSION(uint64_t, dot_binary, (const uint64_t *restrict a, const uint64_t *restrict s, size_t n), (a, s, n))

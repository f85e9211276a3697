// Signed gadget decomposition (spec §7.3), the LWE keyswitch built on it, and the modulus switch.
#include "internal.h"

/// Digit l (1 = most significant) of x for base 2^base_log and `levels` levels, written to
/// out[(l-1) * stride]. Rounds x to its top base_log*levels bits (ties up), then peels balanced
/// digits from the least significant level, carrying when a digit exceeds B/2 (or equals it and
/// the next digit's top bit is set), exactly as tfhe-rs does.
CFHE_INLINE void decompose_one(uint64_t x, uint32_t base_log, uint32_t levels, int64_t *out, size_t stride) {
    uint32_t bits = base_log * levels;
    uint64_t state = ((x >> (63 - bits)) + 1) >> 1;
    state &= (bits == 64) ? ~(uint64_t)0 : ((1ull << bits) - 1);
    const uint64_t mask = (1ull << base_log) - 1;
    for (uint32_t l = levels; l >= 1; l--) {
        uint64_t res = state & mask;
        state >>= base_log;
        uint64_t carry = ((((res - 1) | state) & res) >> (base_log - 1)) & 1;
        state += carry;
        out[(size_t)(l - 1) * stride] = (int64_t)res - (int64_t)(carry << base_log);
    }
}

CFHE_INLINE void decompose_body(const uint64_t *restrict in, size_t n, uint32_t base_log, uint32_t levels,
                                int64_t *restrict out) {
    for (size_t t = 0; t < n; t++) decompose_one(in[t], base_log, levels, out + t, n);
}
CFHE_MULTIVERSION(void, decompose,
                  (const uint64_t *restrict in, size_t n, uint32_t base_log, uint32_t levels, int64_t *restrict out),
                  (in, n, base_log, levels, out))

/// out -= sum_l d_l * ksk_row(i, l) for one input coefficient; the rows of one coefficient are
/// contiguous, so a batch reuses them from cache.
CFHE_INLINE void keyswitch_coefficient(uint64_t *restrict out, size_t out_size, uint64_t a,
                                       const uint64_t *restrict rows, uint32_t base_log, uint32_t levels) {
    int64_t digits[64];
    decompose_one(a, base_log, levels, digits, 1);
    for (uint32_t l = 0; l < levels; l++) {
        uint64_t d = (uint64_t)digits[l];
        const uint64_t *restrict row = rows + (size_t)l * out_size;
        for (size_t t = 0; t < out_size; t++) out[t] -= d * row[t];
    }
}

CFHE_INLINE void keyswitch_batch_body(uint64_t *restrict out, size_t out_size, const uint64_t *restrict in,
                                      size_t in_stride, size_t in_dimension, size_t count,
                                      const uint64_t *restrict ksk, uint32_t base_log, uint32_t levels) {
    for (size_t c = 0; c < count; c++) {
        uint64_t *o = out + c * out_size;
        memset(o, 0, (out_size - 1) * sizeof(uint64_t));
        o[out_size - 1] = in[c * in_stride + in_dimension];
    }
    for (size_t i = 0; i < in_dimension; i++) {
        const uint64_t *rows = ksk + i * (size_t)levels * out_size;
        for (size_t c = 0; c < count; c++)
            keyswitch_coefficient(out + c * out_size, out_size, in[c * in_stride + i], rows, base_log, levels);
    }
}
CFHE_MULTIVERSION(void, keyswitch_batch,
                  (uint64_t *restrict out, size_t out_size, const uint64_t *restrict in, size_t in_stride,
                   size_t in_dimension, size_t count, const uint64_t *restrict ksk, uint32_t base_log,
                   uint32_t levels),
                  (out, out_size, in, in_stride, in_dimension, count, ksk, base_log, levels))

CFHE_INLINE void keyswitch_body(uint64_t *restrict out, size_t out_size, const uint64_t *restrict in_mask,
                                size_t in_dimension, uint64_t in_body, const uint64_t *restrict ksk,
                                uint32_t base_log, uint32_t levels) {
    memset(out, 0, (out_size - 1) * sizeof(uint64_t));
    out[out_size - 1] = in_body;
    for (size_t i = 0; i < in_dimension; i++)
        keyswitch_coefficient(out, out_size, in_mask[i], ksk + i * (size_t)levels * out_size, base_log, levels);
}
CFHE_MULTIVERSION(void, keyswitch,
                  (uint64_t *restrict out, size_t out_size, const uint64_t *restrict in_mask, size_t in_dimension,
                   uint64_t in_body, const uint64_t *restrict ksk, uint32_t base_log, uint32_t levels),
                  (out, out_size, in_mask, in_dimension, in_body, ksk, base_log, levels))

CFHE_INLINE void modulus_switch_body(const uint64_t *restrict in, size_t count, uint32_t log2_2n,
                                     uint32_t *restrict out) {
    for (size_t t = 0; t < count; t++) out[t] = (uint32_t)(((in[t] >> (63 - log2_2n)) + 1) >> 1);
}
CFHE_MULTIVERSION(void, modulus_switch, (const uint64_t *restrict in, size_t count, uint32_t log2_2n, uint32_t *restrict out),
                  (in, count, log2_2n, out))

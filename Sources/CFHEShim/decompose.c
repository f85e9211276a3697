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

enum { DECOMPOSE_CHUNK = 64 };

/// The levels of one chunk whose rounded states (top base_log*levels bits) are in `state`: level l
/// goes to out[(l-1) * n + t]. Each level is one straight loop over the chunk, which vectorises.
CFHE_INLINE void decompose_chunk(uint64_t *restrict state, size_t len, uint32_t base_log, uint32_t levels,
                                 int64_t *restrict out, size_t n) {
    const uint64_t mask = (1ull << base_log) - 1;
    for (uint32_t l = levels; l >= 1; l--) {
        int64_t *restrict o = out + (size_t)(l - 1) * n;
        for (size_t t = 0; t < len; t++) {
            uint64_t res = state[t] & mask;
            uint64_t next = state[t] >> base_log;
            uint64_t carry = ((((res - 1) | next) & res) >> (base_log - 1)) & 1;
            state[t] = next + carry;
            o[t] = (int64_t)res - (int64_t)(carry << base_log);
        }
    }
}

/// x rounded to its top `bits` bits (ties up), as decompose_one starts.
CFHE_INLINE uint64_t decompose_state(uint64_t x, uint32_t bits, uint64_t top_mask) {
    return (((x >> (63 - bits)) + 1) >> 1) & top_mask;
}

/// The digit of a one-level decomposition: decompose_chunk with no next digit, so the carry is set
/// exactly when res exceeds B/2 (B/2 itself stays positive). One comparison instead of the level loop
/// and its state array: the PBS decomposes with one level.
CFHE_INLINE int64_t single_level_digit(uint64_t res, uint32_t base_log) {
    uint64_t carry = ((1ull << (base_log - 1)) - res) >> 63;
    return (int64_t)res - (int64_t)(carry << base_log);
}

/// Coefficient t of the polynomial to decompose: in[src] with `sign` applied ((x ^ s) - s negates
/// when s is all ones), minus in[t] for the CMux difference.
CFHE_INLINE uint64_t decompose_input(const uint64_t *restrict in, size_t t, size_t src, uint64_t sign, int difference) {
    uint64_t rotated = (in[src] ^ sign) - sign;
    return difference ? rotated - in[t] : rotated;
}

/// Vectorisable form of decompose_one over a polynomial: of in itself (difference = 0, k = 0), or
/// of the CMux difference in * X^k - in (difference = 1, 0 <= k < 2n) without storing it — the
/// rotation is read in place (X^n = -1, so coefficients that wrap past X^n change sign once more),
/// which saves a write and a read of the whole polynomial per column of every CMux. Several levels
/// go through chunks of 64 coefficients whose state stays in a local array; one level, the PBS's,
/// needs no state.
CFHE_INLINE void decompose_rotated_body(const uint64_t *restrict in, size_t n, size_t k, int difference,
                                        uint32_t base_log, uint32_t levels, int64_t *restrict out) {
    uint64_t state[DECOMPOSE_CHUNK];
    const uint32_t bits = base_log * levels;
    const uint64_t top_mask = (1ull << bits) - 1;
    uint64_t flip = 0;
    if (k >= n) { k -= n; flip = ~(uint64_t)0; }
    const uint64_t wrapped = ~flip;
    if (levels == 1) {
        for (size_t t = 0; t < k; t++) {
            uint64_t x = decompose_input(in, t, t + n - k, wrapped, difference);
            out[t] = single_level_digit(decompose_state(x, bits, top_mask), base_log);
        }
        for (size_t t = k; t < n; t++) {
            uint64_t x = decompose_input(in, t, t - k, flip, difference);
            out[t] = single_level_digit(decompose_state(x, bits, top_mask), base_log);
        }
        return;
    }
    for (size_t start = 0; start < n; start += DECOMPOSE_CHUNK) {
        size_t end = n - start < DECOMPOSE_CHUNK ? n : start + DECOMPOSE_CHUNK;
        size_t split = k < start ? start : (k > end ? end : k); // [start, split) wraps, [split, end) does not
        for (size_t t = start; t < split; t++)
            state[t - start] = decompose_state(decompose_input(in, t, t + n - k, wrapped, difference), bits, top_mask);
        for (size_t t = split; t < end; t++)
            state[t - start] = decompose_state(decompose_input(in, t, t - k, flip, difference), bits, top_mask);
        decompose_chunk(state, end - start, base_log, levels, out + start, n);
    }
}

CFHE_INLINE void decompose_body(const uint64_t *restrict in, size_t n, uint32_t base_log, uint32_t levels,
                                int64_t *restrict out) {
    decompose_rotated_body(in, n, 0, 0, base_log, levels, out);
}
CFHE_MULTIVERSION(void, decompose,
                  (const uint64_t *restrict in, size_t n, uint32_t base_log, uint32_t levels, int64_t *restrict out),
                  (in, n, base_log, levels, out))

CFHE_INLINE void decompose_monomial_difference_body(const uint64_t *restrict in, size_t n, size_t k,
                                                    uint32_t base_log, uint32_t levels, int64_t *restrict out) {
    decompose_rotated_body(in, n, k, 1, base_log, levels, out);
}
CFHE_MULTIVERSION(void, decompose_monomial_difference,
                  (const uint64_t *restrict in, size_t n, size_t k, uint32_t base_log, uint32_t levels,
                   int64_t *restrict out),
                  (in, n, k, base_log, levels, out))

/// out -= sum_l d_l * ksk_row(i, l) for one input coefficient, in 32-bit arithmetic (the key keeps
/// the top 32 bits of each word; see CFHEShim.h). The rows of one coefficient are contiguous, so a
/// batch reuses them from cache.
CFHE_INLINE void keyswitch_coefficient(uint32_t *restrict out, size_t out_size, uint64_t a,
                                       const uint32_t *restrict rows, uint32_t base_log, uint32_t levels) {
    int64_t digits[64];
    decompose_one(a, base_log, levels, digits, 1);
    for (uint32_t l = 0; l < levels; l++) {
        uint32_t d = (uint32_t)digits[l];
        const uint32_t *restrict row = rows + (size_t)l * out_size;
        for (size_t t = 0; t < out_size; t++) out[t] -= d * row[t];
    }
}

/// The top 32 bits of a torus word, rounded.
CFHE_INLINE uint32_t torus_top32(uint64_t x) { return (uint32_t)((x + (1ull << 31)) >> 32); }

/// The share of input coefficients first ..< first + coefficients of `count` ciphertexts' keyswitch,
/// with the rounded bodies when with_body is set. Coefficient-major over the ciphertexts: each key
/// row is read once for the whole batch, while it is in cache.
CFHE_INLINE void keyswitch_share_body(uint32_t *restrict out, size_t out_size, const uint64_t *restrict in,
                                      size_t in_stride, size_t in_dimension, size_t count, size_t first,
                                      size_t coefficients, int with_body, const uint32_t *restrict ksk,
                                      uint32_t base_log, uint32_t levels) {
    for (size_t c = 0; c < count; c++) {
        uint32_t *o = out + c * out_size;
        memset(o, 0, (out_size - 1) * sizeof(uint32_t));
        o[out_size - 1] = with_body ? torus_top32(in[c * in_stride + in_dimension]) : 0;
    }
    for (size_t i = first; i < first + coefficients; i++) {
        const uint32_t *rows = ksk + i * (size_t)levels * out_size;
        for (size_t c = 0; c < count; c++)
            keyswitch_coefficient(out + c * out_size, out_size, in[c * in_stride + i], rows, base_log, levels);
    }
}
CFHE_MULTIVERSION(void, keyswitch_share,
                  (uint32_t *restrict out, size_t out_size, const uint64_t *restrict in, size_t in_stride,
                   size_t in_dimension, size_t count, size_t first, size_t coefficients, int with_body,
                   const uint32_t *restrict ksk, uint32_t base_log, uint32_t levels),
                  (out, out_size, in, in_stride, in_dimension, count, first, coefficients, with_body, ksk, base_log,
                   levels))

void cfhe_keyswitch_batch(uint32_t *out, size_t out_size, const uint64_t *in, size_t in_stride, size_t in_dimension,
                          size_t count, const uint32_t *ksk, uint32_t base_log, uint32_t levels) {
    cfhe_keyswitch_share(out, out_size, in, in_stride, in_dimension, count, 0, in_dimension, 1, ksk, base_log, levels);
}

void cfhe_keyswitch(uint32_t *out, size_t out_size, const uint64_t *in, size_t in_dimension, const uint32_t *ksk,
                    uint32_t base_log, uint32_t levels) {
    cfhe_keyswitch_batch(out, out_size, in, in_dimension + 1, in_dimension, 1, ksk, base_log, levels);
}

void cfhe_torus_to_top32(const uint64_t *in, size_t count, uint32_t *out) {
    for (size_t t = 0; t < count; t++) out[t] = torus_top32(in[t]);
}

CFHE_INLINE void modulus_switch_body(const uint32_t *restrict in, size_t count, uint32_t log2_2n,
                                     uint32_t *restrict out) {
    for (size_t t = 0; t < count; t++) out[t] = ((in[t] >> (31 - log2_2n)) + 1) >> 1;
}
CFHE_MULTIVERSION(void, modulus_switch, (const uint32_t *restrict in, size_t count, uint32_t log2_2n, uint32_t *restrict out),
                  (in, count, log2_2n, out))

// The centred switch: the mask as above, and for the body, 2*b + sum of the mask's rounding errors
// (each r_i = round(a_i)*2^shift - a_i, |r_i| <= 2^(shift-1), at the 32-bit scale), switched with one
// bit more of shift so the half is exact before the single final rounding. Integer arithmetic mod
// 2^33 only: the same bytes on every path.
CFHE_INLINE void modulus_switch_centered_body(const uint32_t *restrict in, size_t size, size_t count, uint32_t log2_2n,
                                              uint32_t *restrict out) {
    uint32_t shift = 32 - log2_2n;
    for (size_t c = 0; c < count; c++) {
        const uint32_t *a = in + c * size;
        uint32_t *o = out + c * size;
        int64_t drift = 0;
        for (size_t i = 0; i + 1 < size; i++) {
            uint32_t switched = ((a[i] >> (shift - 1)) + 1) >> 1;
            o[i] = switched;
            drift += (int64_t)((uint64_t)switched << shift) - (int64_t)a[i];
        }
        uint64_t twice = (((uint64_t)a[size - 1] << 1) + (uint64_t)drift) & ((1ull << 33) - 1);
        o[size - 1] = (uint32_t)(((twice >> shift) + 1) >> 1);
    }
}
CFHE_MULTIVERSION(void, modulus_switch_centered,
                  (const uint32_t *restrict in, size_t size, size_t count, uint32_t log2_2n, uint32_t *restrict out),
                  (in, size, count, log2_2n, out))

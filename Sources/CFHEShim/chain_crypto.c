// The two primitives of Ethereum transaction signing, over Debian's C libraries (see CFHEShim.h
// for why they live in this target): Keccak-256 on nettle's Keccak-f[1600] permutation, and
// recoverable ECDSA over secp256k1 with libsecp256k1's RFC 6979 nonces.
#include "internal.h"
#include <nettle/sha3.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

enum { KECCAK256_RATE = 136 };

// XORs one rate-sized block into the state, lane by lane in little-endian order (the order of the
// Keccak specification, independent of the host's byte order), then permutes.
static void keccak_absorb(struct sha3_state *state, const uint8_t *block) {
    for (int lane = 0; lane < KECCAK256_RATE / 8; lane++) {
        uint64_t word = 0;
        for (int b = 0; b < 8; b++) word |= (uint64_t)block[8 * lane + b] << (8 * b);
        state->a[lane] ^= word;
    }
    nettle_sha3_permute(state);
}

void cfhe_keccak256(const uint8_t *data, size_t len, uint8_t out[32]) {
    struct sha3_state state;
    memset(&state, 0, sizeof state);
    while (len >= KECCAK256_RATE) {
        keccak_absorb(&state, data);
        data += KECCAK256_RATE;
        len -= KECCAK256_RATE;
    }
    // Keccak's original padding 0x01 … 0x80 (FIPS SHA-3 uses 0x06 and is a different hash).
    uint8_t last[KECCAK256_RATE] = {0};
    if (len > 0) memcpy(last, data, len);
    last[len] ^= 0x01;
    last[KECCAK256_RATE - 1] ^= 0x80;
    keccak_absorb(&state, last);
    for (int i = 0; i < 32; i++) out[i] = (uint8_t)(state.a[i / 8] >> (8 * (i % 8)));
}

// A signing context randomised with fresh OS entropy (side-channel blinding; the signature itself
// stays deterministic). Created per call: signing happens once per swap, never on a hot path.
static secp256k1_context *signing_context(void) {
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (ctx == NULL) return NULL;
    uint8_t seed[32];
    int ok = cfhe_os_random(seed, sizeof seed) && secp256k1_context_randomize(ctx, seed);
    memset(seed, 0, sizeof seed);
    if (!ok) {
        secp256k1_context_destroy(ctx);
        return NULL;
    }
    return ctx;
}

int cfhe_secp256k1_sign(const uint8_t digest[32], const uint8_t secret[32], uint8_t signature[64], int *recovery_id) {
    secp256k1_context *ctx = signing_context();
    if (ctx == NULL) return 0;
    secp256k1_ecdsa_recoverable_signature sig;
    int ok = secp256k1_ec_seckey_verify(ctx, secret) &&
             secp256k1_ecdsa_sign_recoverable(ctx, &sig, digest, secret, NULL, NULL) &&
             secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, signature, recovery_id, &sig);
    secp256k1_context_destroy(ctx);
    return ok;
}

int cfhe_secp256k1_public_key(const uint8_t secret[32], uint8_t public_key[64]) {
    secp256k1_context *ctx = signing_context();
    if (ctx == NULL) return 0;
    secp256k1_pubkey key;
    uint8_t serialized[65];
    size_t length = sizeof serialized;
    int ok = secp256k1_ec_seckey_verify(ctx, secret) && secp256k1_ec_pubkey_create(ctx, &key, secret) &&
             secp256k1_ec_pubkey_serialize(ctx, serialized, &length, &key, SECP256K1_EC_UNCOMPRESSED) && length == 65;
    if (ok) memcpy(public_key, serialized + 1, 64);
    secp256k1_context_destroy(ctx);
    return ok;
}

int cfhe_secp256k1_recover(const uint8_t digest[32], const uint8_t signature[64], int recovery_id, uint8_t public_key[64]) {
    const secp256k1_context *ctx = secp256k1_context_static;
    secp256k1_ecdsa_recoverable_signature sig;
    secp256k1_pubkey key;
    uint8_t serialized[65];
    size_t length = sizeof serialized;
    int ok = recovery_id >= 0 && recovery_id <= 3 &&
             secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, signature, recovery_id) &&
             secp256k1_ecdsa_recover(ctx, &key, &sig, digest) &&
             secp256k1_ec_pubkey_serialize(ctx, serialized, &length, &key, SECP256K1_EC_UNCOMPRESSED) && length == 65;
    if (ok) memcpy(public_key, serialized + 1, 64);
    return ok;
}

// CFHEShim crypto wrappers: thin C calls into Debian's crypto libraries (OpenSSL libcrypto, nettle,
// libsecp256k1), kept apart from the kernels because their rules differ.
//
// Why here: these libraries are C, and this is the project's only C target. Swift reaches them only
// through small wrappers (FHECore's CSPRNG and checksums, the Executor's Keccak and SigningKey).
//
// Rules for everything declared here: the libraries may allocate (their contexts), so every call
// that can fail returns 1 on success and 0 on failure, and the Swift wrapper turns 0 into a thrown
// error; secrets passed in are not kept beyond the call; no call logs or prints.

#ifndef CFHE_CRYPTO_H
#define CFHE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Randomness (OpenSSL libcrypto)
//
// Why here: OpenSSL is a C library and this is the project's only C target; the two calls below
// are one-line wrappers, the AES-CTR keystream being the CSPRNG that expands a seed.

/// Fills buf with bytes from OpenSSL's DRBG (RAND_bytes). Returns 1 on success, 0 on failure.
int cfhe_os_random(uint8_t *buf, size_t len);
/// Writes len bytes of the AES-256-CTR keystream for `key` from the 16-byte initial counter block
/// `counter` (incremented as a 128-bit big-endian integer). Returns 1 on success.
int cfhe_aes256_ctr_keystream(const uint8_t key[32], const uint8_t counter[16], uint8_t *out, size_t len);

/// SHA-256 of data (the checksum of native key and ciphertext containers). Returns 1 on success.
int cfhe_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

// MARK: - Ethereum signing primitives (nettle, libsecp256k1)
//
// Why here: like OpenSSL above, these are Debian C libraries and this is the only C target; the
// finalizer needs Keccak-256 (OpenSSL 3.0 has none) and recoverable secp256k1 signatures.

/// Keccak-256 (Ethereum's hash: Keccak padding 0x01, not FIPS SHA3-256's 0x06) of data.
void cfhe_keccak256(const uint8_t *data, size_t len, uint8_t out[32]);
/// Recoverable ECDSA signature of a 32-byte digest with a 32-byte secret key: RFC 6979 nonce, low S.
/// signature = r ‖ s (big-endian), *recovery_id in 0...3. Returns 1 on success, 0 for an invalid key.
int cfhe_secp256k1_sign(const uint8_t digest[32], const uint8_t secret[32], uint8_t signature[64], int *recovery_id);
/// The uncompressed public key x ‖ y (64 bytes) of a secret key. Returns 1 on success.
int cfhe_secp256k1_public_key(const uint8_t secret[32], uint8_t public_key[64]);
/// The public key x ‖ y that signed digest with (signature, recovery_id). Returns 1 on success.
int cfhe_secp256k1_recover(const uint8_t digest[32], const uint8_t signature[64], int recovery_id, uint8_t public_key[64]);

#ifdef __cplusplus
}
#endif
#endif

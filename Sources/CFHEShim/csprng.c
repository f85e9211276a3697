// The two OpenSSL calls behind FHECore's random generators (see CFHEShim.h for why they live here).
#include "internal.h"
#include <openssl/evp.h>
#include <openssl/rand.h>

int cfhe_os_random(uint8_t *buf, size_t len) {
    while (len > 0) {
        int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
        if (RAND_bytes(buf, chunk) != 1) return 0;
        buf += chunk;
        len -= (size_t)chunk;
    }
    return 1;
}

int cfhe_aes256_ctr_keystream(const uint8_t key[32], const uint8_t iv[16], uint8_t *out, size_t len) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return 0;
    int ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, key, iv) == 1;
    memset(out, 0, len);
    while (ok && len > 0) {
        int chunk = len > (1u << 30) ? (1 << 30) : (int)len, written = 0;
        ok = EVP_EncryptUpdate(ctx, out, &written, out, chunk) == 1 && written == chunk;
        out += chunk;
        len -= (size_t)chunk;
    }
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

int cfhe_sha256(const uint8_t *data, size_t len, uint8_t out[32]) {
    unsigned int written = 0;
    return EVP_Digest(data, len, out, &written, EVP_sha256(), NULL) == 1 && written == 32;
}

// CFHEShim: the project's only C target, in two parts with their own rules.
//   cfhe_kernels.h — the hot FHE kernels (FFT, polynomials, decomposition, keyswitch, ISA dispatch):
//                    no allocation, no error codes, shapes validated by FHECore before every call.
//   cfhe_crypto.h  — wrappers over Debian's C crypto (OpenSSL, nettle, libsecp256k1): may allocate,
//                    report failure as 0.
#ifndef CFHESHIM_H
#define CFHESHIM_H

#include "cfhe_kernels.h"
#include "cfhe_crypto.h"

#endif

// FFTW 3 (Debian libfftw3-dev), the reference FFT of the benchmarks only.
#include <fftw3.h>

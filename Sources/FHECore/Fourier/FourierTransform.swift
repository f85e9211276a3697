internal import CFHEShim
import Foundation
import Synchronization

/// The negacyclic FFT of one polynomial size: owns the twiddle/twist tables and is the only Swift
/// type that calls the FFT kernels. Created once per size and shared (``forSize(_:)``).
///
/// A polynomial of size N becomes N/2 complex values (fold, twist by e^{iπj/N}, DFT), the
/// convention of tfhe-rs; spectra are stored split (re[N/2], im[N/2]) in bit-reversed order.
public final class FourierTransform: @unchecked Sendable {
    public let polynomialSize: PolynomialSize
    private let table: AlignedBuffer<Double>

    private init(polynomialSize: PolynomialSize) {
        self.polynomialSize = polynomialSize
        let n = polynomialSize.value
        table = AlignedBuffer(count: cfhe_fft_table_len(n))
        cfhe_fft_table_init(table.pointer, n)
    }

    private static let cache = Mutex<[Int: FourierTransform]>([:])

    public static func forSize(_ size: PolynomialSize) -> FourierTransform {
        cache.withLock { plans in
            if let plan = plans[size.value] { return plan }
            let plan = FourierTransform(polynomialSize: size)
            plans[size.value] = plan
            return plan
        }
    }

    /// Doubles of one spectrum (re then im).
    public var spectrumLength: Int { polynomialSize.value }

    /// Spectrum of a polynomial with small signed integer coefficients (|c| < 2^51).
    /// `prefetch` names a spectrum that will be needed soon (see cfhe_fft_forward_int).
    func forwardInteger(_ input: UnsafePointer<Int64>, into spectrum: UnsafeMutablePointer<Double>,
                        prefetch: UnsafePointer<Double>? = nil) {
        let n = polynomialSize.value
        cfhe_fft_forward_int(table.pointer, n, input, spectrum, spectrum + n / 2, prefetch)
    }

    /// Spectrum of a torus polynomial (coefficients as signed fractions of 2^64).
    func forwardTorus(_ input: UnsafePointer<UInt64>, into spectrum: UnsafeMutablePointer<Double>) {
        let n = polynomialSize.value
        cfhe_fft_forward_torus(table.pointer, n, input, spectrum, spectrum + n / 2)
    }

    /// Adds the inverse transform of `spectrum` (an integer × torus product) to `output`, rounding to
    /// the 2^64 torus. The spectrum is consumed (used as scratch).
    func backwardTorusAdd(_ spectrum: UnsafeMutablePointer<Double>, into output: UnsafeMutablePointer<UInt64>,
                          prefetch: UnsafePointer<Double>? = nil) {
        let n = polynomialSize.value
        cfhe_fft_backward_torus_add(table.pointer, n, spectrum, spectrum + n / 2, output, prefetch)
    }

    /// Position, in our spectrum, of natural-order DFT coefficient k (for wire formats).
    func storageIndex(ofNatural k: Int) -> Int { cfhe_fft_bitrev_index(k, polynomialSize.fourierSize) }
}

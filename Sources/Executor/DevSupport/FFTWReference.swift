import Foundation

/// FFTW's 1024-point complex double FFT (FFTW_MEASURE, out of place), loaded with dlopen so the
/// product never links FFTW; only the benchmark uses it as the yardstick of peer-benchmarks.md.
final class FFTWReference {
    private typealias PlanFn = @convention(c) (Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32, UInt32) -> OpaquePointer?
    private typealias ExecuteFn = @convention(c) (OpaquePointer?) -> Void
    private let plan: OpaquePointer
    private let executeFn: ExecuteFn
    private let input: UnsafeMutablePointer<Double>
    private let output: UnsafeMutablePointer<Double>

    private init(plan: OpaquePointer, execute: ExecuteFn, input: UnsafeMutablePointer<Double>,
                 output: UnsafeMutablePointer<Double>) {
        self.plan = plan
        executeFn = execute
        self.input = input
        self.output = output
    }

    static func load() -> FFTWReference? {
        guard let lib = dlopen("libfftw3.so.3", RTLD_NOW) ?? dlopen("libfftw3.so", RTLD_NOW),
              let planSym = dlsym(lib, "fftw_plan_dft_1d"), let execSym = dlsym(lib, "fftw_execute") else { return nil }
        let planFn = unsafeBitCast(planSym, to: PlanFn.self)
        let input = UnsafeMutablePointer<Double>.allocate(capacity: 2048)
        let output = UnsafeMutablePointer<Double>.allocate(capacity: 2048)
        guard let plan = planFn(1024, input, output, -1 /* FFTW_FORWARD */, 0 /* FFTW_MEASURE */) else { return nil }
        for i in 0..<2048 { input[i] = Double(i % 13) - 6 }
        return FFTWReference(plan: plan, execute: unsafeBitCast(execSym, to: ExecuteFn.self), input: input, output: output)
    }

    func execute() { executeFn(plan) }
}

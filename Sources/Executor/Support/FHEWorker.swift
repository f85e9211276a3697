import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// CPU-bound FHE work (decoding keys, bootstrapping) runs here, off the cooperative thread pool
/// that must stay free to serve requests, in two serial lanes:
/// - `evaluate`: the scheduler's evaluations, one at a time (each already keeps every core busy);
/// - `intake`: decoding what requests bring (keys, bounds, ciphertexts), on one thread at the
///   lowest CPU priority (nice 19), shared by the whole process.
///
/// The kernel then gives intake only the CPU evaluations leave idle (a nice-19 thread weighs 15
/// against 1024 for a normal one): a flood of creates cannot delay a tick, and an evaluation never
/// waits for an intake job — not even for one decoding a 110 MB key.
final class FHEWorker: Sendable {
    private let evaluationQueue = DispatchQueue(label: "syphon.fhe.evaluation", qos: .userInitiated)

    func evaluate<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            evaluationQueue.async { continuation.resume(with: Result { try body() }) }
        }
    }

    func intake<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            BackgroundLane.intake.submit { continuation.resume(with: Result { try body() }) }
        }
    }
}

/// A serial lane on a dedicated thread that runs at nice 19 (lowering one's own priority needs no
/// privilege; a pool thread could not be given it back, hence a thread of its own).
private final class BackgroundLane: @unchecked Sendable {
    static let intake = BackgroundLane(name: "syphon.fhe.intake")

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    private init(name: String) {
        let thread = Thread { [self] in
            // On Linux the nice value belongs to the thread: `who` 0 is this thread alone.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
            }
        }
        thread.name = name
        thread.start()
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }
}

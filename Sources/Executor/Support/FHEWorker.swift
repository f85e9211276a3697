import Dispatch
import Foundation

/// CPU-bound FHE work (decoding keys, bootstrapping) runs here, off the cooperative thread pool
/// that must stay free to serve requests, in two lanes with their own threads:
/// - `evaluate`: the scheduler's evaluations, one at a time (each already keeps every core busy);
/// - `intake`: decoding what requests bring (keys, bounds, ciphertexts), one at a time.
///
/// Evaluations come first. An intake job starts only while no evaluation is running or waiting,
/// and an evaluation waits at most for the one intake job already running — never for the queue
/// of requests behind it — so a flood of creates cannot delay a tick.
final class FHEWorker: Sendable {
    private let evaluationQueue = DispatchQueue(label: "syphon.fhe.evaluation", qos: .userInitiated)
    private let intakeQueue = DispatchQueue(label: "syphon.fhe.intake", qos: .utility)
    private let gate = PriorityGate()

    func evaluate<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let gate = self.gate
        return try await withCheckedThrowingContinuation { continuation in
            evaluationQueue.async {
                gate.enterEvaluation()
                let result = Result { try body() }
                gate.leaveEvaluation()
                continuation.resume(with: result)
            }
        }
    }

    func intake<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let gate = self.gate
        return try await withCheckedThrowingContinuation { continuation in
            intakeQueue.async {
                gate.enterIntake()
                let result = Result { try body() }
                gate.leaveIntake()
                continuation.resume(with: result)
            }
        }
    }
}

/// Evaluations before intake: see ``FHEWorker``. Waiting happens on the lanes' own threads.
private final class PriorityGate: @unchecked Sendable {
    private let condition = NSCondition()
    /// Evaluations running or waiting to run.
    private var evaluations = 0
    private var intakeRunning = false

    func enterEvaluation() {
        condition.lock()
        evaluations += 1
        while intakeRunning { condition.wait() }
        condition.unlock()
    }

    func leaveEvaluation() {
        condition.lock()
        evaluations -= 1
        condition.broadcast()
        condition.unlock()
    }

    func enterIntake() {
        condition.lock()
        while evaluations > 0 { condition.wait() }
        intakeRunning = true
        condition.unlock()
    }

    func leaveIntake() {
        condition.lock()
        intakeRunning = false
        condition.broadcast()
        condition.unlock()
    }
}

import Dispatch
import Foundation

/// CPU-bound FHE work (decoding keys, bootstrapping) runs here, off the cooperative thread pool
/// that must stay free to serve requests, in two serial lanes on threads of their own:
/// - `evaluate`: the scheduler's evaluations, one at a time (each already keeps every core busy);
/// - `intake`: decoding what requests bring (keys, bounds, ciphertexts), one job at a time.
///
/// Evaluations come first: an intake job starts only while no evaluation runs or waits, and it
/// passes a ``IntakeCheckpoint`` between its steps (every few MB of a large body), where it pauses
/// for any evaluation that has arrived. A tick therefore waits at most for one step of one intake
/// job, never for the queue of requests behind it, and a flood of creates cannot delay it. Both
/// lanes run at normal priority, so neither starves when other programs load the machine.
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

    func intake<T: Sendable>(_ body: @escaping @Sendable (IntakeCheckpoint) throws -> T) async throws -> T {
        let gate = self.gate
        return try await withCheckedThrowingContinuation { continuation in
            intakeQueue.async {
                gate.enterIntake()
                let result = Result { try body(IntakeCheckpoint(gate: gate)) }
                gate.leaveIntake()
                continuation.resume(with: result)
            }
        }
    }
}

/// Called by an intake job between its steps: returns at once, or after the evaluations that
/// arrived meanwhile have run.
struct IntakeCheckpoint: Sendable {
    fileprivate let gate: PriorityGate
    func callAsFunction() { gate.yieldToEvaluations() }
    /// For callers outside the intake lane (tests, the CLI): never waits.
    static let none = IntakeCheckpoint(gate: PriorityGate())
}

/// Evaluations before intake (see ``FHEWorker``). Waiting happens on the lanes' own threads.
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

    func yieldToEvaluations() {
        condition.lock()
        if evaluations > 0 {
            intakeRunning = false
            condition.broadcast()
            while evaluations > 0 { condition.wait() }
            intakeRunning = true
        }
        condition.unlock()
    }
}

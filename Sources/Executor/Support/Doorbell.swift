import Synchronization

/// Cuts a waiting loop's pause short: `ring()` from anywhere; `wait(upTo:)` returns at the first ring,
/// when the time is up, or when the task is cancelled. A ring with nobody waiting is kept for the
/// next wait, so a hand-off is never lost between two waits.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    func ring() {
        // Resumed outside the lock: the waiter may run at once.
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let waiter = s.waiter else { s.rung = true; return nil }
            s.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    func wait(upTo timeout: Duration) async {
        let timer = Task { [weak self] in
            if (try? await Task.sleep(for: timeout)) != nil { self?.ring() }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s in
                    if s.rung || Task.isCancelled {
                        s.rung = false
                        return true
                    }
                    s.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            ring()
        }
        timer.cancel()
    }
}

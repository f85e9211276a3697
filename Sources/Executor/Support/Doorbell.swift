import Foundation

/// Cuts a waiting loop's pause short: `ring()` from anywhere; `wait(upTo:)` returns at the first ring,
/// when the time is up, or when the task is cancelled. A ring with nobody waiting is kept for the
/// next wait, so a hand-off is never lost between two waits.
final class Doorbell: @unchecked Sendable {
    private let lock = NSLock()
    private var rung = false
    private var waiter: CheckedContinuation<Void, Never>?

    func ring() {
        lock.lock()
        if let waiter {
            self.waiter = nil
            lock.unlock()
            waiter.resume()
        } else {
            rung = true
            lock.unlock()
        }
    }

    func wait(upTo timeout: Duration) async {
        let timer = Task { [weak self] in
            if (try? await Task.sleep(for: timeout)) != nil { self?.ring() }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                lock.lock()
                if rung || Task.isCancelled {
                    rung = false
                    lock.unlock()
                    continuation.resume()
                } else {
                    waiter = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            ring()
        }
        timer.cancel()
    }
}

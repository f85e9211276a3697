import Dispatch
import Synchronization

extension OrderBookDatabase {
    /// Runs an order-book call from synchronous code on one of the FHE worker's lanes and waits for
    /// it there. The lanes are threads of their own (``FHEWorker``), never Swift's cooperative pool,
    /// which no order-book call blocks: the call's task always finds a thread, so the wait ends.
    /// Not for use on the cooperative pool itself (an `async` caller awaits the call instead).
    func waitOnLane<T: Sendable>(_ operation: @escaping @Sendable (OrderBookDatabase) async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let outcome = Mutex<Result<T, any Error>?>(nil)
        Task {
            let result: Result<T, any Error>
            do { result = .success(try await operation(self)) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return try outcome.withLock { $0! }.get()
    }
}

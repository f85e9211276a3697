import Dispatch

/// Runs CPU-bound FHE work (decoding keys, bootstrapping) on a dedicated serial queue instead of
/// the cooperative thread pool, which must stay free to serve requests. One job at a time: each
/// job already keeps both cores busy through the batched bootstrapping API.
final class FHEWorker: Sendable {
    private let queue = DispatchQueue(label: "syphon.fhe-worker", qos: .userInitiated)

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}

import Synchronization

// The package's two concurrency helpers, shared by FHECore and the executor. Locking is always the
// standard library's `Mutex`; these only add what it cannot do on its own.

/// A `Mutex`-guarded value that closures can share: `Mutex` is non-copyable, so a value captured by
/// escaping closures (HTTP handlers, tasks) needs a reference around it.
package final class LockedValue<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    package init(_ value: Value) { mutex = Mutex(value) }

    package func get() -> Value { mutex.withLock { $0 } }
    package func set(_ value: Value) { mutex.withLock { $0 = value } }
    package func update<R>(_ body: (inout Value) throws -> R) rethrows -> R { try mutex.withLock { try body(&$0) } }
}

/// Carries values that are not `Sendable` (raw buffers, generators) into a `concurrentPerform`
/// closure whose iterations read them only, or each touch a disjoint part of them (their own
/// generator, their own output range). The one unchecked wrapper of the package.
package struct UncheckedSendable<Value>: @unchecked Sendable {
    package let value: Value
    package init(_ value: Value) { self.value = value }
}

/// Moves a value whose concurrent uses are read-only into a concurrentPerform closure.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

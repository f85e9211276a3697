import Foundation

/// Fixed-size, 64-byte aligned storage for kernel operands (one cache line, one AVX-512 vector).
/// Key material is created `sensitive`: its bytes are wiped before the memory is returned.
/// Immutable after the owner finishes filling it, which is what makes sharing it across threads safe.
final class AlignedBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
    let count: Int
    let pointer: UnsafeMutablePointer<Element>
    private let sensitive: Bool

    init(count: Int, sensitive: Bool = false) {
        precondition(count >= 0)
        self.count = count
        self.sensitive = sensitive
        let bytes = max(count * MemoryLayout<Element>.stride, 64)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pointer = raw.bindMemory(to: Element.self, capacity: max(count, 1))
    }

    deinit {
        if sensitive { wipeMemory(UnsafeMutableRawPointer(pointer), count * MemoryLayout<Element>.stride) }
        UnsafeMutableRawPointer(pointer).deallocate()
    }

    var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    subscript(i: Int) -> Element {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}

/// Zeroes memory in a way the optimiser may not remove (explicit_bzero).
func wipeMemory(_ p: UnsafeMutableRawPointer, _ bytes: Int) {
    explicit_bzero(p, bytes)
}

import Foundation

/// Fixed-size, 64-byte aligned storage for kernel operands (one cache line, one AVX-512 vector).
/// Key material is created `sensitive`: its bytes are wiped before the memory is returned.
/// Immutable after the owner finishes filling it, which is what makes sharing it across threads safe.
final class AlignedBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
    let count: Int
    let pointer: UnsafeMutablePointer<Element>
    private let sensitive: Bool

    /// Buffers this large (keys) are placed on 2 MiB transparent huge pages: blind rotation walks
    /// 50 MB of bootstrap key per bootstrap, and with 4 KiB pages every 64 KiB step costs 16 TLB
    /// misses.
    static var hugePageThreshold: Int { 4 << 20 }

    init(count: Int, sensitive: Bool = false) {
        precondition(count >= 0)
        self.count = count
        self.sensitive = sensitive
        let bytes = max(count * MemoryLayout<Element>.stride, 64)
        let huge = bytes >= Self.hugePageThreshold
        var raw: UnsafeMutableRawPointer?
        let status = posix_memalign(&raw, huge ? 2 << 20 : 64, bytes)
        precondition(status == 0 && raw != nil, "out of memory allocating \(bytes) bytes")
        if huge { _ = madvise(raw, bytes, MADV_HUGEPAGE) } // advisory: fine if the kernel declines
        raw!.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pointer = raw!.bindMemory(to: Element.self, capacity: max(count, 1))
    }

    deinit {
        if sensitive { wipeMemory(UnsafeMutableRawPointer(pointer), count * MemoryLayout<Element>.stride) }
        free(pointer)
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

internal import CFHEShim
import Foundation

/// The instruction-set level of the C kernels (FFT, decomposition, keyswitch). Every level computes
/// the same bytes for the same inputs — the scalar reference performs the vector kernels'
/// operations in the same order with the same fused multiply-adds — so the level decides speed
/// only, and machines with different CPUs agree on every evaluation.
public enum Kernel: Int32, CaseIterable, Comparable, Sendable, CustomStringConvertible {
    case scalar = 0
    case avx2 = 1
    case avx512 = 2

    /// The name `SYPHON_ISA` takes and reports print.
    public var description: String {
        switch self {
        case .scalar: "scalar"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }

    public init?(name: String) {
        guard let level = Kernel.allCases.first(where: { $0.description == name }) else { return nil }
        self = level
    }

    public static func < (a: Kernel, b: Kernel) -> Bool { a.rawValue < b.rawValue }

    /// The best level this CPU supports.
    public static var detected: Kernel { Kernel(rawValue: cfhe_isa_detected()) ?? .scalar }
    /// Every level this CPU can run, lowest first.
    public static var available: [Kernel] { allCases.filter { $0 <= detected } }
    /// The level the calling thread's kernels use now.
    public static var active: Kernel { Kernel(rawValue: cfhe_isa_active()) ?? .scalar }

    /// Caps the level for the whole process (threads that forced none) at `level`, or at what the CPU
    /// has; returns the level now in force. Safe at any time: results do not depend on it.
    @discardableResult
    public static func limitProcess(to level: Kernel) -> Kernel { Kernel(rawValue: cfhe_isa_limit(level.rawValue)) ?? .scalar }

    /// What `SYPHON_ISA` asks for (applied when the library loads, capped at the CPU): nil when
    /// unset; throws when it names no level, so a typo never silently runs another kernel.
    public static func environmentRequest() throws -> Kernel? {
        switch cfhe_isa_from_environment() {
        case -1: return nil
        case -2: throw UnknownKernel(name: ProcessInfo.processInfo.environment["SYPHON_ISA"] ?? "")
        case let level: return Kernel(rawValue: level)
        }
    }

    /// The level in use, with what SYPHON_ISA asked for and what the CPU has when either differs
    /// ("avx2", "scalar (SYPHON_ISA=scalar, CPU avx2)", "avx2 (SYPHON_ISA=avx512, CPU avx2)").
    public static var summary: String {
        let requested = (try? environmentRequest()) ?? nil
        guard requested != nil || active != detected else { return active.description }
        var notes: [String] = []
        if let requested { notes.append("SYPHON_ISA=\(requested)") }
        notes.append("CPU \(detected)")
        return "\(active) (\(notes.joined(separator: ", ")))"
    }

    /// SYPHON_ISA names no kernel level.
    public struct UnknownKernel: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "SYPHON_ISA=\(name) names no kernel level; use scalar, avx2 or avx512" }
    }
}

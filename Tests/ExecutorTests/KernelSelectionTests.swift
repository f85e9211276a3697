@testable import Executor
import FHECore
import Foundation
import Testing

/// `SYPHON_ISA=scalar|avx2|avx512` picks the kernels of any command, and every level writes the same
/// result bytes: anyone can check from the command line that machines of different CPUs agree.
@Suite("SYPHON_ISA: byte-identical evaluations on every kernel", .serialized)
struct KernelSelectionTests {
    /// Runs `evaluate` once per kernel level the CPU has; expects identical result files and the
    /// expected decision from each, and returns the levels run.
    @discardableResult
    static func expectIdenticalResults(_ name: String, _ arguments: [String], expected: Bool) throws -> [Kernel] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("syphon-isa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var results: [(Kernel, Data)] = []
        for kernel in Kernel.available {
            let out = dir.appendingPathComponent("\(kernel).hex")
            let (status, stdout, stderr) = try runBinary(["evaluate"] + arguments + ["--out", out.path],
                                                         environment: ["SYPHON_ISA": kernel.description])
            #expect(status == 0, "\(name) on \(kernel): \(stderr)")
            #expect(stderr.contains("kernels: \(kernel) (SYPHON_ISA=\(kernel)"), "\(stderr)")
            #expect(stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(expected)", "\(name) on \(kernel)")
            results.append((kernel, try Data(contentsOf: out)))
        }
        for (kernel, bytes) in results.dropFirst() {
            #expect(bytes == results[0].1, "\(name): \(kernel) wrote other bytes than \(results[0].0)")
        }
        print("\(name): \(results.map { "\($0.0)" }.joined(separator: ", ")) wrote identical \(results[0].1.count)-byte results")
        return results.map(\.0)
    }

    static func bracket(serverKey: URL, upper: URL, lower: URL, clientKey: URL, price: UInt64, insecure: Bool) -> [String] {
        ["--server-key", serverKey.path, "--upper", upper.path, "--lower", lower.path, "--strategy", "BRACKET_ORDER_LONG",
         "--price-cents", "\(price)", "--client-key", clientKey.path] + (insecure ? ["--allow-insecure-test-parameters"] : [])
    }

    /// A bracket 3800.00–4000.00 over a genuine vector folder.
    static func bracket(_ folder: URL, price: UInt64, insecure: Bool) -> [String] {
        bracket(serverKey: folder.appendingPathComponent("server_key.bin"), upper: folder.appendingPathComponent("ct_u32_400000.bin"),
                lower: folder.appendingPathComponent("ct_u32_380000.bin"), clientKey: folder.appendingPathComponent("client_key.bin"),
                price: price, insecure: insecure)
    }

    @Test("Genuine tfhe-rs 0.5 small vectors: a bracket and a single comparison")
    func genuineSmallSet() throws {
        let s = Paths.smallSet
        try Self.expectIdenticalResults("small-set bracket at 3900.00", Self.bracket(s, price: 390_000, insecure: true), expected: false)
        try Self.expectIdenticalResults("small-set bracket at 4000.01", Self.bracket(s, price: 400_001, insecure: true), expected: true)
        try Self.expectIdenticalResults("small-set 12345 ≥ 123.45", [
            "--server-key", s.appendingPathComponent("server_key.bin").path, "--ciphertext", s.appendingPathComponent("ct_u32_12345.bin").path,
            "--op", "ge", "--price-cents", "12345", "--client-key", s.appendingPathComponent("client_key.bin").path,
            "--allow-insecure-test-parameters"], expected: true)
    }

    @Test("Genuine tfhe-rs 0.5 production-parameter vectors: a bracket (when ../shared/vectors/tfhe-rs-0.5/real exists)",
          .enabled(if: FileManager.default.fileExists(atPath: Paths.realSet.path)))
    func genuineRealSet() throws {
        try Self.expectIdenticalResults("real-set bracket at 4000.01", Self.bracket(Paths.realSet, price: 400_001, insecure: false),
                                        expected: true)
    }

    @Test("A native bracket (seeded key and bounds)")
    func nativeBracket() throws {
        let native = Paths.root.appendingPathComponent("vectors/native")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("syphon-native-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let upper = dir.appendingPathComponent("upper.hex")
        let (status, _, stderr) = try runBinary(["encrypt", "--key", native.path, "--cents", "400000", "--out", upper.path,
                                                 "--allow-insecure-test-parameters"])
        #expect(status == 0, "\(stderr)")
        let arguments = Self.bracket(serverKey: native.appendingPathComponent("evaluation.key"), upper: upper,
                                     lower: native.appendingPathComponent("ct_u32_380000.bin"),
                                     clientKey: native.appendingPathComponent("client.key"), price: 390_000, insecure: true)
        try Self.expectIdenticalResults("native bracket at 3900.00", arguments, expected: false)
    }

    @Test("A SYPHON_ISA that names no level stops every command before it runs")
    func unknownLevel() throws {
        let (status, _, stderr) = try runBinary(["params"], environment: ["SYPHON_ISA": "avx1024"])
        #expect(status != 0)
        #expect(stderr.contains("SYPHON_ISA=avx1024 names no kernel level"))
    }
}

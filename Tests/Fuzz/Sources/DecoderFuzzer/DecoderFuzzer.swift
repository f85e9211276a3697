import FHECore
import Foundation

/// One libFuzzer entry for the four tfhe-rs 0.5 decoders and the hex decoder; FUZZ_TARGET picks
/// which (radix, boolean, clientkey, serverkey, hex). Every input must either decode or throw
/// FHECoreError: a trap, an overflow or an out-of-bounds access is a finding.
enum Target: String {
    case radix, boolean, clientkey, serverkey, hex
    static let current = Target(rawValue: ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? "radix") ?? .radix
    static let parameters = ParameterSet.insecureTfheRs05Small
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    do {
        switch Target.current {
        case .radix: _ = try TfheRs05.decodeRadixCiphertext(bytes, parameters: Target.parameters)
        case .boolean: _ = try TfheRs05.decodeBooleanBlock(bytes, parameters: Target.parameters)
        case .clientkey: _ = try TfheRs05.decodeRadixClientKey(bytes, parameters: Target.parameters)
        case .serverkey:
            let p = try TfheRs05.detectServerKeyParameters(bytes, allowInsecureTestParameters: true)
            _ = try TfheRs05.decodeServerKey(bytes, parameters: p)
        case .hex: _ = try Hex.decode(bytes)
        }
    } catch is FHECoreError {
        // Rejected with a typed error: the expected outcome for malformed input.
    } catch {
        fatalError("decoder threw an untyped error: \(error)")
    }
    return 0
}

/// libFuzzer's driver (compiler-rt): runs the fuzzing loop with our callback.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32) -> Int32

/// SwiftPM links an executable target's entry point under this name; hand control to libFuzzer.
@_cdecl("DecoderFuzzer_main")
public func decoderFuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return runFuzzerDriver(&count, &vector) { data, size in fuzzOneInput(data, size) }
}

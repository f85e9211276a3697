import FHECore
import Foundation

/// One libFuzzer entry for every decoder of untrusted input; FUZZ_TARGET picks which:
/// - `radix`, `boolean`, `clientkey`, `serverkey`, `hex`: the tfhe-rs 0.5 decoders and hex;
/// - `native`: native containers through ``UntrustedInput`` (bounds, evaluation and client keys);
/// - `json`: the request body scanner and its field accessors, exact decimal amounts;
/// - `hermes`: Hermes answers (v2 and legacy JSON), the price guard's arithmetic, SSE framing;
/// - `chain`: RLP, ABI return data and calldata, revert reasons, zkp_data, addresses;
/// - `pyth`: Pyth accumulator updates through the verifier (envelope, VAA signatures, proofs),
///   trusting the real guardian sets 3 and 4 so that mutations of the published updates go deep;
/// - `custody`: the binary frames of threshold custody, and decision keys and key shares in them.
/// Every input must decode or throw the decoder's own typed error: a trap, an overflow, an
/// out-of-bounds access or any other error is a finding.
enum Target: String {
    case radix, boolean, clientkey, serverkey, hex, native, json, hermes, chain, pyth, custody
    static let current = Target(rawValue: ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? "radix") ?? .radix
    static let parameters = ParameterSet.insecureTfheRs05Small
}

/// The errors decoders throw for bad input, by design.
func isTyped(_ error: any Error) -> Bool {
    error is FHECoreError || error is JSONScanError || error is HermesError || error is PriceRejection
        || error is RLP.DecodingError || error is ABI.DecodingError || error is Entrypoint.Authorization.Invalid
        || error is EthereumAddress.ParseError || error is AccumulatorUpdate.Rejection || error is CustodyFrames.Malformed
}

func fuzzNative(_ bytes: UnsafeRawBufferPointer) throws {
    let input = UntrustedInput(allowInsecureTestParameters: true)
    _ = NativeFormat.containerLength(bytes)
    _ = try? input.priceBound(bytes, parameters: Target.parameters, field: "bound")
    _ = try? input.clientKey(bytes, parameters: nil)
    _ = try? input.ciphertext(bytes, parameters: Target.parameters)
    if NativeFormat.kind(of: bytes) == .evaluationKey { _ = try input.serverKey(bytes) }
    else { _ = try input.priceBound(bytes, parameters: Target.parameters, field: "bound") }
}

/// Custody bodies: either magic, every frame then tried as a decision key and as a share.
func fuzzCustody(_ bytes: UnsafeRawBufferPointer) throws {
    _ = try? NativeFormat.decodeDecisionKey(bytes, allowInsecureTestParameters: true)
    _ = try? NativeFormat.decodeDecisionKeyShare(bytes, allowInsecureTestParameters: true)
    for magic in [CustodyFrames.thresholdBundle, CustodyFrames.custodianRegistration] {
        guard let frames = try CustodyFrames.decode(bytes, magic: magic) else { continue }
        for frame in frames.frames {
            try frame.withUnsafeBytes { raw in
                if NativeFormat.kind(of: raw) == .decisionKey { _ = try NativeFormat.decodeDecisionKey(raw, allowInsecureTestParameters: true) }
                if NativeFormat.kind(of: raw) == .decisionKeyShare { _ = try NativeFormat.decodeDecisionKeyShare(raw, allowInsecureTestParameters: true) }
            }
        }
    }
}

func fuzzJSON(_ bytes: UnsafeRawBufferPointer) throws {
    let fields = try JSONFields(bytes)
    for key in ["payload_id", "amount", "zkp_data", "expires_at", "encrypted_upper_bound", "current_price_cents", "key_id"] {
        _ = try? fields.string(key)
        _ = try? fields.rawString(key)
        _ = try? fields.unsignedInteger(key)
        _ = fields.isPresent(key)
        if case .number(let r)? = fields[key] { _ = DecimalText(String(decoding: fields.slice(r), as: UTF8.self)) }
        if let text = try? fields.string(key) { _ = DecimalText(text) }
    }
}

func fuzzHermes(_ data: Data) throws {
    var quotes: [PriceQuote] = []
    for endpoint in HermesEndpoint.allCases { quotes += (try? HermesWire.parse(data, endpoint: endpoint)) ?? [] }
    for quote in quotes {
        for now in [Int64.min, -1, 0, quote.publishTime, Int64(Date().timeIntervalSince1970), Int64.max] {
            _ = quote.age(now: now)
            _ = try? PriceGuard().accept(quote, now: now)
        }
        _ = try? quote.cents()
        _ = quote.relativeConfidence
    }
    var parser = ServerSentEventParser()
    let text = String(decoding: data, as: UTF8.self)
    let middle = text.index(text.startIndex, offsetBy: text.count / 2)
    _ = parser.feed(String(text[..<middle]))
    _ = parser.feed(String(text[middle...]))
    _ = try HermesWire.parse(data, endpoint: .v2)
}

func fuzzChain(_ bytes: [UInt8]) throws {
    _ = try? RLP.decode(bytes)
    _ = try? ABI.decode([.string, .bytes, .uint(bits: 24), .address, .bool], from: bytes)
    _ = try? ABI.decode([.bool], from: bytes)
    _ = ABI.revertReason(bytes)
    _ = try? Entrypoint.SwapOrder(calldata: bytes)
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? Entrypoint.Authorization(zkpJSON: text)
    _ = try? EthereumAddress(text)
    _ = try RLP.decode(bytes)
}

/// The built-in roots plus the historical sets of the published test updates (Tests/Fixtures/pyth).
let historicalTrust: PythTrustRoots = {
    var roots = PythTrustRoots.builtIn
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../Fixtures/pyth/guardian-sets-3-4.txt")
    let text = (try? String(contentsOf: path, encoding: .utf8)) ?? ""
    for entry in text.split(separator: ";") {
        let parts = entry.split(separator: "=")
        guard parts.count == 2, let index = UInt32(parts[0].trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
        let addresses = parts[1].split(separator: ",").compactMap { try? EthereumAddress($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        roots.guardianSets[index] = .init(addresses: addresses, quorum: PythTrustRoots.GuardianSet.wormholeQuorum(addresses.count))
    }
    return roots
}()

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
        case .native: try fuzzNative(bytes)
        case .json: try fuzzJSON(bytes)
        case .hermes: try fuzzHermes(Data(bytes))
        case .chain: try fuzzChain(Array(bytes))
        case .pyth: _ = try AccumulatorUpdate.verify(Array(bytes), trust: historicalTrust)
        case .custody: try fuzzCustody(bytes)
        }
    } catch where isTyped(error) {
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

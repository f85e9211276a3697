import ArgumentParser
import AsyncHTTPClient
import NIOCore
import Crypto
import FHECore
import Foundation

/// Files a key directory holds.
enum KeyDirectory {
    static let clientKey = "client.key"
    static let evaluationKey = "evaluation.key"

    static func read(_ dir: String, _ name: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent(name)) } catch {
            throw ValidationError("cannot read \(name) in \(dir): run `syphon-executor keygen --out \(dir)` first")
        }
    }

    static func clientKey(_ dir: String, input: UntrustedInput) throws -> ClientKey {
        try read(dir, clientKey).withUnsafeBytes { try input.clientKey($0, parameters: nil) }
    }

    static func keyID(_ dir: String) throws -> String { contentHash(try read(dir, evaluationKey)) }
}

/// "3800.00" or "3800" → 380000 cents, exactly; more than two decimals or a u32 overflow is an error.
func parseCents(_ text: String) throws -> UInt32 {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard (1...2).contains(parts.count), !parts[0].isEmpty, parts.allSatisfy({ $0.allSatisfy(\.isNumber) }),
          parts.count == 1 || (1...2).contains(parts[1].count) else {
        throw ValidationError("'\(text)' is not a price like 3800.00 (at most two decimals)")
    }
    let fraction = parts.count == 2 ? String(parts[1]).padding(toLength: 2, withPad: "0", startingAt: 0) : "00"
    guard let cents = UInt64(String(parts[0]) + fraction), cents <= UInt64(UInt32.max) else {
        throw ValidationError("'\(text)' does not fit u32 cents")
    }
    return UInt32(cents)
}

struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Generate a client key and its seeded evaluation key into a directory.")
    @Option(help: "Directory to write client.key (mode 0600) and evaluation.key.") var out: String
    @Option(help: "Parameter set (`syphon-executor params` lists them; new keys need p-fail ≤ 2^-128).") var params = "default"
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        insecure.announce()
        let parameters: ParameterSet
        do { parameters = try ParameterSet.forNewKey(named: params, allowInsecureTestParameters: insecure.allowed) } catch {
            throw ConfigurationError("--params: \(error)")
        }
        let start = ContinuousClock.now
        let randomness = try KeyGenerationRandomness()
        let client = ClientKey.generate(parameters: parameters, using: randomness.secret)
        let (_, seeded) = SeededEvaluationKey.generate(for: client, randomness: randomness,
                                                       progress: ProgressBar.handler(enabled: true))
        let elapsed = ContinuousClock.now - start
        let dir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let clientPath = dir.appendingPathComponent(KeyDirectory.clientKey).path
        var clientBytes = Data(NativeFormat.encode(client))
        defer { clientBytes.resetBytes(in: 0..<clientBytes.count) }
        _ = FileManager.default.createFile(atPath: clientPath, contents: nil, attributes: [.posixPermissions: 0o600])
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: clientPath))
        try handle.write(contentsOf: clientBytes)
        try handle.close()
        let evaluation = Data(NativeFormat.encode(seeded))
        try evaluation.write(to: dir.appendingPathComponent(KeyDirectory.evaluationKey))
        print("key_id \(contentHash(evaluation))")
        print(String(format: "parameters %@, generated in %.2f s; evaluation.key %.1f MB (upload once), client.key %d B (secret, 0600)",
                     parameters.name, elapsed.seconds, Double(evaluation.count) / 1e6, clientBytes.count))
    }
}

struct EncryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "encrypt", abstract: "Encrypt a price bound (u32 cents) under a client key.")
    @Option(help: "Key directory from keygen.") var key: String
    @Option(help: "Price, e.g. 3800.00.") var value: String?
    @Option(help: "Price in cents.") var cents: UInt32?
    @Option(help: "native (seeded, ~240 B) or tfhe-rs-0.5 (RadixCiphertext bincode).") var format = "native"
    @Option(help: "Write the hex here instead of standard output.") var out: String?
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        guard (value == nil) != (cents == nil) else { throw ValidationError("give exactly one of --value and --cents") }
        let amount = try cents ?? parseCents(value!)
        insecure.announce()
        let client = try KeyDirectory.clientKey(key, input: insecure.input)
        let rng = try CSPRNG()
        let bytes: [UInt8]
        switch format {
        case "native": bytes = NativeFormat.encode(client.encryptSeeded(UInt64(amount), using: rng), parameters: client.parameters)
        case "tfhe-rs-0.5": bytes = TfheRs05.encodeRadixCiphertext(client.encrypt(amount, using: rng), parameters: client.parameters)
        default: throw ValidationError("--format must be native or tfhe-rs-0.5")
        }
        let hex = Hex.encode(bytes)
        if let out { try hex.write(toFile: out, atomically: true, encoding: .utf8) } else { print(hex) }
    }
}

struct DecryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decrypt", abstract: "Decrypt a ciphertext or a result with a client key.")
    @Option(help: "Key directory from keygen.") var key: String
    @Option(help: "Ciphertext file (native or tfhe-rs 0.5, hex or binary).") var ciphertext: String
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        insecure.announce()
        let client = try KeyDirectory.clientKey(key, input: insecure.input)
        let data = try Data(contentsOf: URL(fileURLWithPath: ciphertext))
        let input = insecure.input
        let value: UInt64 = try data.withUnsafeBytes { bytes in
            switch try input.ciphertext(bytes, parameters: client.parameters) {
            case .priceBound(let bound): return client.decryptRadix(bound.ciphertext)
            case .decision(let decision): return try client.decrypt(decision) ? 1 : 0
            }
        }
        print(value)
    }
}

/// A native `/createStrategy` body: `key_id` plus seeded bounds (used by `payload` and `payload-server`).
enum NativePayload {
    static func body(client: ClientKey, keyID: String, type: StrategyType, upperCents: UInt32?, lowerCents: UInt32?,
                     fields: [String: Any], rng: CSPRNG) -> [String: Any] {
        var body = fields
        body["strategy_type"] = type.rawValue
        body["key_id"] = keyID
        func bound(_ cents: UInt32?) -> String? {
            cents.map { Hex.encode(NativeFormat.encode(client.encryptSeeded(UInt64($0), using: rng), parameters: client.parameters)) }
        }
        if type.needsUpperBound { body["encrypted_upper_bound"] = bound(upperCents) }
        if type.needsLowerBound { body["encrypted_lower_bound"] = bound(lowerCents) }
        return body
    }
}

/// `payload`: a ready `/createStrategy` JSON body on standard output.
struct PayloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payload", abstract: "Print a /createStrategy JSON body (native: key_id + seeded bounds; or legacy tfhe-rs 0.5).",
        discussion: "syphon-executor payload --key keys --strategy LIMIT_BUY_DIP --lower 3800.00 --asset-in USDC --asset-out ETH --amount 1.5 --recipient 0x… | curl -d @- …/createStrategy")
    @Option(help: "Key directory from keygen.") var key: String
    @Option(help: "Strategy type.") var strategy: String
    @Option(help: "Upper bound, e.g. 4000.00.") var upper: String?
    @Option(help: "Lower bound, e.g. 3800.00.") var lower: String?
    @Option(help: "Asset sold.") var assetIn: String
    @Option(help: "Asset bought.") var assetOut: String
    @Option(help: "Amount (decimal).") var amount: String
    @Option(help: "Recipient address (0x…).") var recipient: String
    @Option(help: "JSON file with zkp_data (default: an empty proof object).") var zkpData: String?
    @Option(help: "User id.") var userId = "user"
    @Option(help: "Idempotency key (default: a random UUID).") var payloadId: String?
    @Option(help: "native (default) or tfhe-rs-0.5 (the original, with inline keys).") var format = "native"
    @OptionGroup var insecure: InsecureTestParameters

    func run() async throws {
        guard let type = StrategyType(rawValue: strategy) else { throw LegacyRequestError.unknownStrategy(strategy) }
        if type.needsUpperBound && upper == nil { throw ValidationError("\(strategy) needs --upper") }
        if type.needsLowerBound && lower == nil { throw ValidationError("\(strategy) needs --lower") }
        insecure.announce()
        let client = try KeyDirectory.clientKey(key, input: insecure.input)
        let rng = try CSPRNG()
        var body: [String: Any] = [
            "user_id": userId, "strategy_type": type.rawValue, "asset_in": assetIn, "asset_out": assetOut, "amount": amount,
            "recipient_address": recipient, "payload_id": payloadId ?? UUID().uuidString,
            "zkp_data": try zkpData.map { try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: $0))) }
                ?? ["proof": "0x", "publicInputs": [String: String]()],
        ]
        let upperCents = try type.needsUpperBound ? upper.map(parseCents) : nil
        let lowerCents = try type.needsLowerBound ? lower.map(parseCents) : nil
        if format == "native" {
            body = NativePayload.body(client: client, keyID: try KeyDirectory.keyID(key), type: type, upperCents: upperCents,
                                      lowerCents: lowerCents, fields: body, rng: rng)
        } else {
            for (field, cents) in [("encrypted_upper_bound", upperCents), ("encrypted_lower_bound", lowerCents)] {
                body[field] = cents.map { Hex.encode(TfheRs05.encodeRadixCiphertext(client.encryptRadix(UInt64($0), blockCount: 16, using: rng),
                                                                                     parameters: client.parameters)) }
            }
        }
        switch format {
        case "native":
            break
        case "tfhe-rs-0.5":
            let serverKey = try KeyDirectory.read(key, KeyDirectory.evaluationKey).withUnsafeBytes {
                try insecure.input.serverKey($0).key
            }
            body["server_key"] = Hex.encode(TfheRs05.encodeServerKey(serverKey))
            body["encrypted_client_key"] = Hex.encode(TfheRs05.encodeRadixClientKey(client, blockCount: 16))
        default:
            throw ValidationError("--format must be native or tfhe-rs-0.5")
        }
        FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}

/// `register-key`: uploads the evaluation key once (and, for custody, the client key, stored
/// sealed by the executor); strategies then reference its key_id.
struct RegisterKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "register-key", abstract: "Upload an evaluation key to the executor (POST /keys).")
    @Option(help: "Key directory from keygen.") var key: String
    @Option(help: "Executor base URL.") var url = "http://127.0.0.1:5002"
    @Flag(help: "Also hand the client key to the executor (legacy-style custody: it decrypts the trigger decision).")
    var custody = false
    @Option(help: "API token (default: API_TOKEN from the environment).") var token: String?

    func run() async throws {
        var body = try KeyDirectory.read(key, KeyDirectory.evaluationKey)
        if custody { body.append(try KeyDirectory.read(key, KeyDirectory.clientKey)) }
        let (status, answer) = try await ExecutorAPIClient.post(url.hasSuffix("/") ? url + "keys" : url + "/keys", body,
                                                                 contentType: "application/octet-stream",
                                                                 token: token ?? ProcessInfo.processInfo.environment["API_TOKEN"])
        print(String(buffer: answer))
        if status >= 300 { throw ExitCode.failure }
    }
}

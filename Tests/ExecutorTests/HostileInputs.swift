import Crypto
@testable import Executor
import FHECore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Inputs an attacker would send, built from the genuine vectors, and a raw HTTP/1.1 client that
/// can do what URLSession hides (Expect: 100-continue, half-sent bodies).
enum HostileInputs {
    /// Bytes of one block in a small-set `RadixCiphertext` (LWE data, modulus, degree, noise,
    /// moduli, PBS order): the file is a u64 count followed by 16 of them.
    static func blockBytes(_ ct: Data) -> Int { (ct.count - 8) / 16 }

    /// A genuine small-set bound with its blocks repeated to `blocks` blocks: the u64 count and the
    /// blocks, nothing else changed (every block still decodes on its own).
    static func repeatedBlocks(_ value: UInt64, blocks: Int, folder: URL = Paths.smallSet) throws -> Data {
        let ct = try Data(contentsOf: folder.appendingPathComponent("ct_u32_\(value).bin"))
        let size = blockBytes(ct)
        var out = Data()
        withUnsafeBytes(of: UInt64(blocks).littleEndian) { out.append(contentsOf: $0) }
        for b in 0..<blocks {
            let i = b % 16
            out.append(ct[(8 + i * size)..<(8 + (i + 1) * size)])
        }
        return out
    }

    /// An insecure small-set key pair of our own, made once per test run (the genuine vectors have one
    /// key only; several tests need a second user).
    struct KeyPair: @unchecked Sendable {
        let client: ClientKey
        let server: ServerKey
        let seeded: SeededEvaluationKey
        var evaluationContainer: [UInt8] { NativeFormat.encode(seeded) }
        var clientContainer: [UInt8] { NativeFormat.encode(client) }
        var keyID: String { contentHash(evaluationContainer) }
        /// The tfhe-rs 0.5 forms (the original's inline-key payload).
        var tfheServerKey: [UInt8] { TfheRs05.encodeServerKey(server) }
        var tfheClientKey: [UInt8] { TfheRs05.encodeRadixClientKey(client, blockCount: 16) }

        static func make() -> KeyPair {
            let randomness = try! KeyGenerationRandomness()
            let client = ClientKey.generate(parameters: .insecureTfheRs05Small, using: randomness.secret)
            let (server, seeded) = SeededEvaluationKey.generate(for: client, randomness: randomness)
            return KeyPair(client: client, server: server, seeded: seeded)
        }
    }

    /// Writes an original-format strategy (the genuine small-set keys) straight into an order book,
    /// as a strategy stored by an older version — or by anyone with write access to the file — would
    /// be: no intake check ran on it.
    static func storeBypassingIntake(uri: String, keystoreKey: String, payloadID: String, type: StrategyType,
                                     upper: Data?, lower: Data?, feed: String = FeedMap.defaults["ETH"]!) async throws {
        let db = try await OrderBookDatabase.open(uri: uri)
        let serverKey = try Data(contentsOf: Paths.smallSet.appendingPathComponent("server_key.bin"))
        let clientKey = try Data(contentsOf: Paths.smallSet.appendingPathComponent("client_key.bin"))
        let keystore = Keystore(key: SymmetricKey(data: try Hex.decode(keystoreKey)))
        let clientKeyID = contentHash(clientKey), now = Date()
        let bounds = [upper, lower].compactMap { $0 }.map { (id: contentHash($0), data: $0) }
        let record = StrategyRecord(
            id: nil, payloadId: payloadID, userId: "stored", strategyType: type.rawValue, assetIn: "USDC", assetOut: "ETH", amount: "1",
            recipientAddress: nil, zkpData: "{}", upperBoundId: upper.map(contentHash), lowerBoundId: lower.map(contentHash),
            serverKeyId: contentHash(serverKey), clientKeyId: clientKeyID, priceFeedId: feed, expiresAt: nil, status: .pending,
            triggerPriceCents: nil, triggeredAt: nil, txHash: nil, signedTransaction: nil, failureReason: nil, createdAt: now, updatedAt: now)
        _ = try await db.createStrategy(.init(record: record, serverKey: (contentHash(serverKey), "insecure-tfhe-rs-0.5-small-test-vectors", serverKey),
                                        clientKey: (clientKeyID, try keystore.seal(clientKey, keyID: clientKeyID)), bounds: bounds))
    }

    static let alice = KeyPair.make()
    static let bob = KeyPair.make()

    /// A native `/createStrategy` body for `pair` (bounds encrypted fresh unless `rng` is given).
    static func nativeBody(_ pair: KeyPair, id: String, type: StrategyType = .limitBuyDip, upper: UInt32? = 400_000,
                           lower: UInt32? = 380_000, rng: CSPRNG? = nil, extra: [String: Any] = [:]) throws -> Data {
        var fields: [String: Any] = [
            "user_id": "u", "asset_in": "USDC", "asset_out": "ETH", "amount": "1", "payload_id": id,
            "recipient_address": "0x" + String(repeating: "1a", count: 20),
            "zkp_data": ["proof": "0x00", "publicInputs": ["asset": "0x0", "amount": "1", "nullifier": "2", "newCommitment": "3"]],
        ]
        fields.merge(extra) { $1 }
        let body = NativePayload.body(client: pair.client, keyID: pair.keyID, type: type, upperCents: upper, lowerCents: lower,
                                      fields: fields, rng: try rng ?? CSPRNG())
        return try JSONSerialization.data(withJSONObject: body)
    }
}

/// A raw HTTP/1.1 exchange over a loopback socket: the head first, then (maybe) the body.
final class RawHTTPConnection {
    let fd: Int32

    init(port: Int) throws { fd = try LoopbackHTTP.connect(port: port) }

    deinit { close(fd) }

    func send(_ data: Data) throws { try LoopbackHTTP.writeAll(fd, data) }

    func sendHead(method: String = "POST", path: String, headers: [String: String]) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        try send(Data((head + "\r\n").utf8))
    }

    /// Whatever arrives within `seconds` (stops early once a complete head is in and `untilHead`).
    func receive(within seconds: Double, untilHead: Bool = true) -> String {
        var collected = Data()
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&poller, 1, wait) > 0 else { break }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            collected.append(buffer, count: n)
            if untilHead, collected.range(of: Data("\r\n\r\n".utf8)) != nil { break }
        }
        return String(decoding: collected, as: UTF8.self)
    }
}

import AsyncHTTPClient
import BigInt
import FHECore
import Foundation
import NIOCore

/// What went wrong talking to the node. `unreachable` is an outage (retry later); `rpc` is the
/// node's answer (a revert carries its ABI-encoded data); `malformed` is an answer we cannot read.
enum JSONRPCError: Error, CustomStringConvertible {
    case unreachable(String)
    case rpc(code: Int, message: String, data: [UInt8]?)
    case malformed(String)

    /// A contract revert during eth_call / eth_estimateGas (geth's code 3, or revert data present).
    var isRevert: Bool {
        guard case .rpc(let code, let message, let data) = self else { return false }
        return code == 3 || data != nil || message.localizedCaseInsensitiveContains("revert")
    }

    /// The decoded revert reason (from the data when present, else the node's message).
    var revertReason: String {
        guard case .rpc(_, let message, let data) = self else { return description }
        if let data, !data.isEmpty { return ABI.revertReason(data) }
        return message
    }

    /// The same error with every trace of the node's URL secrets removed.
    func scrubbed(by url: SecretURL) -> JSONRPCError {
        switch self {
        case .unreachable(let why): .unreachable(url.scrub(why))
        case .rpc(let code, let message, let data): .rpc(code: code, message: url.scrub(message), data: data)
        case .malformed(let why): .malformed(url.scrub(why))
        }
    }

    var description: String {
        switch self {
        case .unreachable(let why): "node unreachable: \(why)"
        case .rpc(let code, let message, _): "node error \(code): \(message.prefix(300))"
        case .malformed(let why): "malformed node answer: \(why)"
        }
    }
}

/// A transaction receipt, the fields the finalizer records.
struct TransactionReceipt: Sendable, Equatable {
    var transactionHash: String
    var succeeded: Bool
    var gasUsed: UInt64
    var blockNumber: UInt64
}

/// The Ethereum JSON-RPC calls the executor makes, over AsyncHTTPClient. The node's URL may hold
/// an API key: every error this client raises is scrubbed of it (see ``SecretURL``).
struct JSONRPCClient: Sendable {
    let url: SecretURL
    var timeout: TimeAmount = .seconds(15)
    var http: HTTPClient = .shared
    private let ids = LockedValue(0)

    init(url: SecretURL, timeout: TimeAmount = .seconds(15)) {
        self.url = url
        self.timeout = timeout
    }

    init(url: String, timeout: TimeAmount = .seconds(15)) { self.init(url: SecretURL(url), timeout: timeout) }

    /// One call; the `result` member of the answer (may be NSNull).
    func request(_ method: String, _ params: [Any]) async throws -> Any {
        do { return try await requestUnscrubbed(method, params) } catch let error as JSONRPCError {
            throw error.scrubbed(by: url)
        }
    }

    private func requestUnscrubbed(_ method: String, _ params: [Any]) async throws -> Any {
        let id = ids.update { $0 += 1; return $0 }
        let body = try JSONSerialization.data(withJSONObject: ["jsonrpc": "2.0", "id": id, "method": method, "params": params])
        var request = HTTPClientRequest(url: url.value)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: body))
        let answer: ByteBuffer
        do {
            let response = try await http.execute(request, timeout: timeout)
            answer = try await response.body.collect(upTo: 16 << 20)
            guard response.status == .ok else {
                throw JSONRPCError.unreachable("HTTP \(response.status.code) from \(url.redacted): \(String(buffer: answer).prefix(200))")
            }
        } catch let e as JSONRPCError { throw e } catch { throw JSONRPCError.unreachable("\(error)") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: answer), options: [.fragmentsAllowed]) as? [String: Any] else {
            throw JSONRPCError.malformed("not a JSON-RPC object: \(String(buffer: answer).prefix(200))")
        }
        if let error = object["error"] as? [String: Any] {
            let data = (error["data"] as? String).flatMap(HexString.decode)
            throw JSONRPCError.rpc(code: error["code"] as? Int ?? 0, message: error["message"] as? String ?? "", data: data)
        }
        guard let result = object["result"] else { throw JSONRPCError.malformed("no result in answer to \(method)") }
        return result
    }

    static func quantity(_ value: Any, _ what: String) throws -> BigUInt {
        guard let s = value as? String, s.hasPrefix("0x"), let v = BigUInt(quantity: s) else {
            throw JSONRPCError.malformed("\(what) is not a hex quantity: \(value)")
        }
        return v
    }

    static func small(_ value: Any, _ what: String) throws -> UInt64 {
        let v = try quantity(value, what)
        guard v.bitWidth <= 64 else { throw JSONRPCError.malformed("\(what) exceeds 64 bits") }
        return UInt64(v)
    }

    /// A call object (`from` optional; calldata as `data`, which every node reads).
    static func callObject(from: EthereumAddress?, to: EthereumAddress, data: [UInt8]) -> [String: Any] {
        var call: [String: Any] = ["to": to.checksummed, "data": HexString.encode(data)]
        if let from { call["from"] = from.checksummed }
        return call
    }

    func chainID() async throws -> UInt64 { try Self.small(try await request("eth_chainId", []), "chainId") }
    func gasPrice() async throws -> BigUInt { try Self.quantity(try await request("eth_gasPrice", []), "gasPrice") }
    func pendingNonce(_ address: EthereumAddress) async throws -> UInt64 { try await transactionCount(address, block: "pending") }

    /// How many transactions of `address` are in blocks up to `block` ("latest": the next nonce the
    /// chain expects; every lower nonce is used).
    func transactionCount(_ address: EthereumAddress, block: String = "latest") async throws -> UInt64 {
        try Self.small(try await request("eth_getTransactionCount", [address.checksummed, block]), "nonce")
    }

    func blockNumber() async throws -> UInt64 { try Self.small(try await request("eth_blockNumber", []), "block number") }

    /// The number of the block the node calls `finalized`.
    func finalizedBlockNumber() async throws -> UInt64 {
        guard let block = try await request("eth_getBlockByNumber", ["finalized", false]) as? [String: Any], let number = block["number"] else {
            throw JSONRPCError.malformed("the node has no finalized block")
        }
        return try Self.small(number, "finalized block number")
    }

    /// The latest block's base fee (nil before London).
    func baseFee() async throws -> BigUInt? {
        guard let block = try await request("eth_getBlockByNumber", ["latest", false]) as? [String: Any] else {
            throw JSONRPCError.malformed("no latest block")
        }
        return try block["baseFeePerGas"].map { try Self.quantity($0, "baseFeePerGas") }
    }

    func call(_ call: [String: Any]) async throws -> [UInt8] {
        guard let s = try await request("eth_call", [call, "latest"]) as? String, let bytes = HexString.decode(s) else {
            throw JSONRPCError.malformed("eth_call result is not hex")
        }
        return bytes
    }

    func estimateGas(_ call: [String: Any]) async throws -> UInt64 {
        try Self.small(try await request("eth_estimateGas", [call, "latest"]), "gas estimate")
    }

    func sendRawTransaction(_ raw: [UInt8]) async throws -> String {
        guard let hash = try await request("eth_sendRawTransaction", [HexString.encode(raw)]) as? String else {
            throw JSONRPCError.malformed("eth_sendRawTransaction result is not a hash")
        }
        return hash.lowercased()
    }

    /// Whether the node knows the transaction at all (pending or mined).
    func knowsTransaction(_ hash: String) async throws -> Bool {
        !(try await request("eth_getTransactionByHash", [hash]) is NSNull)
    }

    /// The receipt, or nil while the transaction is not mined (or unknown).
    func receipt(_ hash: String) async throws -> TransactionReceipt? {
        let result = try await request("eth_getTransactionReceipt", [hash])
        if result is NSNull { return nil }
        guard let r = result as? [String: Any], let status = r["status"], let gas = r["gasUsed"], let block = r["blockNumber"] else {
            throw JSONRPCError.malformed("receipt without status, gasUsed or blockNumber")
        }
        return TransactionReceipt(transactionHash: (r["transactionHash"] as? String ?? hash).lowercased(),
                                  succeeded: try Self.small(status, "status") == 1, gasUsed: try Self.small(gas, "gasUsed"),
                                  blockNumber: try Self.small(block, "blockNumber"))
    }
}

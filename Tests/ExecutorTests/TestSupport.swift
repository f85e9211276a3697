import BigInt
@testable import Executor
import FHECore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let smallSet = root.appendingPathComponent("vectors/tfhe-rs-0.5-small")
    static let realSet = root.deletingLastPathComponent().appendingPathComponent("shared/vectors/tfhe-rs-0.5/real")
    /// The binary `swift build --build-tests` produced next to the test bundle.
    static var binary: URL {
        let candidates = [".build/debug/syphon-executor", ".build/release/syphon-executor"].map { root.appendingPathComponent($0) }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }
}

struct Manifest: Decodable {
    struct Comparison: Decodable {
        let ciphertext_file: String
        let plaintext: UInt64
        let price: UInt64
        let scalar_le: Bool
        let scalar_ge: Bool
    }
    let comparisons: [Comparison]
    static func load(_ folder: URL) throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: folder.appendingPathComponent("manifest.json")))
    }
}

/// Runs the real binary to completion; returns (status, stdout, stderr).
@discardableResult
func runBinary(_ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String, String) {
    try runProcess(Paths.binary, arguments, environment: environment)
}

/// Runs a program to completion with `stdin` as its input; returns (status, stdout, stderr).
@discardableResult
func runProcess(_ executable: URL, _ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil) throws
    -> (Int32, String, String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    if stdin != nil { process.standardInput = input }
    try process.run()
    if let stdin {
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
    }
    // Both pipes drained at once: a child that fills one while we wait on the other would block.
    let errors = LockedValue(Data()), errorsRead = DispatchSemaphore(value: 0)
    let errorReader = err.fileHandleForReading
    DispatchQueue.global().async { errors.set(errorReader.readDataToEndOfFile()); errorsRead.signal() }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    errorsRead.wait()
    let stderr = errors.get()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// The environment of a `serve` under test: a database in `dir`, a fast tick, a Hermes URL.
func serveEnvironment(_ dir: URL, hermes: String = "http://127.0.0.1:9") -> [String: String] {
    ["PYTH_HERMES_URL": hermes, "PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting, "CHECK_INTERVAL_SECONDS": "0.2",
     "DATABASE_URI": "sqlite:///" + dir.appendingPathComponent("strategies.db").path]
}

/// Starts `serve` expecting it to refuse: returns its exit status and what it printed.
func refusedStart(_ arguments: [String], environment: [String: String]) throws -> (Process.TerminationReason, Int32, String) {
    let process = Process()
    process.executableURL = Paths.binary
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let deadline = Date().addingTimeInterval(30)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return (process.terminationReason, process.terminationStatus,
            String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
}

/// A long-running instance of the binary (a server) on a free loopback port, stopped on deinit.
final class RunningServer {
    let process = Process()
    let port: Int
    private let log = Pipe()
    /// Everything the server wrote, read as it comes: a pipe nobody drains fills at 64 KiB and then
    /// blocks the server's next log line, and with it the request that logs.
    private let captured = LockedValue(Data())
    private let drained = DispatchSemaphore(value: 0)

    /// `waitUntilReady: false` for a process expected to die before it answers (fault injection).
    init(_ arguments: (Int) -> [String], port fixedPort: Int? = nil, environment: [String: String] = [:], waitUntilReady: Bool = true) throws {
        port = fixedPort ?? Int.random(in: 20_000...60_000)
        process.executableURL = Paths.binary
        process.arguments = arguments(port)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let reader = log.fileHandleForReading, captured = self.captured, drained = self.drained
        DispatchQueue.global().async {
            while case let chunk = reader.availableData, !chunk.isEmpty { captured.update { $0.append(chunk) } }
            drained.signal()
        }
        if !waitUntilReady { return }
        // Wait until it accepts connections. There is no progress to observe before that: the
        // ceiling is generous, and an exit fails at once.
        let ceiling = Date().addingTimeInterval(180)
        while Date() < ceiling {
            if (try? httpRequest("GET", "/health")) != nil { return }
            guard process.isRunning else { throw ProgressStalled(description: "the server exited before it listened") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.terminate()
        throw ProgressStalled(description: "the server did not listen within 180 s")
    }

    /// What the server wrote to standard output and error; once it has exited, all of it.
    func output() -> String {
        if !process.isRunning, drained.wait(timeout: .now() + 10) == .success { drained.signal() }
        return String(decoding: captured.get(), as: UTF8.self)
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    /// Sends one request and waits for the answer: (status, body, headers).
    func httpRequest(_ method: String, _ path: String, body: Data? = nil, headers: [String: String] = [:]) throws
        -> (Int, Data, [AnyHashable: Any]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.httpBody = body
        request.timeoutInterval = 120
        request.cachePolicy = .reloadIgnoringLocalCacheData // tests poll /health for progress
        // The executor's POST routes take JSON (a test that means otherwise says so).
        if method == "POST", !headers.keys.contains(where: { $0.lowercased() == "content-type" }) {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<(Int, Data, [AnyHashable: Any]), any Error> = .failure(URLError(.unknown))
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { result = .failure(error) } else {
                let http = response as! HTTPURLResponse
                result = .success((http.statusCode, data ?? Data(), http.allHeaderFields))
            }
            done.signal()
        }.resume()
        done.wait()
        return try result.get()
    }
}

extension RunningServer {
    /// The server's /health document.
    func health() throws -> [String: Any] {
        let (_, data, _) = try httpRequest("GET", "/health")
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// Ticks the scheduler has completed (from /health).
    func ticks() throws -> Int { ((try health()["scheduler"] as? [String: Any])?["ticks"] as? Int) ?? 0 }

    /// Waits until `condition` holds, for as long as the scheduler makes progress (see
    /// ``waitWhileProgressing``); fails at once if the server exits.
    func waitForProgress(until condition: () async throws -> Bool, stall: TimeInterval = 60) async throws {
        try await waitWhileProgressing(until: {
            if try await condition() { return true }
            guard process.isRunning else { throw ProgressStalled(description: "the server exited") }
            return false
        }, progress: { (try? ticks()) ?? -1 }, stall: stall)
    }

    /// Waits for `count` more completed ticks.
    func waitForTicks(_ count: Int) async throws {
        let target = try ticks() + count
        try await waitForProgress(until: { try ticks() >= target })
    }
}

struct ProgressStalled: Error, CustomStringConvertible { let description: String }

/// Waits until `condition` holds. Machines differ 3–4× in speed and CI may share its machine, so
/// there is no fixed budget: the wait fails only when `progress` (a tick counter, an event count)
/// has not changed for `stall` seconds.
func waitWhileProgressing(until condition: () async throws -> Bool, progress: () async throws -> Int,
                          stall: TimeInterval = 60) async throws {
    var last = try await progress(), lastChange = Date()
    while try await !condition() {
        let now = try await progress()
        if now != last { last = now; lastChange = Date() }
        guard Date().timeIntervalSince(lastChange) < stall else {
            throw ProgressStalled(description: "no progress for \(Int(stall)) s (stuck at \(now))")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
}

nonisolated(unsafe) private let hexCache = NSCache<NSURL, NSString>() // NSCache is thread-safe

/// The lowercase hex of a file (the original system's wire form), memoised per file.
func hexOfFile(_ url: URL) throws -> String {
    if let cached = hexCache.object(forKey: url as NSURL) { return cached as String }
    let hex = Hex.encode(try Data(contentsOf: url))
    hexCache.setObject(hex as NSString, forKey: url as NSURL)
    return hex
}

/// The loopback EVM devnode (py-evm) with the mock Entrypoint deployed, on a free port; stopped
/// on deinit. Needs the `.venv-evm` that `make test` installs.
final class DevNode: @unchecked Sendable {
    static let paths = LocalDevnode.Paths(repository: Paths.root)
    static var fixtures: URL { paths.script.deletingLastPathComponent() }
    static var python: URL { paths.python }
    static var isAvailable: Bool { paths.exist }
    /// `make test` sets this: a missing devnode is then a failure, not a skip.
    static var isRequired: Bool { ProcessInfo.processInfo.environment["SYPHON_REQUIRE_DEVNODE"] == "1" }
    /// Anvil's dev keys: 0 deploys and owns the mock; 1 is the executor's account.
    static let deployerKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
    static let executorKey = LocalDevnode.executorKey
    static let deployer = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

    let node: LocalDevnode
    var port: Int { node.port }
    var contract: String { node.contract }
    var url: String { node.url }
    var rpc: JSONRPCClient { JSONRPCClient(url: url) }

    var tokens: [String: String] { node.tokens }

    /// `tokens`: mock ERC-20s (symbol → decimals) deployed at start.
    init(tokens: [String: UInt8] = [:]) throws { node = try LocalDevnode(Self.paths, tokens: tokens) }

    /// A transaction from a dev account, signed by the node (deploy/configure the mock).
    func send(from: String = DevNode.deployer, to: String, data: [UInt8]) async throws {
        let hash = try await rpc.request("eth_sendTransaction", [["from": from, "to": to, "data": HexString.encode(data)]]) as! String
        let receipt = try await rpc.receipt(hash)
        guard receipt?.succeeded == true else { throw LocalDevnode.StartFailure(description: "dev transaction failed") }
    }

    /// Makes the mock revert every swap with `reason` (empty: succeed) and verify() return `proofsValid`.
    func configureMock(revertReason: String, proofsValid: Bool = true) async throws {
        try await send(to: contract, data: try ABI.call("configure(string,bool)", [(.string, .string(revertReason)), (.bool, .bool(proofsValid))]))
    }

    /// Drops the connections of the listed methods ("*": all) without an answer, until cleared.
    func setOutage(_ methods: [String]) async throws { _ = try await rpc.request("devnode_setOutage", [methods]) }

    func swapCount() async throws -> Int {
        let data = try await rpc.call(JSONRPCClient.callObject(from: nil, to: try EthereumAddress(contract), data: Keccak.selector("swapCount()")))
        guard case .uint(let n)? = try ABI.decode([.uint(bits: 256)], from: data).first else { return -1 }
        return Int(n)
    }

    /// Every swap the mock recorded, decoded from its SwapExecuted logs: (tx hash, order).
    func swapLogs() async throws -> [(String, Entrypoint.SwapOrder)] {
        let topic = HexString.encode(Keccak.hash256(Array("SwapExecuted(address,address,address,address,uint256,uint256,uint24,uint256,uint256,bytes)".utf8)))
        let logs = try await rpc.request("eth_getLogs", [["address": contract, "fromBlock": "0x0", "toBlock": "latest", "topics": [topic]]]) as! [[String: Any]]
        return try logs.map { log in
            let data = HexString.decode(log["data"] as! String)!
            // The event's data is exactly swap's argument tuple.
            return ((log["transactionHash"] as! String).lowercased(), try Entrypoint.SwapOrder(calldata: Keccak.selector(Entrypoint.swapSignature) + data))
        }
    }

    func nonce(_ address: String) async throws -> UInt64 { try await rpc.pendingNonce(try EthereumAddress(address)) }

    /// The pool's price for the mock's swaps: output units per input unit × 10^18 (0: every swap fills).
    func setPoolRate(_ rate: BigUInt) async throws {
        try await send(to: contract, data: try ABI.call("setPoolRate(uint256)", [(.uint(bits: 256), .uint(rate))]))
    }

    /// Off: transactions wait in the pool until `mine()` (or automine is back on).
    func setAutomine(_ on: Bool) async throws { _ = try await rpc.request("devnode_setAutomine", [on]) }
    /// Raw transactions at `nonce` (nil: any) are refused with `message`, `count` times (nil: until cleared).
    func rejectSends(nonce: Int?, message: String, count: Int? = nil) async throws {
        _ = try await rpc.request("devnode_rejectSends", [nonce.map { $0 as Any } ?? NSNull(), message, count.map { $0 as Any } ?? NSNull()])
    }
    func clearRejections() async throws { _ = try await rpc.request("devnode_rejectSends", [NSNull(), "", 0]) }
    /// On: receipts and transaction lookups answer null (a node whose index lags).
    func setLagging(_ on: Bool) async throws { _ = try await rpc.request("devnode_setLagging", [on]) }
    /// The fee market: eth_gasPrice answers `wei` (nil: the chain's own).
    func setGasPrice(_ wei: BigUInt?) async throws {
        _ = try await rpc.request("devnode_setGasPrice", [wei.map { String($0) as Any } ?? NSNull()])
    }
    func snapshot() async throws -> String { try await rpc.request("evm_snapshot", []) as! String }
    func revert(to snapshot: String) async throws { _ = try await rpc.request("evm_revert", [snapshot]) }
    /// Mines the pool, or an empty block.
    func mine() async throws { _ = try await rpc.request("evm_mine", []) }
}

extension PythTrustRoots {
    /// The built-in roots plus the local Hermes stand-in's test guardians (tests only).
    static var standIn: PythTrustRoots {
        var roots = PythTrustRoots.builtIn
        roots.guardianSets[HermesStandIn.testGuardianSetIndex] = .init(addresses: HermesStandIn.testGuardians.map(\.address), quorum: 3)
        return roots
    }
}

extension OrderBookDatabase {
    /// Triggers at a plain price with no signed update (what PYTH_VERIFY=0 records), for tests that
    /// start from TRIGGERED.
    @discardableResult
    func markTriggered(_ ids: [Int64], priceCents: UInt32, at time: Date) async throws -> [Int64] {
        let quote = PriceQuote(feedID: "", price: Int64(priceCents), conf: 0, expo: -2, publishTime: Int64(time.timeIntervalSince1970))
        return try await markTriggered(ids, price: PriceOracle.Accepted(quote: quote, cents: priceCents), at: time)
    }
}

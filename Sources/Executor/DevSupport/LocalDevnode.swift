import Foundation

/// The loopback EVM devnode of the repository (`Tests/Fixtures/chain/evm-devnode.py`, py-evm in
/// `.venv-evm`) with the mock Entrypoint deployed, as a child process on a free port. Used by
/// `demo` and the tests; stopped (SIGKILL: its chain lives in memory only) on `stop` or deinit.
final class LocalDevnode: @unchecked Sendable {
    let process = Process()
    let port: Int
    /// The mock Entrypoint's address.
    let contract: String
    /// Mock ERC-20 tokens deployed at start (symbol → address), each with its decimals.
    let tokens: [String: String]
    /// Anvil's dev account 1 (a public test key, funded on the devnode only): the executor's signer.
    static let executorKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
    static let chainID: UInt64 = 31337
    var url: String { "http://127.0.0.1:\(port)" }

    struct Paths {
        let python: URL, script: URL, contract: URL
        init(repository: URL) {
            python = repository.appendingPathComponent(".venv-evm/bin/python")
            script = repository.appendingPathComponent("Tests/Fixtures/chain/evm-devnode.py")
            contract = repository.appendingPathComponent("Tests/Fixtures/chain/MockEntrypoint.json")
        }
        var exist: Bool {
            FileManager.default.isExecutableFile(atPath: python.path) && FileManager.default.fileExists(atPath: script.path)
                && FileManager.default.fileExists(atPath: contract.path)
        }
    }

    struct StartFailure: Error, CustomStringConvertible { let description: String }

    /// `tokens`: symbol → decimals of mock tokens to deploy; `blockTime`: an empty block every so
    /// many seconds (confirmations on an otherwise quiet chain).
    init(_ paths: Paths, tokens: [String: UInt8] = [:], blockTime: Double? = nil, timeout: TimeInterval = 60) throws {
        process.executableURL = paths.python
        process.arguments = [paths.script.path, "--port", "0", "--deploy", paths.contract.path]
            + tokens.sorted { $0.key < $1.key }.flatMap { ["--token", "\($0.key)=\($0.value)"] }
            + (blockTime.map { ["--block-time", "\($0)"] } ?? [])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        // First line: "Listening on 127.0.0.1:PORT chainId=N contract=0x…".
        var line = Data()
        let deadline = Date().addingTimeInterval(timeout)
        while !line.contains(UInt8(ascii: "\n")) && Date() < deadline && process.isRunning {
            line += out.fileHandleForReading.availableData
        }
        let text = String(decoding: line, as: UTF8.self)
        let words = text.split(separator: " ")
        guard let address = words.first(where: { $0.hasPrefix("127.0.0.1:") }), let port = Int(address.dropFirst("127.0.0.1:".count)),
              let contract = words.first(where: { $0.hasPrefix("contract=") })?.dropFirst("contract=".count) else {
            kill(process.processIdentifier, SIGKILL)
            throw StartFailure(description: "the devnode did not start: \(text.isEmpty ? "no output" : text)")
        }
        self.port = port
        self.contract = contract.trimmingCharacters(in: .whitespacesAndNewlines)
        // "tokens=USDC:0x…,ETH:0x…"
        let listed = words.first(where: { $0.hasPrefix("tokens=") })?.dropFirst("tokens=".count)
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        self.tokens = Dictionary(uniqueKeysWithValues: listed.split(separator: ",").compactMap { entry -> (String, String)? in
            let parts = entry.split(separator: ":", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        })
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    deinit { stop() }
}

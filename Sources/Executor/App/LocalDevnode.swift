import Foundation

/// The loopback EVM devnode of the repository (`Tests/Fixtures/chain/evm-devnode.py`, py-evm in
/// `.venv-evm`) with the mock Entrypoint deployed, as a child process on a free port. Used by
/// `demo` and the tests; stopped (SIGKILL: its chain lives in memory only) on `stop` or deinit.
final class LocalDevnode: @unchecked Sendable {
    let process = Process()
    let port: Int
    /// The mock Entrypoint's address.
    let contract: String
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

    init(_ paths: Paths, timeout: TimeInterval = 60) throws {
        process.executableURL = paths.python
        process.arguments = [paths.script.path, "--port", "0", "--deploy", paths.contract.path]
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
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    deinit { stop() }
}

import FHECore
import Foundation

/// A service of this same binary (`custodian`, `serve`) run as a child process on loopback for
/// `demo`, `bench custody`, `bench compat` and `bench scale`: started on a port of its own, ready once it answers
/// /health, its memory read from /proc, stopped by ``stop()`` — or when this process is
/// interrupted or terminated, so that no child outlives the command that started it.
final class LocalService: @unchecked Sendable {
    let process: Process
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    struct Failure: Error, CustomStringConvertible { let description: String }

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    /// This binary, wherever it was started from.
    static var executable: URL {
        let invoked = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        if !FileManager.default.isExecutableFile(atPath: invoked.path), let own = Bundle.main.executableURL { return own }
        return invoked
    }

    /// Starts `arguments` with `environment` over this process's own, the port chosen here given to
    /// `arguments` (the command names its own flag for it); output goes to `log` or nowhere.
    static func start(_ arguments: (_ port: Int) -> [String], environment: [String: String], log: URL? = nil) throws -> LocalService {
        let port = Int.random(in: 20_000...60_000)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments(port)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let log {
            guard FileManager.default.createFile(atPath: log.path, contents: nil) else { throw Failure(description: "cannot create \(log.path)") }
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        _ = stopOnSignals
        try process.run()
        let service = LocalService(process: process, port: port)
        running.update { $0.append(service) }
        return service
    }

    /// The children still running, stopped by SIGINT or SIGTERM before this process exits.
    private static let running = LockedValue<[LocalService]>([])
    nonisolated(unsafe) private static let stopOnSignals: [any DispatchSourceSignal] = [SIGINT, SIGTERM].map { signalNumber in
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler {
            for service in running.get() { service.stop() }
            exit(128 + signalNumber)
        }
        source.resume()
        return source
    }

    /// Waits until /health answers 200 (at most `seconds`); stops the process and throws otherwise.
    func waitUntilReady(seconds: Double = 60) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if process.isRunning, (try? await ExecutorAPIClient.get(url + "/health", timeout: .seconds(1)))?.0 == 200 { return }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        stop()
        throw Failure(description: "\(process.arguments?.first ?? "service") at \(url) did not start")
    }

    /// Resident memory now and at its peak (VmRSS, VmHWM of /proc/<pid>/status), in bytes.
    var residentBytes: (now: Int, peak: Int)? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8) else { return nil }
        func kib(_ field: String) -> Int? {
            status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
                .flatMap { line in Int(line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") }
        }
        guard let now = kib("VmRSS"), let peak = kib("VmHWM") else { return nil }
        return (now << 10, peak << 10)
    }

    func stop() {
        Self.running.update { $0.removeAll { $0 === self } }
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

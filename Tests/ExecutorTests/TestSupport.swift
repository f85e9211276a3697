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
    let process = Process()
    process.executableURL = Paths.binary
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// A long-running instance of the binary (a server) on a free loopback port, stopped on deinit.
final class RunningServer {
    let process = Process()
    let port: Int
    let log = Pipe()

    init(_ arguments: (Int) -> [String], environment: [String: String] = [:]) throws {
        port = Int.random(in: 20_000...60_000)
        process.executableURL = Paths.binary
        process.arguments = arguments(port)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = log
        process.standardError = log
        try process.run()
        // Wait until it accepts connections.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if (try? httpRequest("GET", "/health")) != nil { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        process.terminate()
        throw CocoaError(.fileReadUnknown)
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

nonisolated(unsafe) private let hexCache = NSCache<NSURL, NSString>() // NSCache is thread-safe

/// The lowercase hex of a file (the original system's wire form), memoised per file.
func hexOfFile(_ url: URL) throws -> String {
    if let cached = hexCache.object(forKey: url as NSURL) { return cached as String }
    let hex = Hex.encode(try Data(contentsOf: url))
    hexCache.setObject(hex as NSString, forKey: url as NSURL)
    return hex
}

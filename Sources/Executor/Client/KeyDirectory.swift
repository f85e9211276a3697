import ArgumentParser
import FHECore
import Foundation

/// A user's key directory: `client.key` (secret, 0600) and `evaluation.key` (uploaded once). The CLI
/// (`keygen`) and the payload server make them the same way.
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

    /// A `POST /keys` body: the evaluation key, followed by the client key for custody (the
    /// executor can then decrypt the decisions; without custody it never sees the client key).
    static func registration(_ dir: String, custody: Bool) throws -> Data {
        var body = try read(dir, evaluationKey)
        if custody { body.append(try read(dir, clientKey)) }
        return body
    }

    /// What `generate` made.
    struct Generated {
        let client: ClientKey
        let keyID: String
        let evaluationKeyBytes: Int
        let clientKeyBytes: Int
    }

    /// Generates a client key and its seeded evaluation key into `dir` (created 0700 if missing). The
    /// client key's serialized bytes are written to a 0600 file and wiped from memory afterwards.
    static func generate(into dir: URL, parameters: ParameterSet, threads: Int = Parallelism.availableCores,
                         progress: KeyGenerationProgressHandler? = nil) throws -> Generated {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let randomness = try KeyGenerationRandomness()
        let client = ClientKey.generate(parameters: parameters, using: randomness.secret)
        let (_, seeded) = SeededEvaluationKey.generate(for: client, randomness: randomness, threads: threads, progress: progress)
        let clientPath = dir.appendingPathComponent(clientKey).path
        var clientBytes = Data(NativeFormat.encode(client))
        defer { clientBytes.resetBytes(in: 0..<clientBytes.count) }
        guard FileManager.default.createFile(atPath: clientPath, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot create \(clientPath)")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: clientPath))
        try handle.write(contentsOf: clientBytes)
        try handle.close()
        let evaluation = Data(NativeFormat.encode(seeded))
        try evaluation.write(to: dir.appendingPathComponent(evaluationKey))
        return Generated(client: client, keyID: contentHash(evaluation), evaluationKeyBytes: evaluation.count, clientKeyBytes: clientBytes.count)
    }
}

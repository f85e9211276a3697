import ArgumentParser
import Foundation

/// `register-key`: uploads the evaluation key once (and, for custody, the client key, stored
/// sealed by the executor); strategies then reference its key_id.
struct RegisterKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "register-key", abstract: "Upload an evaluation key to the executor (POST /keys).")
    @Option(help: "Key directory from keygen.") var key: String
    @Option(help: "Executor base URL.") var url = "http://127.0.0.1:5002"
    @Flag(help: "Also hand the client key to the executor (custody: the executor can then decrypt the trigger decision).")
    var custody = false
    @Option(help: "API token (default: API_TOKEN from the environment).") var token: String?

    func run() async throws {
        var body: Data
        if let bundle = try KeyDirectory.thresholdBundle(key) {
            // Shared among custodians: the shares travel sealed to them, no client key leaves.
            if custody { throw ValidationError("--custody hands the client key to the executor; this key directory is shared among custodians") }
            body = bundle.frames.encoded()
        } else {
            body = try KeyDirectory.registration(key, custody: custody)
        }
        defer { body.resetBytes(in: 0..<body.count) } // with --custody it holds the client key
        let (status, answer) = try await ExecutorAPIClient.post(url.hasSuffix("/") ? url + "keys" : url + "/keys", body,
                                                                 contentType: "application/octet-stream",
                                                                 token: token ?? ConfigurationValues()["API_TOKEN"])
        print(String(buffer: answer))
        if status >= 300 { throw ExitCode.failure }
    }
}

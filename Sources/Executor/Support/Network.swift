import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdCore

extension HTTPServerBuilder {
    /// HTTP/1.1 for every service of the binary: a connection with no request in flight is closed
    /// after a minute (a half-closed one after an early refusal included), so idle sockets cannot
    /// pile up.
    static var executorHTTP1: HTTPServerBuilder { .http1(configuration: .init(idleTimeout: .seconds(60))) }
}

/// A URL that may carry credentials — RPC providers put API keys in the path, the query or the
/// user info. Connections use `value`; logs, errors, stored messages and answers only ever show
/// `redacted` (scheme, host and port), and any text about it goes through `scrub`.
struct SecretURL: Sendable, CustomStringConvertible {
    let value: String
    let redacted: String
    private let secrets: [String]

    init(_ value: String) {
        self.value = value
        let components = URLComponents(string: value)
        var shown = (components?.scheme.map { $0 + "://" } ?? "") + (components?.host ?? "<unparsable URL>")
        if let port = components?.port { shown += ":\(port)" }
        let hasMore = !(components?.percentEncodedPath ?? "").isEmpty && components?.percentEncodedPath != "/"
            || components?.query != nil || components?.user != nil
        redacted = shown + (hasMore ? "/…" : "")
        let parts = [components?.user, components?.password, components?.percentEncodedPath, components?.path, components?.query,
                     components?.percentEncodedQuery, components?.fragment]
        // The whole URL first, then its parts (longest first); trivial parts ("/") are not secrets.
        secrets = ([value] + parts.compactMap { $0 }.filter { $0.count >= 4 }.sorted { $0.count > $1.count })
    }

    var description: String { redacted }

    /// `text` with every occurrence of the URL or its secret parts replaced.
    func scrub(_ text: String) -> String {
        var out = text
        for secret in secrets where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: secret == value ? redacted : "…")
        }
        return out
    }

    /// https anywhere, or http on loopback: where client keys may be sent.
    var isSafeForSecrets: Bool {
        guard let components = URLComponents(string: value), let host = components.host, !host.isEmpty else { return false }
        switch components.scheme?.lowercased() {
        case "https": return true
        case "http": return BindAddress.isLoopback(host)
        default: return false
        }
    }
}

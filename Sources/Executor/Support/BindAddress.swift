import ArgumentParser
import Foundation
import Hummingbird

/// Where a service listens, and the rule that goes with it: beyond loopback, only with a token.
enum BindAddress {
    /// "HOST:PORT" (or ":PORT", or "PORT": loopback) → (host, port).
    static func parse(_ text: String) throws -> (String, Int) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let host = parts.count > 1 ? String(parts.dropLast().joined(separator: ":")) : "127.0.0.1"
        guard let port = Int(parts.last ?? ""), (0...65535).contains(port) else {
            throw ValidationError("--bind expects HOST:PORT, got '\(text)'")
        }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    /// 127.0.0.0/8, ::1 and localhost: reachable from this machine only.
    static func isLoopback(_ host: String) -> Bool {
        let h = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if h == "localhost" || h == "::1" { return true }
        let octets = h.split(separator: ".")
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// Refuses to listen beyond loopback without a token: an open executor or engine on a network
    /// is a decryption service for anyone who can reach it.
    static func requireTokenBeyondLoopback(_ bind: String, _ access: AccessControl, service: String) throws {
        let (host, _) = try parse(bind)
        guard isLoopback(host) || !access.isOpen else {
            throw ConfigurationError("\(service) refuses to listen on \(host) without API_TOKEN or API_TOKENS_FILE "
                                     + "(binding beyond loopback needs a token)")
        }
    }
}

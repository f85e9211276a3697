import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Who is calling. Keys a caller registers and strategies it creates belong to it; only the admin
/// sees everyone's strategies.
struct Identity: Sendable, Hashable, CustomStringConvertible {
    let name: String
    let isAdmin: Bool

    /// The caller when no token is configured: one local user, who owns everything (loopback only;
    /// see ``BindAddress/requireTokenBeyondLoopback``).
    static let local = Identity(name: "local", isAdmin: true)
    /// The holder of API_TOKEN.
    static let admin = Identity(name: "admin", isAdmin: true)

    var description: String { name }
}

/// The tokens a service accepts: API_TOKEN (the admin, as the original's single token) and an
/// API_TOKENS_FILE of `name token` lines (one identity per line, `#` comments). Tokens are compared
/// by SHA-256 digest in constant time; none is ever logged.
struct AccessControl: Sendable {
    private let entries: [(digest: [UInt8], identity: Identity)]

    /// No token configured: every caller is ``Identity/local``.
    var isOpen: Bool { entries.isEmpty }

    /// API_TOKEN (the admin) and API_TOKENS_FILE (`name token` lines).
    init(_ values: ConfigurationValues) throws {
        try self.init(adminToken: values["API_TOKEN"], tokensFile: values["API_TOKENS_FILE"])
    }

    init(adminToken: String?, tokensFile: String?) throws {
        var entries: [(digest: [UInt8], identity: Identity)] = []
        var seen: Set<String> = []
        func add(_ token: String, _ identity: Identity, _ origin: String) throws {
            guard !token.isEmpty else { throw ConfigurationError("\(origin): empty token") }
            guard seen.insert(token).inserted else { throw ConfigurationError("\(origin): a token is listed twice") }
            entries.append((Array(SHA256.hash(data: Data(token.utf8))), identity))
        }
        if let adminToken, !adminToken.isEmpty { try add(adminToken, .admin, "API_TOKEN") }
        if let tokensFile, !tokensFile.isEmpty {
            guard let text = try? String(contentsOfFile: tokensFile, encoding: .utf8) else {
                throw ConfigurationError("API_TOKENS_FILE \(tokensFile) cannot be read")
            }
            for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                let parts = line.split(whereSeparator: \.isWhitespace)
                let origin = "API_TOKENS_FILE line \(number + 1)"
                guard parts.count == 2, parts[0].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }),
                      !["admin", "local"].contains(String(parts[0])) else {
                    throw ConfigurationError("\(origin) must be `name token` (name: letters, digits, - _ .; not admin or local)")
                }
                try add(String(parts[1]), Identity(name: String(parts[0]), isAdmin: false), origin)
            }
        }
        self.entries = entries
    }

    /// The identity a presented token belongs to; nil when it matches none (or none was presented
    /// while tokens are configured). Every entry is compared, whichever matches.
    func identify(_ presented: String?) -> Identity? {
        if isOpen { return .local }
        guard let presented else { return nil }
        let digest = Array(SHA256.hash(data: Data(presented.utf8)))
        var match: Identity?
        for entry in entries {
            var difference: UInt8 = 0
            for (a, b) in zip(digest, entry.digest) { difference |= a ^ b }
            if difference == 0 { match = entry.identity }
        }
        return match
    }
}

/// A request context that carries the caller's identity once the access middleware has set it.
protocol IdentifiedRequestContext: RequestContext {
    var identity: Identity? { get set }
}

/// Resolves the caller from `X-API-TOKEN` or `Authorization: Bearer …` before anything else runs
/// (so a refused request is answered at once, before its body is read); 401 when a token is
/// required and missing or unknown. Open paths (/health) need none.
struct AccessMiddleware<Context: IdentifiedRequestContext>: RouterMiddleware {
    let access: AccessControl
    let openPaths: Set<String>
    /// The 401 body, in the service's own error shape.
    let unauthorized: @Sendable () -> Response

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if openPaths.contains(request.uri.path) || request.method == .options { return try await next(request, context) }
        var presented = request.headers[HTTPField.Name("X-API-TOKEN")!]
        if presented == nil, let auth = request.headers[.authorization], auth.lowercased().hasPrefix("bearer ") {
            presented = String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        guard let identity = access.identify(presented) else { return unauthorized() }
        context.identity = identity
        return try await next(request, context)
    }
}

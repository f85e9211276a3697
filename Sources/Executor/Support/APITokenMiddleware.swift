import HTTPTypes
import Hummingbird

/// When a token is configured, every request except the listed open paths must carry it in
/// `X-API-TOKEN` or `Authorization: Bearer …`; the comparison takes time independent of where the
/// strings differ. Failures are 401 with a JSON body shaped by `unauthorizedBody`.
struct APITokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?
    let openPaths: Set<String>
    let unauthorizedBody: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token, !token.isEmpty, !openPaths.contains(request.uri.path), request.method != .options else {
            return try await next(request, context)
        }
        var presented = request.headers[HTTPField.Name("X-API-TOKEN")!]
        if presented == nil, let auth = request.headers[.authorization], auth.lowercased().hasPrefix("bearer ") {
            presented = String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        guard let presented, Self.constantTimeEquals(presented, token) else {
            return Response(status: .unauthorized, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: unauthorizedBody)))
        }
        return try await next(request, context)
    }

    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }
}

import Foundation

import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A token bucket per client address: `perMinute` requests, refilled continuously; beyond it, 429
/// with Retry-After and a JSON error. /health is exempt.
final class RateLimiter: Sendable {
    private let buckets = Mutex<[String: (tokens: Double, updated: Date)]>([:])
    let perMinute: Double

    init(perMinute: Int) { self.perMinute = Double(perMinute) }

    /// nil when allowed, otherwise the seconds until a request would be.
    func take(_ client: String, now: Date = Date()) -> Int? {
        buckets.withLock { buckets in
            var bucket = buckets[client] ?? (perMinute, now)
            bucket.tokens = min(perMinute, bucket.tokens + now.timeIntervalSince(bucket.updated) * perMinute / 60)
            bucket.updated = now
            defer { buckets[client] = bucket; if buckets.count > 100_000 { buckets.removeAll() } }
            if bucket.tokens >= 1 { bucket.tokens -= 1; return nil }
            return max(1, Int(((1 - bucket.tokens) * 60 / perMinute).rounded(.up)))
        }
    }
}

struct RateLimitMiddleware<Context: RemoteAddressRequestContext>: RouterMiddleware {
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path != "/health" else { return try await next(request, context) }
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        if let retry = limiter.take(client) {
            var response = JSONResponse.error(.tooManyRequests, "rate limit exceeded; retry in \(retry) s")
            response.headers[HTTPField.Name("Retry-After")!] = "\(retry)"
            return response
        }
        return try await next(request, context)
    }
}

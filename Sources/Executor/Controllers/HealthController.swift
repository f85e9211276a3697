import Foundation
import Hummingbird

/// GET /health (no auth): database, oracle freshness, engine mode. GET /metrics: Prometheus text.
struct HealthController: Sendable {
    let database: OrderBookDatabase
    let oracle: PriceOracle
    let metrics: ExecutorMetrics
    let engineMode: String
    /// record-only (no chain), dry-run (simulate only) or live.
    let finalization: String

    func addRoutes(to router: Router<ExecutorRequestContext>) {
        router.get("/health") { _, _ in
            let healthy = database.isHealthy()
            let feeds = await oracle.feeds
            var ages: [String: Any] = [:]
            for feed in feeds { ages[feed] = await oracle.age(feed: feed) ?? NSNull() }
            let body: [String: Any] = [
                "status": healthy ? "ok" : "degraded", "database": healthy ? "ok" : "unavailable", "engine": engineMode, "finalization": finalization,
                "oracle": ["price_age_seconds": ages, "last_error": (await oracle.lastError).map { $0 as Any } ?? NSNull(),
                           "rejections": await oracle.rejections],
            ]
            return JSONResponse.make(healthy ? .ok : .serviceUnavailable, body)
        }
        router.get("/metrics") { _, _ in
            var ages: [String: Int64] = [:]
            for feed in await oracle.feeds { if let a = await oracle.age(feed: feed) { ages[feed] = a } }
            let text = metrics.render(statusCounts: (try? database.countsByStatus()) ?? [:], oracleAges: ages,
                                      rejections: await oracle.rejections)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}

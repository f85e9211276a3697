import FHECore
import Foundation
import Metrics
import Prometheus

/// The executor's metrics, through swift-metrics into a Prometheus registry of its own (one per
/// service instance, so tests never share counters); `GET /metrics` renders the registry.
final class ExecutorMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let evaluations: Metrics.Counter
    private let batchDuration: Metrics.Timer
    private let totals = LockedValue((batches: 0, strategies: 0, seconds: 0.0))

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // One batch is tens of milliseconds to seconds.
        factory.defaultDurationHistogramBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10].map { .milliseconds(Int64($0 * 1000)) }
        self.factory = factory
        evaluations = Metrics.Counter(label: "syphon_evaluations_total", factory: factory)
        batchDuration = Metrics.Timer(label: "syphon_evaluation_batch_seconds", factory: factory)
    }

    /// An operational event (`tick_skipped_no_fresh_price`, `remote_engine_error`, …).
    func event(_ name: String) { Metrics.Counter(label: "syphon_events_total", dimensions: [("event", name)], factory: factory).increment() }

    /// A finalizer outcome (`executed`, `simulation_reverted`, `retry`, `dry_run`, …).
    func transaction(_ result: String) {
        Metrics.Counter(label: "syphon_transactions_total", dimensions: [("result", result)], factory: factory).increment()
    }

    func observeEvaluation(seconds: Double, strategies: Int) {
        evaluations.increment(by: strategies)
        batchDuration.recordNanoseconds(Int64(seconds * 1e9))
        totals.update { $0.batches += 1; $0.strategies += strategies; $0.seconds += seconds }
    }

    /// (batches, strategies evaluated, total seconds) so far.
    var evaluationSummary: (batches: Int, strategies: Int, seconds: Double) { totals.get() }

    /// The Prometheus text, with the gauges read at scrape time: strategies by status, price age
    /// and price rejections per feed/reason.
    func render(statusCounts: [StrategyStatus: Int], oracleAges: [String: Int64], rejections: [String: Int],
                nodes: NodeShares? = nil) -> String {
        if let nodes {
            for row in nodes.rows {
                Metrics.Gauge(label: "syphon_node_evaluations", dimensions: [("node", row.id)], factory: factory).record(row.evaluations)
                Metrics.Gauge(label: "syphon_node_alive", dimensions: [("node", row.id)], factory: factory).record(row.alive ? 1 : 0)
            }
            Metrics.Gauge(label: "syphon_node_share_of_evaluations", dimensions: [("node", nodes.me)], factory: factory).record(nodes.share)
        }
        for status in StrategyStatus.allCases {
            Metrics.Gauge(label: "syphon_strategies", dimensions: [("status", status.rawValue)], factory: factory).record(statusCounts[status] ?? 0)
        }
        for (feed, age) in oracleAges {
            Metrics.Gauge(label: "syphon_oracle_price_age_seconds", dimensions: [("feed", feed)], factory: factory).record(age)
        }
        for (reason, count) in rejections {
            Metrics.Gauge(label: "syphon_oracle_price_rejections", dimensions: [("reason", reason)], factory: factory).record(count)
        }
        return registry.emitToString()
    }
}

/// The nodes of an order book and this one's share of the strategies decided (/health, /metrics).
struct NodeShares: Sendable {
    let me: String
    let rows: [ExecutorNodeRow]

    /// This node's evaluations over every node's (0 before anything was decided).
    var share: Double {
        let total = rows.reduce(Int64(0)) { $0 + $1.evaluations }
        return total == 0 ? 0 : Double(rows.first { $0.id == me }?.evaluations ?? 0) / Double(total)
    }

    var json: [String: Any] {
        ["id": me, "share_of_evaluations": share,
         "nodes": rows.map { ["id": $0.id, "evaluations": $0.evaluations, "triggers": $0.triggers, "alive": $0.alive] as [String: Any] }]
    }
}

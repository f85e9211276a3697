import Foundation

/// Counters and gauges exposed on GET /metrics in the Prometheus text format.
final class ExecutorMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var counters: [String: Double] = [:]
    private var latencySum = 0.0, latencyCount = 0.0

    func increment(_ name: String, _ labels: String = "", by value: Double = 1) {
        lock.lock(); counters[name + labels, default: 0] += value; lock.unlock()
    }

    func observeEvaluation(seconds: Double, strategies: Int) {
        lock.lock()
        latencySum += seconds
        latencyCount += 1
        counters["syphon_evaluations_total", default: 0] += Double(strategies)
        lock.unlock()
    }

    /// (batches, strategies evaluated, total seconds) so far.
    var evaluationSummary: (batches: Int, strategies: Int, seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        return (Int(latencyCount), Int(counters["syphon_evaluations_total"] ?? 0), latencySum)
    }

    func render(statusCounts: [StrategyStatus: Int], oracleAges: [String: Int64]) -> String {
        lock.lock()
        defer { lock.unlock() }
        var lines = ["# HELP syphon_strategies Strategies in the order book by status.", "# TYPE syphon_strategies gauge"]
        for status in StrategyStatus.allCases {
            lines.append("syphon_strategies{status=\"\(status.rawValue)\"} \(statusCounts[status] ?? 0)")
        }
        lines += ["# HELP syphon_evaluations_total Strategy evaluations run.", "# TYPE syphon_evaluations_total counter",
                  "syphon_evaluations_total \(Int(counters["syphon_evaluations_total"] ?? 0))",
                  "# HELP syphon_evaluation_batch_seconds Time to evaluate one tick's batch.",
                  "# TYPE syphon_evaluation_batch_seconds summary",
                  "syphon_evaluation_batch_seconds_sum \(latencySum)", "syphon_evaluation_batch_seconds_count \(Int(latencyCount))",
                  "# HELP syphon_oracle_price_age_seconds Age of the last accepted price per feed.",
                  "# TYPE syphon_oracle_price_age_seconds gauge"]
        for (feed, age) in oracleAges.sorted(by: { $0.key < $1.key }) {
            lines.append("syphon_oracle_price_age_seconds{feed=\"\(feed)\"} \(age)")
        }
        lines += ["# HELP syphon_events_total Price rejections, ticks skipped, transactions by result.", "# TYPE syphon_events_total counter"]
        for (key, value) in counters.sorted(by: { $0.key < $1.key }) where key.hasPrefix("syphon_events_total") {
            lines.append("\(key) \(Int(value))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

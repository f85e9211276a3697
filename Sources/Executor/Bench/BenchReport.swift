import Foundation

/// One benchmark result: a time per operation — a median, or, for rows measured against their own
/// interleaved FFTW reference (`referenceMicros`), each side's minimum.
struct BenchRow {
    let name: String
    let params: String
    let threads: Int
    let seconds: Double
    var extra: [String: Int] = [:]
    /// FFTW-1024's minimum in the rounds interleaved with this row's (nil: the run's one reference).
    var referenceMicros: Double? = nil
}

struct BenchReport {
    let fftwMicros: Double?
    let instructionSet: String
    let rows: [BenchRow]

    func ratio(_ row: BenchRow) -> Double? { (row.referenceMicros ?? fftwMicros).map { row.seconds * 1e6 / $0 } }

    var table: String {
        func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
            let space = String(repeating: " ", count: max(0, width - s.count))
            return left ? space + s : s + space
        }
        var lines = [pad("operation", 46) + pad("params", 13) + pad("threads", 8, left: true)
                     + pad("time", 14, left: true) + pad("per second", 14, left: true) + pad("× FFTW-1024", 13, left: true)]
        for row in rows {
            let median = row.seconds >= 1e-3 ? String(format: "%.3f ms", row.seconds * 1e3)
                                             : String(format: "%.3f µs", row.seconds * 1e6)
            let name = row.name + row.extra.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
                + (row.referenceMicros != nil ? " (min)" : "") + " "
            lines.append(pad(name, 46) + pad(row.params, 13) + pad("\(row.threads)", 8, left: true)
                         + pad(median, 14, left: true) + pad(String(format: "%.1f", 1 / row.seconds), 14, left: true)
                         + pad(ratio(row).map { String(format: "%.1f", $0) } ?? "-", 13, left: true))
        }
        if rows.contains(where: { $0.referenceMicros != nil }) {
            lines.append("(min): the row's and FFTW-1024's minimum per call over the same interleaved rounds; its ratio uses that FFTW figure")
        }
        if let fftwMicros {
            lines.append("reference: FFTW 1024-point complex FFT, same run: " + String(format: "%.3f µs", fftwMicros)
                         + "; kernels: \(instructionSet)")
        } else {
            lines.append("kernels: \(instructionSet)")
        }
        return lines.joined(separator: "\n")
    }

    var json: String {
        func number(_ x: Double) -> String { String(format: "%.6g", x) }
        let rowsJSON = rows.map { row -> String in
            var fields = ["\"name\":\"\(row.name)\"", "\"params\":\"\(row.params)\"", "\"threads\":\(row.threads)",
                          "\"ms\":\(number(row.seconds * 1e3))", "\"statistic\":\"\(row.referenceMicros == nil ? "median" : "min")\"", "\"per_second\":\(number(1 / row.seconds))"]
            if let r = ratio(row) { fields.append("\"fftw_ratio\":\(number(r))") }
            if let own = row.referenceMicros { fields.append("\"fftw_1024_us_interleaved\":\(number(own))") }
            for (k, v) in row.extra.sorted(by: { $0.key < $1.key }) { fields.append("\"\(k)\":\(v)") }
            return "{" + fields.joined(separator: ",") + "}"
        }
        let reference = "{\"fftw_1024_us\":\(fftwMicros.map(number) ?? "null"),\"isa\":\"\(instructionSet)\"}"
        return "{\"reference\":\(reference),\"rows\":[" + rowsJSON.joined(separator: ",") + "]}"
    }
}

enum Timing {
    /// Alternates `rounds` samples of FFTW-1024 (`reference`, `referenceInner` calls each) with
    /// samples of `body` (`inner` calls each) and keeps each side's minimum per call: on a shared
    /// host both sides see the same neighbours, and the minimum is the sample they disturbed least.
    /// Returns (reference µs, body seconds).
    static func interleavedMinimum(rounds: Int, reference: () -> Void, referenceInner: Int, inner: Int, _ body: () -> Void)
        -> (referenceMicros: Double, seconds: Double) {
        reference()
        body()
        let clock = ContinuousClock()
        var bestReference = Double.infinity, best = Double.infinity
        for _ in 0..<rounds {
            bestReference = min(bestReference, clock.measure { for _ in 0..<referenceInner { reference() } }.seconds / Double(referenceInner))
            best = min(best, clock.measure { for _ in 0..<inner { body() } }.seconds / Double(inner))
        }
        return (bestReference * 1e6, best)
    }

    /// Median wall time in seconds of `repetitions` runs of `inner` calls each (per call).
    static func median(repetitions: Int, inner: Int, _ body: () -> Void) -> Double {
        body() // warm-up: caches, lazily built tables
        var samples: [Double] = []
        samples.reserveCapacity(repetitions)
        let clock = ContinuousClock()
        for _ in 0..<repetitions {
            let elapsed = clock.measure { for _ in 0..<inner { body() } }
            samples.append(Double(elapsed.components.attoseconds) * 1e-18 + Double(elapsed.components.seconds))
        }
        samples.sort()
        return samples[samples.count / 2] / Double(inner)
    }
}

import Foundation
import Testing

@Suite("bench scale", .serialized)
struct BenchScaleTests {
    @Test("A small book through the real binary: every strategy created over the API, two ticks evaluating it, memory read from /proc")
    func smallBook() throws {
        let (status, out, err) = try runProcess(Paths.binary, ["bench", "scale", "--strategies", "12", "--feeds", "2", "--ticks", "2", "--json"],
                                                environment: ["EVALUATION_CHUNK": "5"])
        #expect(status == 0, "\(err.suffix(2000))")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(out)")
        #expect(report["strategies"] as? Int == 12 && report["chunk"] as? Int == 5)
        let ticks = try #require(report["ticks"] as? [[String: Any]])
        #expect(ticks.count == 2)
        // Strategies that trigger leave the book; the rest are evaluated on both ticks.
        for tick in ticks { #expect((1...12).contains(tick["evaluated"] as? Int ?? 0), "\(tick)") }
        for field in ["create_per_second", "tick_seconds", "per_strategy_ms", "peak_rss_mib"] {
            #expect((report[field] as? Double ?? 0) > 0, "\(field): \(report[field] ?? "missing")")
        }
        // The peak is the executor's own, read from /proc: more than the key it decoded (28 MB).
        #expect((report["peak_rss_mib"] as? Double ?? 0) > 28)
    }
}

import ArgumentParser
import FHECore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `bench compat`: the original engine's genuine real-set requests (LIMIT_BUY_DIP at 379 999 and
/// BRACKET_ORDER_LONG at 390 000, bounds 380 000 / 400 000) end to end over HTTP against this
/// binary in engine mode: the first request of a fresh process (cold: decodes the 110 MB key) and
/// the following ones (warm: key cached), with the server's peak RSS.
struct BenchCompatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compat", abstract: "Original-engine requests over HTTP: cold and warm latency, peak RSS.")

    @Option(help: "Genuine tfhe-rs 0.5 vector folder (production parameters).")
    var vectors = "../shared/vectors/tfhe-rs-0.5/real"
    @Option(help: "Fresh engine processes per strategy (cold samples).") var processes = 3
    @Option(help: "Warm requests per process.") var warm = 5
    @Flag(help: "Print one JSON object instead of the table.") var json = false

    func run() async throws {
        // The engines it starts read FHE_THREADS as this process does.
        let engineThreads = try ConfigurationValues().fheThreads()
        let folder = URL(fileURLWithPath: vectors)
        func hex(_ name: String) throws -> String { Hex.encode(try Data(contentsOf: folder.appendingPathComponent(name))) }
        let serverKey = try hex("server_key.bin"), clientKey = try hex("client_key.bin")
        let upper = try hex("ct_u32_400000.bin"), lower = try hex("ct_u32_380000.bin")
        func body(_ type: String, _ price: Int) -> Data {
            // Field order and separators as Python's json.dumps writes them.
            Data(("{\"strategy_type\": \"\(type)\", \"encrypted_upper_bound\": \"\(upper)\", \"encrypted_lower_bound\": \"\(lower)\", "
                  + "\"server_key\": \"\(serverKey)\", \"current_price_cents\": \(price), \"encrypted_client_key\": \"\(clientKey)\"}").utf8)
        }
        let cases = [("LIMIT_BUY_DIP", 379_999, true), ("BRACKET_ORDER_LONG", 390_000, false)]
        var rows: [BenchRow] = []
        var peakRSS = 0
        for (type, price, expected) in cases {
            let request = body(type, price)
            var cold: [Double] = [], hot: [Double] = []
            for _ in 0..<processes {
                let engine = try LocalService.start({ ["engine", "--bind", "127.0.0.1:\($0)"] }, environment: [:])
                defer { engine.stop() }
                try await engine.waitUntilReady(seconds: 10)
                let port = engine.port
                for i in 0...warm {
                    let start = ContinuousClock.now
                    let answer = String(decoding: try LoopbackHTTP.request(port: port, method: "POST", path: "/evaluateStrategy",
                                                                            body: request,
                                                                            headers: ["Content-Type": "application/json"]).body,
                                        as: UTF8.self)
                    let seconds = (ContinuousClock.now - start).seconds
                    guard answer == "{\"is_triggered\":\(expected)}" else {
                        throw ValidationError("\(type): unexpected answer \(answer)")
                    }
                    if i == 0 { cold.append(seconds) } else { hot.append(seconds) }
                }
                peakRSS = max(peakRSS, (engine.residentBytes?.peak ?? 0) >> 10)
            }
            rows.append(BenchRow(name: "compat_\(type.lowercased())_cold", params: "tfhe-rs-0.5", threads: engineThreads,
                                 seconds: cold.sorted()[cold.count / 2], extra: ["peak_rss_mib": peakRSS / 1024]))
            rows.append(BenchRow(name: "compat_\(type.lowercased())_warm", params: "tfhe-rs-0.5", threads: engineThreads,
                                 seconds: hot.sorted()[hot.count / 2], extra: ["peak_rss_mib": peakRSS / 1024]))
        }
        let report = BenchReport(fftwMicros: nil, instructionSet: CoreOperations.instructionSet, rows: rows)
        print(json ? report.json : report.table)
        if !json {
            print("request body \(request(bytes: body("LIMIT_BUY_DIP", 379_999).count)); "
                  + "anchor (original engine, this machine): LIMIT_BUY_DIP 2.8 s best / 3.6 s median, BRACKET 2.3–4.3 s, RSS 424–670 MiB")
        }
    }

    func request(bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
}

import FHECore
import Foundation

/// The one way every command reads its settings: command-line flags over environment variables over
/// a `.env` file in the working directory over built-in defaults (the original Python service's
/// variable names). An unset or empty variable is absent; a value that is set but unusable is a
/// ``ConfigurationError`` naming the variable, never a silent default.
struct ConfigurationValues: Sendable {
    private let values: [String: String]

    /// Layers `.env` ← `environment` ← `flags` (non-nil flag values win). The insecure test
    /// parameters are refused in every layer but the command line (``InsecureTestParameters``).
    init(flags: [String: String?] = [:], environment: [String: String] = ProcessInfo.processInfo.environment,
         dotEnvPath: String = ".env") throws {
        var values = Self.readDotEnv(dotEnvPath)
        values.merge(environment) { $1 }
        try InsecureTestParameters.refuseOutsideCommandLine(values)
        for case let (name, value?) in flags { values[name] = value }
        self.values = values.filter { !$0.value.isEmpty }
    }

    subscript(_ name: String) -> String? { values[name] }

    /// A positive integer, or nil when unset.
    func positiveInteger(_ name: String) throws -> Int? {
        try integer(name, in: 1...Int.max, form: "a positive integer")
    }

    /// An integer in `range`, or nil when unset.
    func integer(_ name: String, in range: ClosedRange<Int>, form: String? = nil) throws -> Int? {
        guard let text = values[name] else { return nil }
        guard let n = Int(text), range.contains(n) else {
            throw ConfigurationError("\(name) must be \(form ?? "an integer in \(range.lowerBound)…\(range.upperBound)")")
        }
        return n
    }

    /// A positive number of seconds (fractions allowed), or nil when unset.
    func positiveSeconds(_ name: String) throws -> Duration? {
        guard let text = values[name] else { return nil }
        guard let seconds = Double(text), seconds > 0, seconds < 1e9 else {
            throw ConfigurationError("\(name) must be a positive number of seconds")
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    /// FHE_THREADS: threads every FHE path may use (bootstraps, key generation); default the cores
    /// this process may run on (``Parallelism/availableCores``).
    func fheThreads() throws -> Int { try positiveInteger("FHE_THREADS") ?? Parallelism.availableCores }

    /// A comma-separated list (empty items dropped).
    func list(_ name: String) -> [String] {
        (values[name] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A `SYMBOL=value,…` setting: symbols upper-cased, values trimmed; `example` shows the form in the error.
    func symbolPairs(_ name: String, example: String) throws -> [(symbol: String, value: String)] {
        try list(name).map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw ConfigurationError("\(name) must look like \(example)") }
            return (parts[0].uppercased(), parts[1])
        }
    }

    /// One of a mode's named cases, or nil when unset.
    func choice<Mode: RawRepresentable & CaseIterable>(_ name: String, as _: Mode.Type = Mode.self) throws -> Mode?
        where Mode.RawValue == String {
        guard let text = values[name] else { return nil }
        guard let mode = Mode(rawValue: text.lowercased()) else {
            throw ConfigurationError("\(name) must be one of \(Mode.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(text.prefix(40))')")
        }
        return mode
    }

    /// `1` turns a switch on, `0` off; nil when unset.
    func flag(_ name: String) throws -> Bool? {
        switch values[name] {
        case nil: nil
        case "1", "true": true
        case "0", "false": false
        default: throw ConfigurationError("\(name) must be 1 or 0")
        }
    }

    /// Reads a `.env` file: KEY=VALUE lines, `#` comments, optional quotes, `export` prefix.
    static func readDotEnv(_ path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line.removeFirst(7) }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == value.last, first == "\"" || first == "'" {
                value = String(value.dropFirst().dropLast())
            }
            values[key] = value
        }
        return values
    }
}

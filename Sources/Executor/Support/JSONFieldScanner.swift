import Foundation

/// The top-level fields of a JSON object, located without copying: string values are byte ranges
/// into the body. The original engine's requests carry a 219 MB hex string; a general JSON parser
/// would copy it (and build a String) before we could hex-decode it. This scanner validates the
/// object's structure, finds every value's extent (memchr for string ends), and leaves decoding to
/// the caller. Malformed input throws ``JSONScanError``; it never traps.
struct JSONFields {
    enum Value: Equatable {
        /// A string without escape sequences: its bytes are body[range].
        case string(Range<Int>)
        /// A string with escapes (decoded on demand; never a hex payload).
        case escapedString(Range<Int>)
        case number(Range<Int>)
        case bool(Bool)
        case null
        /// An object or array, kept as its raw extent.
        case composite(Range<Int>)
    }

    let body: UnsafeRawBufferPointer
    private(set) var values: [String: Value] = [:]

    init(_ body: UnsafeRawBufferPointer) throws {
        self.body = body
        var i = skipSpace(0)
        guard i < body.count, body[i] == UInt8(ascii: "{") else { throw JSONScanError(offset: i, reason: "expected a JSON object") }
        i = skipSpace(i + 1)
        if i < body.count, body[i] == UInt8(ascii: "}") {
            try expectEnd(i + 1)
            return
        }
        while true {
            guard i < body.count, body[i] == UInt8(ascii: "\"") else { throw JSONScanError(offset: i, reason: "expected a field name") }
            let (keyRange, keyEscaped, afterKey) = try scanString(i)
            let key = keyEscaped ? try decodeEscaped(keyRange) : String(decoding: slice(keyRange), as: UTF8.self)
            i = skipSpace(afterKey)
            guard i < body.count, body[i] == UInt8(ascii: ":") else { throw JSONScanError(offset: i, reason: "expected ':'") }
            i = skipSpace(i + 1)
            let (value, afterValue) = try scanValue(i, depth: 0)
            values[key] = value
            i = skipSpace(afterValue)
            guard i < body.count else { throw JSONScanError(offset: i, reason: "unterminated object") }
            if body[i] == UInt8(ascii: ",") { i = skipSpace(i + 1); continue }
            guard body[i] == UInt8(ascii: "}") else { throw JSONScanError(offset: i, reason: "expected ',' or '}'") }
            try expectEnd(i + 1)
            return
        }
    }

    subscript(_ key: String) -> Value? { values[key] }

    func slice(_ r: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: body[r]) }

    /// A field's string value (escapes decoded); nil if absent or null.
    func string(_ key: String) throws -> String? {
        switch values[key] {
        case nil, .null: return nil
        case .string(let r): return String(decoding: slice(r), as: UTF8.self)
        case .escapedString(let r): return try decodeEscaped(r)
        default: throw JSONScanError(offset: 0, reason: "field '\(key)' must be a string")
        }
    }

    /// A field's raw string bytes (for hex payloads, which never contain escapes).
    func rawString(_ key: String) throws -> UnsafeRawBufferPointer? {
        switch values[key] {
        case nil, .null: return nil
        case .string(let r): return slice(r)
        default: throw JSONScanError(offset: 0, reason: "field '\(key)' must be a plain hex string")
        }
    }

    /// A field holding a non-negative integer (a JSON number without sign, fraction or exponent,
    /// or a string of digits).
    func unsignedInteger(_ key: String) throws -> UInt64? {
        let text: String
        switch values[key] {
        case nil, .null: return nil
        case .number(let r): text = String(decoding: slice(r), as: UTF8.self)
        case .string(let r): text = String(decoding: slice(r), as: UTF8.self)
        default: throw JSONScanError(offset: 0, reason: "field '\(key)' must be a non-negative integer")
        }
        guard let v = UInt64(text) else {
            throw JSONScanError(offset: 0, reason: "field '\(key)' must be a non-negative integer, got \(text.prefix(32))")
        }
        return v
    }

    /// True when the key is present with a non-null value.
    func isPresent(_ key: String) -> Bool {
        if let v = values[key], v != .null { return true }
        return false
    }

    // MARK: - Scanning

    private func skipSpace(_ start: Int) -> Int {
        var i = start
        while i < body.count, [0x20, 0x09, 0x0A, 0x0D].contains(body[i]) { i += 1 }
        return i
    }

    private func expectEnd(_ start: Int) throws {
        let i = skipSpace(start)
        guard i == body.count else { throw JSONScanError(offset: i, reason: "trailing characters after the object") }
    }

    /// Scans the string starting at the quote `start`: (content range, has escapes, index after).
    private func scanString(_ start: Int) throws -> (Range<Int>, Bool, Int) {
        var i = start + 1
        var escaped = false
        let base = body.baseAddress!
        while i < body.count {
            guard let hit = memchr(base + i, Int32(UInt8(ascii: "\"")), body.count - i) else { break }
            let quote = base.distance(to: UnsafeRawPointer(hit))
            // Count the backslashes before the quote: an odd number escapes it.
            var backslashes = 0
            while quote - 1 - backslashes > start, body[quote - 1 - backslashes] == UInt8(ascii: "\\") { backslashes += 1 }
            if backslashes % 2 == 0 {
                if !escaped { escaped = memchr(base + start + 1, Int32(UInt8(ascii: "\\")), quote - start - 1) != nil }
                // Control characters are not allowed raw inside JSON strings.
                return (start + 1..<quote, escaped, quote + 1)
            }
            escaped = true
            i = quote + 1
        }
        throw JSONScanError(offset: start, reason: "unterminated string")
    }

    private func scanValue(_ start: Int, depth: Int) throws -> (Value, Int) {
        guard start < body.count else { throw JSONScanError(offset: start, reason: "expected a value") }
        guard depth < 64 else { throw JSONScanError(offset: start, reason: "nesting too deep") }
        let c = body[start]
        switch c {
        case UInt8(ascii: "\""):
            let (r, escaped, next) = try scanString(start)
            return (escaped ? .escapedString(r) : .string(r), next)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = c == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            var i = skipSpace(start + 1)
            if i < body.count, body[i] == close { return (.composite(start..<i + 1), i + 1) }
            while true {
                if c == UInt8(ascii: "{") {
                    guard i < body.count, body[i] == UInt8(ascii: "\"") else { throw JSONScanError(offset: i, reason: "expected a field name") }
                    i = skipSpace(try scanString(i).2)
                    guard i < body.count, body[i] == UInt8(ascii: ":") else { throw JSONScanError(offset: i, reason: "expected ':'") }
                    i = skipSpace(i + 1)
                }
                i = skipSpace(try scanValue(i, depth: depth + 1).1)
                guard i < body.count else { throw JSONScanError(offset: i, reason: "unterminated value") }
                if body[i] == UInt8(ascii: ",") { i = skipSpace(i + 1); continue }
                guard body[i] == close else { throw JSONScanError(offset: i, reason: "expected ',' or a closing bracket") }
                return (.composite(start..<i + 1), i + 1)
            }
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            for (word, value) in [("true", Value.bool(true)), ("false", .bool(false)), ("null", .null)] {
                let bytes = Array(word.utf8)
                if start + bytes.count <= body.count, (0..<bytes.count).allSatisfy({ body[start + $0] == bytes[$0] }) {
                    return (value, start + bytes.count)
                }
            }
            throw JSONScanError(offset: start, reason: "invalid literal")
        default:
            return (.number(start..<(try scanNumber(start))), try scanNumber(start))
        }
    }

    /// The end of the JSON number at `start`: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    private func scanNumber(_ start: Int) throws -> Int {
        var i = start
        func digits() -> Int {
            let from = i
            while i < body.count, body[i] >= UInt8(ascii: "0"), body[i] <= UInt8(ascii: "9") { i += 1 }
            return i - from
        }
        if i < body.count, body[i] == UInt8(ascii: "-") { i += 1 }
        let leadingZero = i < body.count && body[i] == UInt8(ascii: "0")
        let integerDigits = digits()
        guard integerDigits > 0, !(leadingZero && integerDigits > 1) else {
            throw JSONScanError(offset: start, reason: "invalid number")
        }
        if i < body.count, body[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw JSONScanError(offset: start, reason: "invalid number") }
        }
        if i < body.count, body[i] == UInt8(ascii: "e") || body[i] == UInt8(ascii: "E") {
            i += 1
            if i < body.count, body[i] == UInt8(ascii: "+") || body[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw JSONScanError(offset: start, reason: "invalid number") }
        }
        return i
    }

    private func decodeEscaped(_ r: Range<Int>) throws -> String {
        var quoted = Data([UInt8(ascii: "\"")])
        quoted.append(contentsOf: slice(r))
        quoted.append(UInt8(ascii: "\""))
        guard let s = try? JSONDecoder().decode(String.self, from: quoted) else {
            throw JSONScanError(offset: r.lowerBound, reason: "invalid string escape")
        }
        return s
    }
}

struct JSONScanError: Error, CustomStringConvertible {
    let offset: Int
    let reason: String
    var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking HTTP/1.1 client for loopback benchmarks: one request per connection, the body
/// written straight from memory. (FoundationNetworking copies large bodies through libcurl callbacks
/// and spends more time than the server being measured.)
enum LoopbackHTTP {
    struct Failure: Error, CustomStringConvertible { let description: String }

    /// A connected TCP socket to 127.0.0.1:`port`; `timeout` bounds each send and receive (nil: none).
    /// The caller closes it.
    static func connect(port: Int, timeout: TimeInterval? = nil) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        if let timeout {
            var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
            for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
                setsockopt(fd, SOL_SOCKET, option, &limit, socklen_t(MemoryLayout<timeval>.size))
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(description: "connect to 127.0.0.1:\(port) failed (errno \(errno))")
        }
        return fd
    }

    /// One request (the whole body written first) and its answer, read until the server closes.
    static func request(port: Int, method: String, path: String, body: Data = Data(),
                        headers: [String: String] = [:], timeout: TimeInterval? = nil) throws -> (status: Int, body: Data) {
        let fd = try connect(port: port, timeout: timeout)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        try writeAll(fd, Data(head.utf8))
        try writeAll(fd, body)
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 && response.isEmpty { throw Failure(description: "no answer (errno \(errno))") }
            if n <= 0 { break }
            response.append(buffer, count: n)
        }
        guard let split = response.range(of: Data("\r\n\r\n".utf8)),
              let statusLine = String(data: response[..<split.lowerBound], encoding: .utf8)?.split(separator: "\r\n").first,
              let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
            throw Failure(description: "malformed HTTP response")
        }
        var payload = Data(response[split.upperBound...])
        // Hummingbird answers small bodies with Content-Length; decode chunked framing if used.
        if String(data: response[..<split.lowerBound], encoding: .utf8)?.lowercased().contains("transfer-encoding: chunked") == true {
            payload = dechunk(payload)
        }
        return (status, payload)
    }

    /// Writes all of `data`; a peer that has gone away is an error, not a SIGPIPE.
    static func writeAll(_ fd: Int32, _ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw Failure(description: "write failed (errno \(errno))") }
                offset += n
            }
        }
    }

    private static func dechunk(_ data: Data) -> Data {
        var out = Data(), rest = data[...]
        while let line = rest.range(of: Data("\r\n".utf8)),
              let size = Int(String(decoding: rest[..<line.lowerBound], as: UTF8.self), radix: 16), size > 0 {
            let start = line.upperBound
            out.append(rest[start..<(start + size)])
            rest = rest[(start + size + 2)...]
        }
        return out
    }
}

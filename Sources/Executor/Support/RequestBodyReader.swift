import FHECore
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTPTypes

/// How a route takes its body.
struct BodyPolicy: Sendable {
    /// The media type the route takes (parameters such as `charset` are allowed). A browser's
    /// cross-origin form post (text/plain, multipart, urlencoded) is refused with 415.
    let contentType: String
    /// The largest body accepted: 413 beyond it, before a byte is read when Content-Length says so.
    let limit: Int
    /// Bodies above this size are large uploads: each holds one of a few upload slots while it is
    /// read and processed (nil: the route takes no large bodies).
    let largeAbove: Int?

    static func json(limit: Int, largeAbove: Int? = nil) -> BodyPolicy {
        BodyPolicy(contentType: "application/json", limit: limit, largeAbove: largeAbove)
    }
}

/// Bounds how many large uploads (original-format requests of up to hundreds of MiB) are read and
/// processed at once. A request beyond the cap waits its turn — its body unread, so it costs a
/// connection, not memory — for at most `maximumWait`, then is refused with 503 and Retry-After.
final class UploadSlots: Sendable {
    let capacity: Int
    let maximumWait: Duration
    private struct State {
        var inUse = 0
        var waiting: [(ticket: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextTicket: UInt64 = 0
    }
    private let state = LockedValue(State())

    init(capacity: Int, maximumWait: Duration = .seconds(30)) {
        self.capacity = max(1, capacity)
        self.maximumWait = maximumWait
    }

    /// Large uploads being read or processed now.
    var inUse: Int { state.get().inUse }

    /// Takes a slot, waiting up to `maximumWait` in arrival order; false when none came free.
    func acquire() async -> Bool {
        let granted = state.update { s -> Bool in
            guard s.inUse < capacity, s.waiting.isEmpty else { return false }
            s.inUse += 1
            return true
        }
        if granted { return true }
        return await withCheckedContinuation { continuation in
            let ticket = state.update { s -> UInt64 in
                s.nextTicket += 1
                s.waiting.append((s.nextTicket, continuation))
                return s.nextTicket
            }
            let state = self.state, wait = maximumWait
            Task {
                try? await Task.sleep(for: wait)
                let expired = state.update { s -> CheckedContinuation<Bool, Never>? in
                    guard let i = s.waiting.firstIndex(where: { $0.ticket == ticket }) else { return nil }
                    return s.waiting.remove(at: i).continuation
                }
                expired?.resume(returning: false)
            }
        }
    }

    /// Returns a slot: handed straight to the longest waiter, if any.
    func release() {
        let next = state.update { s -> CheckedContinuation<Bool, Never>? in
            if s.waiting.isEmpty { s.inUse -= 1; return nil }
            return s.waiting.removeFirst().continuation
        }
        next?.resume(returning: true)
    }
}

/// How long a body may take to arrive: a small one 30 s, a large one 5 minutes (210 MiB at
/// 6 Mbit/s). A slow upload cannot hold an upload slot or a connection for longer.
enum BodyDeadline {
    static let small: Duration = .seconds(30)
    static let large: Duration = .seconds(300)
}

/// Why a body was not read (statuses in Refusal.swift). Each service answers it in its own error shape.
enum BodyRefusal: Error, CustomStringConvertible {
    case unsupportedMediaType(expected: String)
    case tooLarge(limit: Int)
    case busy(retryAfterSeconds: Int)
    /// The body did not arrive in time (a slow upload holding a slot or a connection).
    case tooSlow(seconds: Int)

    var description: String {
        switch self {
        case .unsupportedMediaType(let expected): "Content-Type must be \(expected)"
        case .tooLarge(let limit): "request body exceeds \(limit) bytes"
        case .busy(let s): "too many large uploads in progress; retry in \(s) s"
        case .tooSlow(let s): "the request body did not arrive within \(s) s"
        }
    }
}

extension ExecutorRequestContext {
    /// Reads the request body under `policy` and hands it to `process`. The content type and the
    /// declared length are checked before anything is read (415 / 413 at once; a body without a
    /// declared length may not exceed the large-upload threshold), a large upload takes an upload slot for as long as
    /// `process` runs (waiting its turn; 503 when none comes free in time), only then is
    /// `Expect: 100-continue` answered — so a client never uploads a body that will be refused —
    /// and the body must then arrive within its deadline (408), so a slow sender holds neither a
    /// slot nor a connection for long.
    func withBody<R>(_ request: Request, policy: BodyPolicy, slots: UploadSlots,
                     _ process: (ByteBuffer) async throws -> R) async throws -> R {
        guard let type = request.headers[.contentType],
              type.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == policy.contentType else {
            throw BodyRefusal.unsupportedMediaType(expected: policy.contentType)
        }
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > policy.limit { throw BodyRefusal.tooLarge(limit: policy.limit) }
        let large = policy.largeAbove.map { (declared ?? 0) > $0 } ?? false
        // Without a declared length a body may not grow past the large-upload threshold.
        let limit = declared == nil ? min(policy.limit, policy.largeAbove ?? policy.limit) : policy.limit
        if large {
            guard await slots.acquire() else { throw BodyRefusal.busy(retryAfterSeconds: 5) }
        }
        defer { if large { slots.release() } }
        if request.headers[HTTPField.Name("Expect")!]?.lowercased() == "100-continue" {
            channel.writeAndFlush(HTTPResponsePart.head(HTTPResponse(status: .continue)), promise: nil)
        }
        let body = try await Self.collect(request.body, limit: limit, reserve: declared ?? 0,
                                          deadline: large ? BodyDeadline.large : BodyDeadline.small)
        return try await process(body)
    }

    /// The whole body, or `tooLarge` / `tooSlow`.
    private static func collect(_ body: RequestBody, limit: Int, reserve: Int, deadline: Duration) async throws -> ByteBuffer {
        try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
            group.addTask {
                var collected = ByteBuffer()
                collected.reserveCapacity(reserve)
                for try await chunk in body {
                    guard collected.readableBytes + chunk.readableBytes <= limit else { throw BodyRefusal.tooLarge(limit: limit) }
                    var chunk = chunk
                    collected.writeBuffer(&chunk)
                }
                return collected
            }
            group.addTask {
                try await Task.sleep(for: deadline)
                throw BodyRefusal.tooSlow(seconds: Int(deadline.components.seconds))
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

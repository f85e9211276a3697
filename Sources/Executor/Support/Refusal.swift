import FHECore
import HTTPTypes
import Hummingbird

/// An error the caller caused or can act on, with the HTTP status that says which, and a message
/// safe to show (it never holds key material or a secret URL). This file is the one mapping from
/// errors to statuses: handlers throw, Hummingbird answers `serve`'s and the payload server's
/// routes with `{"status":"error","message":…}`, and the engine answers in the original's shape
/// (``EngineController``). Any other error is a 500 that says nothing.
protocol Refusal: HTTPResponseError, CustomStringConvertible {
    /// Headers the answer carries (Retry-After for a busy upload slot).
    var headers: HTTPFields { get }
}

extension Refusal {
    var headers: HTTPFields { [:] }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.error(status, description)
        response.headers.append(contentsOf: headers)
        return response
    }
}

/// A request refused for what it says; 400 unless the status says otherwise.
struct Rejection: Refusal {
    let description: String
    let status: HTTPResponse.Status
    init(_ description: String, status: HTTPResponse.Status = .badRequest) {
        self.description = description
        self.status = status
    }
}

/// A dependency (the chain node, the executor behind the payload server) could not be asked; the
/// same request may succeed later.
struct DependencyUnavailable: Refusal {
    let description: String
    var status: HTTPResponse.Status { .serviceUnavailable }
}

extension BodyRefusal: Refusal {
    var status: HTTPResponse.Status {
        switch self {
        case .unsupportedMediaType: .unsupportedMediaType
        case .tooLarge: .contentTooLarge
        case .busy: .serviceUnavailable
        case .tooSlow: .requestTimeout
        }
    }

    var headers: HTTPFields {
        guard case .busy(let seconds) = self else { return [:] }
        return [.retryAfter: "\(seconds)"]
    }
}

extension OrderBookConflict: Refusal {
    var status: HTTPResponse.Status {
        switch self {
        case .seedReused: .badRequest
        case .keyOwnedByAnotherIdentity: .forbidden
        case .differentCustodyKey: .conflict
        }
    }
}

extension JSONScanError: Refusal {
    var status: HTTPResponse.Status { .badRequest }
}

extension EngineRequestError: Refusal {
    var status: HTTPResponse.Status { .badRequest }
}

extension StrategyType {
    /// The strategy type a request names, or a 400 listing the known ones.
    static func named(_ name: String) throws -> StrategyType {
        guard let type = StrategyType(rawValue: name) else {
            throw Rejection("unknown strategy_type '\(name.prefix(64))'; expected one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return type
    }
}

extension CustodianRefusal: Refusal {
    var status: HTTPResponse.Status {
        switch code {
        case .malformed, .badShares: .badRequest
        case .unknownKey, .unknownStrategy: .notFound
        case .badAuthorization: .forbidden
        case .unverifiedPrice, .feedMissing, .stalePrice, .futurePrice, .priceOutOfRange: .unprocessableContent
        case .notLater, .closed, .budgetSpent: .conflict
        }
    }

    /// `{"status":"error","refused":<code>,"message":…}`: callers (the executor, the attack tests)
    /// read the code.
    func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(status, ["status": "error", "refused": code.rawValue, "message": detail])
    }
}

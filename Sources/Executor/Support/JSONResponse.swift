import Foundation
import HTTPTypes
import Hummingbird

/// JSON answers, for every service of the binary (and the stand-ins of the tests and the demo).
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        // Every answer is about live state (and some about a caller's strategies): never cached.
        return Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Already-serialized JSON, sent as is (the engine answers in the original's exact bytes).
    static func raw(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        make(status, ["status": "error", "message": message])
    }
}

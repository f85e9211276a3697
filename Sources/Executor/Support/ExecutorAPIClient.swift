import AsyncHTTPClient
import Foundation
import NIOCore

/// The client side of the executor's REST API (register-key, payload-server, demo): one POST with
/// the API token when there is one; answers (status, body).
enum ExecutorAPIClient {
    static func post(_ url: String, _ body: some Sequence<UInt8>, contentType: String, token: String? = nil,
                     timeout: TimeAmount = .seconds(300)) async throws -> (Int, ByteBuffer) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        if let token { request.headers.add(name: "X-API-TOKEN", value: token) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        return (Int(response.status.code), try await response.body.collect(upTo: 1 << 20))
    }

    static func get(_ url: String, timeout: TimeAmount = .seconds(30)) async throws -> (Int, ByteBuffer) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: timeout)
        return (Int(response.status.code), try await response.body.collect(upTo: 1 << 20))
    }
}

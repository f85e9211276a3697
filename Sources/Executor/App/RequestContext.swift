import Hummingbird
import NIOCore

/// The request context of every service of the binary: the client's address (per-client rate
/// limiting), the caller's identity (set by ``AccessMiddleware``) and the connection, on which a
/// body reader answers `Expect: 100-continue` once a request is accepted.
struct ExecutorRequestContext: RequestContext, RemoteAddressRequestContext, IdentifiedRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?
    let channel: any Channel
    var identity: Identity?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }
}

import Foundation

/// At `createStrategy`, when a chain is configured and proofs are verified (the original checked
/// the swap there and nowhere else before settlement): the strategy's swap must be buildable
/// (zkp_data, token of asset_out, recipient) and `verify(...)` must return true in a static call.
/// A false or reverting proof is the client's fault (400); an unreachable node is ours (503).
/// Without a verifier nothing is checked here; an unbuildable swap fails at settlement.
struct ProofVerifier: Sendable {
    let chain: ChainConfiguration
    let rpc: JSONRPCClient

    init(chain: ChainConfiguration) {
        self.chain = chain
        self.rpc = JSONRPCClient(url: chain.rpcURL)
    }

    func check(_ record: StrategyRecord) async throws {
        guard let verifier = chain.verifier else { return }
        let order: Entrypoint.SwapOrder
        do { order = try chain.swapOrder(zkpData: record.zkpData, assetOut: record.assetOut, recipient: record.recipientAddress, minAmountOut: 0) } catch {
            throw Rejection("\(error)")
        }
        let answer: [UInt8]
        do {
            answer = try await rpc.call(JSONRPCClient.callObject(from: nil, to: verifier, data: try order.authorization.verifyCalldata()))
        } catch let e as JSONRPCError where e.isRevert {
            throw Rejection("proof rejected: verify() reverted: \(e.revertReason)")
        } catch {
            throw DependencyUnavailable(description: "cannot verify the proof now (\(error)); retry later")
        }
        guard case .bool(let valid)? = try? ABI.decode([.bool], from: answer).first else {
            throw Rejection("proof rejected: verify() did not return a bool")
        }
        guard valid else { throw Rejection("proof rejected: verify() returned false") }
    }
}

import BigInt
import Foundation
import GRDB

/// One transaction signed by the executor: a strategy's swap (each fee bump is another row at the
/// same nonce) or a filler (`strategyId` nil) that closes a nonce hole.
struct SignedTransactionRecord: Codable, Sendable {

    enum State: String, Codable, Sendable, DatabaseValueConvertible {
        /// Persisted, not yet accepted by the node (a crash here is reconciled by re-sending it).
        case signed
        /// Accepted by the node.
        case sent
        /// Refused by the node; the nonce is still ours and is signed again with a higher fee.
        case rejected
        /// Seen in a block (a reorganisation may take it back to `sent`).
        case mined
        /// A filler whose nonce was used by something else.
        case superseded
    }

    var txHash: String
    var strategyId: Int64?
    var sender: String
    var nonce: Int64
    var raw: Data
    var feeWei: String
    var tipWei: String?
    var state: State
    var createdAt: Date
    var sentAt: Date?

    /// `feeWei`: the gas price, or the max fee per gas of a type-2 transaction with its `tipWei`.
    init(strategyID: Int64?, sender: String, nonce: UInt64, txHash: String, raw: [UInt8], feeWei: BigUInt, tipWei: BigUInt?) {
        self.txHash = txHash
        strategyId = strategyID
        self.sender = sender
        self.nonce = Int64(nonce)
        self.raw = Data(raw)
        self.feeWei = String(feeWei)
        self.tipWei = tipWei.map { String($0) }
        state = .signed
        createdAt = Date()
    }
}

extension SignedTransactionRecord {
    static let columns = "txHash, strategyId, sender, nonce, raw, feeWei, tipWei, state, createdAt, sentAt"

    init(row: SQLRow) throws {
        txHash = try row["txHash"]
        strategyId = try row.optional("strategyId")
        sender = try row["sender"]
        nonce = Int64(try row["nonce"] as UInt64) // never negative: the finalizer compares it with the chain's count
        raw = try row["raw"]
        feeWei = try row["feeWei"]
        tipWei = try row.optional("tipWei")
        state = try row["state"]
        createdAt = try row["createdAt"]
        sentAt = try row.optional("sentAt")
    }

    func insert(_ tx: any SQLTransaction) throws {
        try tx.execute("INSERT INTO signedTransaction (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       .text(txHash), strategyId.sqlValue, .text(sender), .integer(nonce), .blob(raw), .text(feeWei),
                       tipWei.sqlValue, state.sqlValue, .date(createdAt), sentAt.sqlValue)
    }
}

/// Where a transaction was mined, as the order book keeps it.
struct Inclusion: Sendable, Equatable {
    var blockNumber: UInt64
    var gasUsed: UInt64
    var succeeded: Bool
}

/// Something that happened to a strategy besides its status changes.
struct StrategyEvent: Sendable, Equatable {
    var at: Date
    var kind: String
    var detail: String
}

import Foundation

/// What a poll or a stream event yields: prices backed by a verified update, and the feeds whose
/// price was refused for it (no evaluation on them this tick).
struct PriceAnswer: Sendable {
    var quotes: [PriceQuote]
    var rejected: [PriceRejection] = []
}

/// Joins Hermes's parsed JSON with the signed updates it sent beside it. A parsed price is used
/// only when a verified update (signatures, quorum, emitter, Merkle proof: ``AccumulatorUpdate``)
/// carries a message for its feed with exactly its price, conf, exponent and publish time; the
/// quote then keeps that update as evidence. Anything else rejects that feed's price with a typed
/// reason. With no trust roots (PYTH_VERIFY=0) the parsed JSON is taken as it is.
enum PriceVerification {
    static func check(_ answer: HermesWire.Answer, trust: PythTrustRoots?) -> PriceAnswer {
        guard let trust else { return PriceAnswer(quotes: answer.feeds.map(\.quote)) }
        // Hermes sends one update per answer (v2) or per feed (legacy); more distinct updates than
        // feeds is padding meant to make us verify signatures for nothing: refused before any check.
        let distinct = Set(answer.feeds.flatMap(\.updates))
        guard distinct.count <= max(1, answer.feeds.count) else {
            let why = AccumulatorUpdate.Rejection.malformed("\(distinct.count) updates for \(answer.feeds.count) feeds")
            return PriceAnswer(quotes: [], rejected: answer.feeds.map {
                .unverified(feedID: $0.quote.feedID, reason: why.reason, detail: why.description)
            })
        }
        // A v2 answer carries one update for all its feeds: each distinct update is verified once.
        var verdicts: [[UInt8]: Result<AccumulatorUpdate, AccumulatorUpdate.Rejection>] = [:]
        func verdict(_ bytes: [UInt8]) -> Result<AccumulatorUpdate, AccumulatorUpdate.Rejection> {
            if let known = verdicts[bytes] { return known }
            let result: Result<AccumulatorUpdate, AccumulatorUpdate.Rejection>
            do { result = .success(try AccumulatorUpdate.verify(bytes, trust: trust)) } catch {
                result = .failure(error as? AccumulatorUpdate.Rejection ?? .malformed("\(error)"))
            }
            verdicts[bytes] = result
            return result
        }
        var result = PriceAnswer(quotes: [])
        for (quote, updates) in answer.feeds {
            var refusal: AccumulatorUpdate.Rejection? = answer.undecodable.map { .malformed($0) }
            var backing: (message: AccumulatorUpdate.PriceMessage, update: [UInt8])?
            for bytes in updates {
                switch verdict(bytes) {
                case .failure(let why): refusal = why
                case .success(let update):
                    if let message = update.messages.first(where: { $0.feedHex == quote.feedID }) { backing = (message, bytes) }
                }
                if backing != nil { break }
            }
            guard let (message, bytes) = backing else {
                let why = refusal ?? .feedMissing(quote.feedID)
                result.rejected.append(.unverified(feedID: quote.feedID, reason: why.reason, detail: why.description))
                continue
            }
            guard message.price == quote.price, message.conf == quote.conf, message.exponent == quote.expo,
                  message.publishTime == quote.publishTime else {
                let why = AccumulatorUpdate.Rejection.parsedMismatch(
                    "signed \(message.price)±\(message.conf)e\(message.exponent) at \(message.publishTime), "
                        + "parsed \(quote.price)±\(quote.conf)e\(quote.expo) at \(quote.publishTime)")
                result.rejected.append(.unverified(feedID: quote.feedID, reason: why.reason, detail: why.description))
                continue
            }
            var verified = quote
            verified.update = bytes
            result.quotes.append(verified)
        }
        return result
    }
}

@testable import SharedMemory
import Testing

/// A request as a value (`Codable` through a codec), as the issue's
/// `try await client.request(value, timeout:)` asks.
@Suite("Request/response with values")
struct TypedRequestTests {
    struct Quote: Codable, Sendable, Equatable {
        var symbol: String
        var quantity: Int
    }

    struct Price: Codable, Sendable, Equatable {
        var symbol: String
        var total: Double
    }

    @Test("A value goes out, a value comes back; a request that does not decode is answered with an error")
    func values() async throws {
        let name = try SegmentName(TestNames.unique("rrv"))
        defer { try? SharedMemorySegment.remove(name) }
        let server = try RequestServer.open(name, creating: RequestResponseConfiguration(maxClients: 2, ring: RingConfiguration(capacity: 4096)))
        let serving = Task.detached {
            try await server.serve(decoding: Quote.self) { quote in Price(symbol: quote.symbol, total: Double(quote.quantity) * 2.5) }
        }
        let client = try RequestClient.open(name, creating: nil)
        let price = try await client.request(Quote(symbol: "ACME", quantity: 4), replying: Price.self, timeout: .seconds(10))
        #expect(price == Price(symbol: "ACME", total: 10))
        let blocking = try await Task.detached {
            try client.request(blocking: Quote(symbol: "XYZ", quantity: 1), replying: Price.self, timeout: .seconds(10))
        }.value
        #expect(blocking == Price(symbol: "XYZ", total: 2.5))
        // Not a Quote: the server answers with an error, the client gets requestFailed.
        let failure = await { () async -> ChannelError? in
            do {
                _ = try await client.request(["not": "a quote"], replying: Price.self, timeout: .seconds(10))
                return nil
            } catch { return error as? ChannelError }
        }()
        guard case .requestFailed = failure else { Issue.record("\(String(describing: failure))"); return }
        serving.cancel()
        _ = await serving.result
    }
}

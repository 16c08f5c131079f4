import SharedMemory
import Testing
@testable import SharedMemoryBridge

private let me: [UInt8] = Array(repeating: 0x11, count: 16)
private let other: [UInt8] = Array(repeating: 0x22, count: 16)
private let third: [UInt8] = Array(repeating: 0x33, count: 16)

@Suite("Request bridging: pending requests")
struct PendingRequestsTests {
    @Test("the map is bounded: beyond its capacity nothing is added, and a taken id is refused")
    func bounded() {
        let now = ContinuousClock.now
        var map = PendingRequests<String>(capacity: 3, timeout: .seconds(30))
        var added: [Bool] = []
        for id in 1...4 { added.append(map.insert(UInt64(id), "r\(id)", responder: other, isStream: false, now: now)) }
        #expect(added == [true, true, true, false])
        #expect(map.count == 3)
        map.remove(2)
        let again = map.insert(1, "again", responder: other, isStream: false, now: now)
        #expect(!again)
        let fourth = map.insert(4, "r4", responder: other, isStream: false, now: now)
        #expect(fourth)
        #expect(map.count == 3)
    }

    @Test("entries past the timeout expire; a stream item starts a stream's deadline again")
    func expiry() {
        let start = ContinuousClock.now
        var map = PendingRequests<String>(capacity: 10, timeout: .seconds(5))
        _ = map.insert(1, "plain", responder: other, isStream: false, now: start)
        _ = map.insert(2, "stream", responder: other, isStream: true, now: start)
        let early = map.expire(now: start + .seconds(4))
        #expect(early.isEmpty)
        let item = map.answer(2, from: other, kind: .streamItem, now: start + .seconds(4))
        #expect(item?.value == "stream")
        let expired = map.expire(now: start + .seconds(6))
        #expect(expired.map(\.0) == [1])
        #expect(map.count == 1)
        let later = map.expire(now: start + .seconds(9))
        #expect(later.map(\.0) == [2])
        #expect(map.count == 0)
    }

    @Test("a reply is taken only from the responder asked, and only while pending; the end takes the entry out")
    func answers() {
        let now = ContinuousClock.now
        var map = PendingRequests<String>(capacity: 10, timeout: .seconds(5))
        _ = map.insert(7, "seven", responder: other, isStream: true, now: now)
        let fromThird = map.answer(7, from: third, kind: .streamItem, now: now)
        #expect(fromThird == nil)
        let unknown = map.answer(8, from: other, kind: .reply, now: now)
        #expect(unknown == nil)
        let item = map.answer(7, from: other, kind: .streamItem, now: now)
        #expect(item != nil)
        let end = map.answer(7, from: other, kind: .streamEnd, now: now)
        #expect(end != nil)
        let afterEnd = map.answer(7, from: other, kind: .streamItem, now: now)
        #expect(afterEnd == nil)
        _ = map.insert(9, "nine", responder: other, isStream: false, now: now)
        // A stream item to a plain request answers it once.
        let plain = map.answer(9, from: other, kind: .streamItem, now: now)
        #expect(plain != nil)
        #expect(map.count == 0)
    }

    @Test("the requests sent to a responder that left are taken out, the others stay")
    func responderLeft() {
        let now = ContinuousClock.now
        var map = PendingRequests<String>(capacity: 10, timeout: .seconds(5))
        _ = map.insert(1, "a", responder: other, isStream: false, now: now)
        _ = map.insert(2, "b", responder: third, isStream: false, now: now)
        _ = map.insert(3, "c", responder: other, isStream: true, now: now)
        let lost = map.removeAll(notSentTo: [third])
        #expect(lost.map(\.0) == [1, 3])
        #expect(map.count == 1)
        let rest = map.removeAll()
        #expect(rest.map(\.0) == [2])
    }
}

@Suite("Request bridging: checks of samples from the network")
struct RequestSampleCheckTests {
    let check = RequestSampleCheck(origin: me, maxPayload: 100)

    func request(sender: [UInt8], target: [UInt8], kind: UInt8, length: Int) -> RequestSampleCheck.Refusal? {
        sender.withUnsafeBytes { s in target.withUnsafeBytes { t in check.refusalOfRequest(sender: s, target: t, kind: kind, payloadLength: length) } }
    }

    func reply(sender: [UInt8], target: [UInt8], kind: UInt8, length: Int) -> RequestSampleCheck.Refusal? {
        sender.withUnsafeBytes { s in target.withUnsafeBytes { t in check.refusalOfReply(sender: s, target: t, kind: kind, payloadLength: length) } }
    }

    @Test("requests: own samples, other targets, unknown kinds and oversized payloads are refused")
    func requests() {
        #expect(request(sender: other, target: me, kind: 1, length: 100) == nil)
        #expect(request(sender: other, target: me, kind: 2, length: 0) == nil)
        #expect(request(sender: other, target: me, kind: 3, length: 5000) == nil)  // a cancel's payload is ignored
        #expect(request(sender: me, target: me, kind: 1, length: 1) == .ownSample)
        #expect(request(sender: other, target: third, kind: 1, length: 1) == .notForUs)
        #expect(request(sender: other, target: Array(me.prefix(15)), kind: 1, length: 1) == .notForUs)
        for kind: UInt8 in [0, 4, 255] { #expect(request(sender: other, target: me, kind: kind, length: 1) == .badKind(kind)) }
        #expect(request(sender: other, target: me, kind: 1, length: 101) == .tooLarge(101))
        #expect(request(sender: other, target: me, kind: 1, length: -1) == .tooLarge(-1))
    }

    @Test("replies: own samples, other targets, unknown kinds and oversized payloads are refused; an error's reason may be long")
    func replies() {
        for kind: UInt8 in 1...4 { #expect(reply(sender: other, target: me, kind: kind, length: 100) == nil) }
        #expect(reply(sender: me, target: me, kind: 1, length: 1) == .ownSample)
        #expect(reply(sender: other, target: third, kind: 1, length: 1) == .notForUs)
        for kind: UInt8 in [0, 5, 200] { #expect(reply(sender: other, target: me, kind: kind, length: 1) == .badKind(kind)) }
        #expect(reply(sender: other, target: me, kind: 2, length: 101) == .tooLarge(101))
        #expect(reply(sender: other, target: me, kind: 4, length: 5000) == nil)
    }
}

@Suite("Request bridging: choosing the responder")
struct ResponderChoiceTests {
    func responder(_ origin: [UInt8], serving: Bool = true) -> ResponderChoice.Responder {
        ResponderChoice.Responder(origin: origin, maxPayload: 1000, serving: serving)
    }

    @Test("the alive, serving responder with the smallest origin is chosen; none without one")
    func smallest() {
        var choice = ResponderChoice()
        #expect(choice.current == nil)
        let empty = choice.update(alive: [])
        #expect(!empty)
        let two = choice.update(alive: [responder(third), responder(other)])
        #expect(two)
        #expect(choice.current?.origin == other)
        var none = ResponderChoice()
        let notServing = none.update(alive: [responder(other, serving: false)])
        #expect(!notServing)
        #expect(none.current == nil)
        #expect(none.aliveOrigins == [other])
    }

    @Test("the chosen responder is kept while it lives and serves, even when a smaller one comes")
    func sticky() {
        var choice = ResponderChoice()
        choice.update(alive: [responder(third)])
        #expect(choice.current?.origin == third)
        let smallerCame = choice.update(alive: [responder(third), responder(other)])
        #expect(!smallerCame)
        #expect(choice.current?.origin == third)
        // It stops serving: the other takes over.
        let stopped = choice.update(alive: [responder(third, serving: false), responder(other)])
        #expect(stopped)
        #expect(choice.current?.origin == other)
        // It leaves: nothing chosen until one comes.
        let gone = choice.update(alive: [])
        #expect(gone)
        #expect(choice.current == nil)
    }
}

@Suite("Request bridging: configuration and topics")
struct RequestConfigurationTests {
    @Test("request topics follow the service's topic, with /request, /reply and /server")
    func topics() {
        let names = BridgeNaming.requestTopicNames(forService: "calc-1.x")
        #expect(names?.request == "shm/calc_h1_dx/request")
        #expect(names?.reply == "shm/calc_h1_dx/reply")
        #expect(names?.server == "shm/calc_h1_dx/server")
        #expect(BridgeNaming.requestTopicNames(forService: "a/b") == nil)
        // An escaped service name holds no '/': a request topic is never a service's topic.
        #expect(BridgeNaming.serviceName(forTopic: "shm/calc_h1_dx/request") == nil)
    }

    @Test("a name both publish/subscribe and request/response, or both ways, is refused; request-only is fine")
    func problems() {
        var configuration = BridgeConfiguration(services: [])
        configuration.requestServices = [BridgedRequestService(name: "calc", direction: .out)]
        #expect(configuration.problem == nil)
        configuration.services = [BridgedService(name: "calc", direction: .in)]
        #expect(configuration.problem?.contains("cannot share a segment name") == true)
        configuration.services = []
        configuration.requestServices.append(BridgedRequestService(name: "calc", direction: .in))
        #expect(configuration.problem?.contains("--requests-out and --requests-in") == true)
        configuration.requestServices = [BridgedRequestService(name: "calc", direction: .out), BridgedRequestService(name: "calc", direction: .out)]
        #expect(configuration.problem != nil)
        configuration.requestServices = [BridgedRequestService(name: "../x", direction: .in)]
        #expect(configuration.problem != nil)
        configuration.requestServices = [BridgedRequestService(name: "calc", direction: .in)]
        configuration.requestTimeout = .zero
        #expect(configuration.problem?.contains("request timeout") == true)
        configuration.requestTimeout = .seconds(1)
        configuration.maxPendingRequests = 0
        #expect(configuration.problem?.contains("pending requests") == true)
    }
}

@Suite("Request bridging: requests in flight at the responder")
struct RequestsInFlightTests {
    @Test("found by the requester's key and by the local id; removed once, by either")
    func keys() {
        let now = ContinuousClock.now
        var table = RequestsInFlight()
        let a = RequestsInFlight.Key(requester: other, id: 7)
        let b = RequestsInFlight.Key(requester: third, id: 7)
        table.insert(.init(key: a, id: 100, stream: false, deadline: now + .seconds(5)))
        table.insert(.init(key: b, id: 101, stream: true, deadline: now + .seconds(5)))
        #expect(table.count == 2)
        #expect(table.remove(b)?.id == 101)
        #expect(table.remove(b) == nil)
        #expect(table.remove(local: 101) == nil)
        #expect(table.remove(local: 100)?.key == a)
        #expect(table.remove(a) == nil)
        #expect(table.count == 0)
    }

    @Test("a requester's key in flight is known until its request ends (a second request with it is refused by the bridge)")
    func contains() {
        let now = ContinuousClock.now
        var table = RequestsInFlight()
        let a = RequestsInFlight.Key(requester: other, id: 7)
        #expect(!table.contains(a))
        table.insert(.init(key: a, id: 100, stream: true, deadline: now + .seconds(5)))
        #expect(table.contains(a))
        #expect(!table.contains(.init(requester: third, id: 7)))
        #expect(table.remove(local: 100)?.key == a)
        #expect(!table.contains(a))
    }

    @Test("past its deadline a request expires; an item moves a stream's deadline")
    func expiry() {
        let start = ContinuousClock.now
        var table = RequestsInFlight()
        table.insert(.init(key: .init(requester: other, id: 1), id: 10, stream: false, deadline: start + .seconds(1)))
        table.insert(.init(key: .init(requester: other, id: 2), id: 11, stream: true, deadline: start + .seconds(1)))
        #expect(table.touch(local: 11, deadline: start + .seconds(3))?.id == 11)
        #expect(table.touch(local: 99, deadline: start + .seconds(3)) == nil)
        #expect(table.expire(now: start + .milliseconds(500)).isEmpty)
        #expect(table.expire(now: start + .seconds(2)).map(\.id) == [10])
        #expect(table.count == 1)
        #expect(table.expire(now: start + .seconds(3)).map(\.id) == [11])
        #expect(table.count == 0)
    }
}

import SharedMemory
import Testing

@Suite("Configurations: every setting can be given to init")
struct ConfigurationTests {
    @Test("Every ring setting is passable at init")
    func ringConfiguration() {
        let configuration = RingConfiguration(capacity: 8192, maxMessageSize: 100, alignment: 16, lifetime: .lastClose)
        #expect(configuration.capacity == 8192)
        #expect(configuration.maxMessageSize == 100)
        #expect(configuration.alignment == 16)
        #expect(configuration.lifetime == .lastClose)
        #expect(RingConfiguration().lifetime == .posix)
    }

    @Test("Every publish/subscribe setting is passable at init")
    func publishSubscribeConfiguration() {
        let configuration = PublishSubscribeConfiguration(
            ring: RingConfiguration(capacity: 4096, lifetime: .lastClose), subscriberSlots: 3, policy: .overwrite)
        #expect(configuration.ring.lifetime == .lastClose)
        #expect(configuration.subscriberSlots == 3)
        #expect(configuration.policy == .overwrite)
    }
}

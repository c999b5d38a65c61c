import Testing

@testable import rfctl

/// `rfctl watch`'s bell, without a terminal.
struct AlarmBellTests {
    @Test(
        "The bell rings for a high alarm whose status was read before its event, once; not for one raised before the view began"
    )
    func statusBeforeEvent() {
        var bell = AlarmBell()
        bell.statusRead(alarms: [3])
        let before = bell.raised(id: 3, priority: "high")
        #expect(!before, "raised before the view began")
        // A status poll's reply, read ahead of the alarm_raised the socket carried before it.
        bell.statusRead(alarms: [3, 7])
        let first = bell.raised(id: 7, priority: "high")
        let again = bell.raised(id: 7, priority: "high")
        let medium = bell.raised(id: 8, priority: "medium")
        #expect(first, "a high alarm raised while watching rings")
        #expect(!again, "once")
        #expect(!medium, "only high alarms ring")
    }
}

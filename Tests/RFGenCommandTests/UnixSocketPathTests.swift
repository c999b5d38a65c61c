import RFGenSystem
import Testing

struct UnixSocketPathTests {
    @Test("A peer's groups read from the socket end at the first 0 after the first; a lone group 0 is dropped")
    func peerGroups() {
        func read(_ gids: [UInt32]) -> [UInt32] {
            var groups = Accounts.PeerGroups()
            for (index, gid) in gids.enumerated() { groups.storage[index] = gid }
            return groups.groups
        }
        #expect(read([]) == [])
        #expect(read([4, 24, 65533]) == [4, 24, 65533])
        #expect(read([0, 4, 65533]) == [0, 4, 65533], "group 0 sorts first and counts when others follow")
        #expect(read([0]) == [], "indistinguishable from no groups: dropped, so a role can only be lost")
        let full = (1...UInt32(Accounts.PeerGroups.capacity)).map { $0 }
        #expect(read(full) == full)
    }
}

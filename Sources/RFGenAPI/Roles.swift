/// Who may do what (protocol/API.md, "Roles").
public enum Role: String, Codable, Sendable, Hashable, Comparable {
    /// Reads and subscribes: capture, dashboards.
    case observer
    /// Also starts (with the control lease), stops, emergency-stops and acknowledges.
    case `operator`

    public static func < (a: Role, b: Role) -> Bool { a == .observer && b == .operator }
}

/// Maps a peer's user and groups to a role. Pure: the daemon resolves group names to ids and
/// reads the peer's groups; this decides.
public struct RolePolicy: Hashable, Sendable {
    /// Members of any of these groups are operators.
    public var operatorGroups: Set<UInt32>
    /// Members of any of these groups are observers. Empty: every peer the socket's file mode
    /// lets in is at least an observer.
    public var observerGroups: Set<UInt32>
    /// Users that are operators whatever their groups: root and the daemon's own user, who own
    /// the machine and the daemon anyway.
    public var operatorUsers: Set<UInt32>

    public init(operatorGroups: Set<UInt32>, observerGroups: Set<UInt32> = [], operatorUsers: Set<UInt32> = [0]) {
        self.operatorGroups = operatorGroups
        self.observerGroups = observerGroups
        self.operatorUsers = operatorUsers
    }

    /// The role of a peer, or nil when it has none (the daemon then refuses the connection).
    public func role(uid: UInt32, groups: Set<UInt32>) -> Role? {
        if operatorUsers.contains(uid) || !operatorGroups.isDisjoint(with: groups) { return .operator }
        if observerGroups.isEmpty || !observerGroups.isDisjoint(with: groups) { return .observer }
        return nil
    }
}

/// The methods, and the least role each needs.
public enum Method: String, CaseIterable, Sendable {
    case status
    case profiles
    case clients
    case metrics
    case ping
    case subscribe
    case unsubscribe
    case recordsList = "records.list"
    case recordsShow = "records.show"
    case recordsExport = "records.export"
    case leaseAcquire = "lease.acquire"
    case leaseRelease = "lease.release"
    case start
    case stop
    case estop
    case ack
    case sessionOpen = "session.open"
    case sessionClose = "session.close"
    case sessionShow = "session.show"
    case sessionList = "session.list"

    public var requiredRole: Role {
        switch self {
        case .status, .profiles, .clients, .metrics, .ping, .subscribe, .unsubscribe, .recordsList, .recordsShow,
            .recordsExport, .sessionShow, .sessionList:
            .observer
        case .leaseAcquire, .leaseRelease, .start, .stop, .estop, .ack, .sessionOpen, .sessionClose:
            .operator
        }
    }
}

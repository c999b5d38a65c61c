import Logging
import NIOCore
import NIOExtras
import NIOPosix
import RFGenAPI
import RFGenCore
import RFGenSystem

#if canImport(Glibc)
import Glibc
#endif

/// How the API is served.
public struct APIConfiguration: Sendable {
    public var socketPath: String
    public var roles: RolePolicy
    /// The socket file's group (mode 0660): who may connect at all.
    public var socketGroup: UInt32?
    /// Clients connected at once (`APILimits.clients` unless configured, at most `clientsCeiling`).
    public var maxClients: Int
    /// The profiles a start may name (`TreatmentProfile.catalogue`).
    public var profiles = TreatmentProfile.builtIn

    public init(
        socketPath: String,
        roles: RolePolicy,
        socketGroup: UInt32? = nil,
        maxClients: Int = APILimits.clients,
        profiles: [TreatmentProfile] = TreatmentProfile.builtIn
    ) {
        precondition((1...APILimits.clientsCeiling).contains(maxClients), "max clients out of range")
        self.socketPath = socketPath
        self.roles = roles
        self.socketGroup = socketGroup
        self.maxClients = maxClients
        self.profiles = profiles
    }
}

/// The socket API on one SwiftNIO event loop: newline-delimited JSON (protocol/API.md). Requests
/// become commands for the control tick through `Shared`; events come from `Shared.bus`. Nothing
/// here can block the control thread: it only ever takes the bus's and the status's locks for a copy.
final class APIServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let hub: APIHub
    private let channel: any Channel
    let path: String

    /// Whether the socket came from systemd, which then owns its file.
    private let activated: Bool

    /// - Parameter activatedSocket: a listening socket from socket activation; nil binds
    ///   `configuration.socketPath`.
    init(
        activatedSocket: Int32? = nil,
        configuration: APIConfiguration,
        identity: APIHub.Identity,
        shared: Shared,
        logger: Logger,
        log: @escaping @Sendable (String) -> Void
    ) throws {
        activated = activatedSocket != nil
        if activatedSocket == nil {
            try UnixSocketPath.checkDirectory(of: configuration.socketPath)
            try UnixSocketPath.prepare(configuration.socketPath)
        }
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let loop = group.next()
        let hub = APIHub(
            loop: loop,
            pool: pool,
            shared: shared,
            roles: configuration.roles,
            maxClients: configuration.maxClients,
            profiles: configuration.profiles,
            identity: identity,
            journal: EventJournal(logger: logger),
            log: log
        )
        self.hub = hub
        path = configuration.socketPath
        do {
            let bootstrap = ServerBootstrap(group: group)
                .childChannelOption(
                    .writeBufferWaterMark,
                    value: .init(low: APILimits.clientLowWaterBytes, high: APILimits.clientHighWaterBytes)
                )
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let connection = Connection()
                        // Ahead of the line decoder: tells the hub whether a line is left
                        // unfinished (a line trickled a byte at a time has a deadline).
                        try channel.pipeline.syncOperations.addHandler(LineWatch(hub: hub, connection: connection))
                        // Complete lines are taken before the size check, so only a line that is
                        // itself too long trips it.
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(
                                LineBasedFrameDecoder(),
                                // The line and its "\r\n": a line of the limit may wait for them.
                                maximumBufferSize: APILimits.requestLineBytes + 2
                            )
                        )
                        try channel.pipeline.syncOperations.addHandler(ClientHandler(hub: hub, connection: connection))
                    }
                }
            // systemd makes its socket with the unit's SocketMode= and SocketGroup=; ours gets 0660
            // and the group as it is made, never by a chmod that could follow a swapped-in symlink.
            let listening =
                try activatedSocket
                ?? UnixSocketPath.listen(
                    at: configuration.socketPath,
                    mode: 0o660,
                    group: configuration.socketGroup,
                    backlog: APILimits.listenBacklog
                )
            channel = try bootstrap.withBoundSocket(listening).wait()
            try loop.submit { hub.startPumping() }.wait()
        } catch {
            try? group.syncShutdownGracefully()
            try? pool.syncShutdownGracefully()
            throw error
        }
    }

    /// Sends what is left (the daemon's last events included), closes every connection, and stops.
    func shutdown() {
        let loop = group.next()
        // Close clients only after their last writes are flushed, a second at most.
        let drained = loop.flatSubmit { self.hub.finish() }
        _ = try? drained.wait()
        _ = try? channel.close().wait()
        try? group.syncShutdownGracefully()
        try? pool.syncShutdownGracefully()
        if !activated { unlink(path) }
    }
}

/// One connection's client, shared by its two handlers. Touched only on its event loop.
private final class Connection {
    var client: APIHub.Client?
}

/// Ahead of the line decoder: whether the bytes that arrived end a line.
private final class LineWatch: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let hub: APIHub
    private let connection: Connection

    init(hub: APIHub, connection: Connection) {
        self.hub = hub
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if let client = connection.client, let last = bytes.readableBytesView.last {
            hub.bytesArrived(from: client, endsLine: last == UInt8(ascii: "\n"))
        }
        context.fireChannelRead(data)
    }
}

/// One connection's pipeline end: lines in, to the hub.
private final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let hub: APIHub
    private let connection: Connection
    private var client: APIHub.Client? {
        get { connection.client }
        set { connection.client = newValue }
    }

    init(hub: APIHub, connection: Connection) {
        self.hub = hub
        self.connection = connection
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        // On the event loop the socket option is read at once and the callback runs before return.
        let credentials: EventLoopFuture<(Int32, UInt32, UInt32)> =
            (channel as? any SocketOptionProvider)?.unsafeGetSocketOption(
                level: .socket,
                name: NIOBSDSocket.Option(rawValue: SO_PEERCRED)
            ) ?? channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
        // The groups the peer had when it connected, from the socket: reading /proc/PID later
        // would race the peer changing its groups, or its PID going to another process.
        let groups: EventLoopFuture<Accounts.PeerGroups> =
            (channel as? any SocketOptionProvider)?.unsafeGetSocketOption(
                level: .socket,
                name: NIOBSDSocket.Option(rawValue: Accounts.peerGroupsOption)
            ) ?? channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
        // Groups that cannot be read (more than PeerGroups.capacity: ERANGE) leave the peer its
        // user and primary group only: it can lose a role by that, never gain one.
        let readGroups = groups.map { Result<[UInt32], any Error>.success($0.groups) }
            .recover { Result<[UInt32], any Error>.failure($0) }
        credentials.and(readGroups).assumeIsolated().whenComplete { [self] result in
            let connected =
                switch result {
                case .success(let ((pid, uid, gid), .success(groups))):
                    hub.connect(channel: channel, pid: pid, uid: uid, gid: gid, groups: groups)
                case .success(let ((pid, uid, gid), .failure(error))):
                    hub.connect(
                        channel: channel,
                        pid: pid,
                        uid: uid,
                        gid: gid,
                        groups: [],
                        why:
                            "its supplementary groups could not be read (\(error)); judged by its user and primary group"
                    )
                case .failure(let error):
                    // Unknown credentials are no one's: never an operator, an observer only where the
                    // socket's mode alone admits observers.
                    hub.connect(
                        channel: channel,
                        pid: 0,
                        uid: .max,
                        gid: .max,
                        groups: [],
                        why: "its credentials could not be read (\(error)); it is no operator"
                    )
                }
            // Held before the banner is written, so that a peer gone during that write is freed.
            client = connected
            hub.greet(connected)
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let client else { return }
        hub.request(from: client, line: unwrapInboundIn(data))
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let client { hub.writabilityChanged(client) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let client { hub.disconnected(client) }
        client = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let client { hub.failed(client, error) }
        context.close(promise: nil)
    }
}

import Logging
import NIOCore
import NIOExtras
import NIOPosix
import RFGenAPI
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

    public init(socketPath: String, roles: RolePolicy, socketGroup: UInt32? = nil, maxClients: Int = APILimits.clients)
    {
        precondition((1...APILimits.clientsCeiling).contains(maxClients), "max clients out of range")
        self.socketPath = socketPath
        self.roles = roles
        self.socketGroup = socketGroup
        self.maxClients = maxClients
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
        if activatedSocket == nil { try UnixSocketPath.prepare(configuration.socketPath) }
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
            identity: identity,
            journal: EventJournal(logger: logger),
            log: log
        )
        self.hub = hub
        path = configuration.socketPath
        do {
            let bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .childChannelOption(
                    .writeBufferWaterMark,
                    value: .init(low: APILimits.clientLowWaterBytes, high: APILimits.clientHighWaterBytes)
                )
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // Complete lines are taken before the size check, so only a line that is
                        // itself too long trips it.
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(
                                LineBasedFrameDecoder(),
                                maximumBufferSize: APILimits.requestLineBytes
                            )
                        )
                        try channel.pipeline.syncOperations.addHandler(ClientHandler(hub: hub))
                    }
                }
            if let activatedSocket {
                // systemd made the socket with the unit's SocketMode= and SocketGroup=.
                channel = try bootstrap.withBoundSocket(activatedSocket).wait()
            } else {
                channel = try bootstrap.bind(unixDomainSocketPath: configuration.socketPath).wait()
                try UnixSocketPath.restrict(configuration.socketPath, mode: 0o660, group: configuration.socketGroup)
            }
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

/// One connection's pipeline end: lines in, to the hub.
private final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let hub: APIHub
    private var client: APIHub.Client?

    init(hub: APIHub) { self.hub = hub }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        // On the event loop the socket option is read at once and the callback runs before return.
        let credentials: EventLoopFuture<(Int32, UInt32, UInt32)> =
            (channel as? any SocketOptionProvider)?.unsafeGetSocketOption(
                level: .socket,
                name: NIOBSDSocket.Option(rawValue: SO_PEERCRED)
            ) ?? channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
        credentials.assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let (pid, uid, gid)):
                client = hub.connect(channel: channel, pid: pid, uid: uid, gid: gid)
            case .failure:
                client = hub.connect(channel: channel, pid: 0, uid: .max, gid: .max)
            }
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

import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import RFGenAPI
import Synchronization

/// `rfctl metrics`: the daemon's Prometheus exposition, once on standard output, or served over
/// HTTP for Prometheus to scrape (`--listen`). The daemon has no network of its own
/// (`PrivateNetwork=yes`); this exporter is the only part that listens on one, with a unit of its
/// own (systemd/rfgen-metrics.service) that can reach the API socket and nothing else.
struct Metrics: APICommand {
    static let configuration = CommandConfiguration(
        abstract: "The daemon's metrics in Prometheus' text format; --listen serves them over HTTP.",
        discussion: """
            Without --listen, prints the exposition once (--json: {"content_type", "text"}). With \
            --listen ADDRESS:PORT, serves GET /metrics over HTTP until SIGINT or SIGTERM; each \
            scrape asks the daemon afresh, over a connection of its own, and a daemon that cannot \
            be reached is answered 503 with the reason. Port 0 takes a free port; the address \
            actually bound is printed first, as "listening on http://ADDRESS:PORT/metrics".
            """
    )
    @ParentCommand var root: RFCtl
    @OptionGroup var common: Common
    @Option(help: "Serve over HTTP on this address and port, e.g. 127.0.0.1:9464 or [::1]:9464.")
    var listen: String?

    func validate() throws {
        if let listen, ExporterAddress(listen) == nil {
            throw ValidationError("--listen takes ADDRESS:PORT (e.g. 127.0.0.1:9464), got \"\(listen)\"")
        }
    }

    func run() throws {
        guard let listen, let address = ExporterAddress(listen) else {
            do {
                try run(on: try APIConnection(path: socket))
            } catch {
                fail(error)
            }
            return
        }
        do {
            try MetricsExporter(socket: socket).serve(host: address.host, port: address.port)
        } catch {
            FileHandle.standardError.write(Data("rfctl: cannot serve metrics on \(listen): \(error)\n".utf8))
            Foundation.exit(1)
        }
    }

    func run(on api: APIConnection) throws(APIConnection.Failure) {
        let result = try api.call("metrics", as: MetricsResult.self)
        if common.json {
            output(result) { "" }
        } else {
            FileHandle.standardOutput.write(Data(result.text.utf8))
        }
    }
}

/// `HOST:PORT`, `[IPv6]:PORT`.
struct ExporterAddress {
    var host: String
    var port: Int

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }
}

/// Every bound of the exporter, in one place.
enum ExporterLimits {
    /// Scrapers connected at once: Prometheus keeps one, a person with curl another; more are
    /// closed on arrival, so that a flood of connections cannot hold descriptors or threads.
    static let connections = 8
    /// A connection that sends no complete request this long is closed (slow or idle peers).
    static let idleSeconds: Int64 = 10
    /// The daemon's answer to one scrape; Prometheus' own default scrape timeout is 10 s.
    static let daemonTimeoutMilliseconds: Int32 = 5000
    /// Request head bytes (request line and headers) a scraper may send; NIO's parser refuses more.
    static let headBytes = 8 * 1024
}

/// The HTTP side: one request per connection, answered and closed.
final class MetricsExporter: Sendable {
    let socket: String

    init(socket: String) { self.socket = socket }

    /// Asks the daemon, on a connection of its own; the reply is the exposition or why not.
    func scrape() -> (status: HTTPResponseStatus, contentType: String, body: String) {
        do {
            let api = try APIConnection(path: socket, timeoutMilliseconds: ExporterLimits.daemonTimeoutMilliseconds)
            let result = try api.call("metrics", as: MetricsResult.self)
            return (.ok, result.contentType, result.text)
        } catch {
            return (.serviceUnavailable, "text/plain; charset=utf-8", "rfgend: \(error)\n")
        }
    }

    func serve(host: String, port: Int) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        let open = ConnectionCount()
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard open.take() else { return channel.close() }
                channel.closeFuture.whenComplete { _ in open.give() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        IdleStateHandler(readTimeout: .seconds(ExporterLimits.idleSeconds))
                    )
                    try channel.pipeline.syncOperations.addHandler(ScrapeHandler(exporter: self, pool: pool))
                }
            }
            .bind(host: host, port: port)
            .wait()
        let bound = channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? "\(host):\(port)"
        FileHandle.standardOutput.write(Data("listening on http://\(bound)/metrics\n".utf8))
        // Until SIGINT or SIGTERM.
        let signals = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        let interrupts = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        for source in [signals, interrupts] {
            source.setEventHandler { channel.close(promise: nil) }
            source.resume()
        }
        try channel.closeFuture.wait()
        try? pool.syncShutdownGracefully()
        try? group.syncShutdownGracefully()
    }
}

/// Connections open now, bounded by `ExporterLimits.connections`.
final class ConnectionCount: Sendable {
    private let count = Mutex(0)

    func take() -> Bool {
        count.withLock { count in
            guard count < ExporterLimits.connections else { return false }
            count += 1
            return true
        }
    }

    func give() { count.withLock { $0 -= 1 } }
}

/// GET /metrics (or /) answers the scrape; anything else is 404 or 405. The daemon is asked on the
/// thread pool, never on the event loop.
final class ScrapeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let exporter: MetricsExporter
    private let pool: NIOThreadPool
    private var head: HTTPRequestHead?
    private var headBytes = 0

    init(exporter: MetricsExporter, pool: NIOThreadPool) {
        self.exporter = exporter
        self.pool = pool
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            headBytes = head.uri.utf8.count + head.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count }
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            answer(head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        if headBytes > ExporterLimits.headBytes {
            return respond(
                context,
                .requestHeaderFieldsTooLarge,
                "text/plain; charset=utf-8",
                "request head too large\n",
                head
            )
        }
        guard path == "/metrics" || path == "/" else {
            return respond(context, .notFound, "text/plain; charset=utf-8", "the metrics are at /metrics\n", head)
        }
        guard head.method == .GET || head.method == .HEAD else {
            return respond(context, .methodNotAllowed, "text/plain; charset=utf-8", "GET /metrics only\n", head)
        }
        let exporter = self.exporter
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        pool.runIfActive(eventLoop: loop) { exporter.scrape() }.whenComplete { result in
            let (handler, context) = bound.value
            switch result {
            case .success(let scrape): handler.respond(context, scrape.status, scrape.contentType, scrape.body, head)
            case .failure: context.close(promise: nil)
            }
        }
    }

    private func respond(
        _ context: ChannelHandlerContext,
        _ status: HTTPResponseStatus,
        _ contentType: String,
        _ body: String,
        _ request: HTTPRequestHead
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Cache-Control", value: "no-store")
        if status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))),
            promise: nil
        )
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}

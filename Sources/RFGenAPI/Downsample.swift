/// Telemetry over an interval as one line: what `rfctl capture --interval` writes instead of every
/// frame (100 a second is about 130 MB an hour). Pure: frames in, summaries out; the capture
/// decides nothing else.
///
/// A window closes when its interval has passed, and also when the state, RF, the link or the
/// latched alarms change, so that a summary never blends two phases (a ramp's mean with a hold's)
/// and every change is at a window's edge. Events other than telemetry are never downsampled: the
/// capture closes the window before writing one, so the file keeps the stream's order.
public struct TelemetryDownsampler: Sendable {
    public let intervalMicroseconds: Int64
    private var window: Window?

    public init(intervalMicroseconds: Int64) {
        precondition(intervalMicroseconds > 0, "an interval is longer than nothing")
        self.intervalMicroseconds = intervalMicroseconds
    }

    /// One frame in; the summary of the window it closed, if it closed one.
    public mutating func add(seq: UInt64, wallUs: Int64, _ frame: TelemetryData) -> TelemetrySummary? {
        var closed: TelemetrySummary?
        if let open = window,
            wallUs - open.fromWallUs >= intervalMicroseconds || !open.sameCondition(as: frame)
        {
            closed = open.summary
            window = nil
        }
        if window == nil {
            window = Window(seq: seq, wallUs: wallUs, frame)
        } else {
            window?.add(seq: seq, wallUs: wallUs, frame)
        }
        return closed
    }

    /// Closes the open window (before another event, a disconnection, the end).
    public mutating func flush() -> TelemetrySummary? {
        defer { window = nil }
        return window?.summary
    }

    /// The frames of one window so far.
    private struct Window: Sendable {
        var fromSeq: UInt64
        var toSeq: UInt64
        var fromWallUs: Int64
        var toWallUs: Int64
        var frames = 1
        var last: TelemetryData
        var tip: Spread
        var power: Spread
        var setpointW: Spread
        var impedance: Spread
        var setpointC: Spread
        var channels: [Spread]
        var late: Spread
        var age: Spread

        init(seq: UInt64, wallUs: Int64, _ frame: TelemetryData) {
            fromSeq = seq
            toSeq = seq
            fromWallUs = wallUs
            toWallUs = wallUs
            last = frame
            tip = Spread(frame.tipTempC)
            power = Spread(frame.powerW)
            setpointW = Spread(frame.setpointW)
            impedance = Spread(frame.impedanceOhm)
            setpointC = Spread(frame.setpointC)
            channels = frame.temperaturesC.map { Spread($0) }
            late = Spread(Double(frame.lateUs))
            age = Spread(frame.ageMs)
        }

        mutating func add(seq: UInt64, wallUs: Int64, _ frame: TelemetryData) {
            toSeq = seq
            toWallUs = wallUs
            frames += 1
            last = frame
            tip.add(frame.tipTempC)
            power.add(frame.powerW)
            setpointW.add(frame.setpointW)
            impedance.add(frame.impedanceOhm)
            setpointC.add(frame.setpointC)
            for (index, value) in frame.temperaturesC.enumerated() {
                if index < channels.count { channels[index].add(value) } else { channels.append(Spread(value)) }
            }
            late.add(Double(frame.lateUs))
            age.add(frame.ageMs)
        }

        func sameCondition(as frame: TelemetryData) -> Bool {
            frame.state == last.state && frame.rfOn == last.rfOn && frame.link == last.link
                && frame.alarms == last.alarms
        }

        var summary: TelemetrySummary {
            TelemetrySummary(
                seq: toSeq,
                fromSeq: fromSeq,
                wallUs: toWallUs,
                fromWallUs: fromWallUs,
                frames: frames,
                state: last.state,
                rfOn: last.rfOn,
                link: last.link,
                alarms: last.alarms,
                tipTempC: tip.value(Resolution.centi),
                temperaturesC: channels.map { $0.value(Resolution.centi) },
                powerW: power.value(Resolution.milli),
                setpointW: setpointW.value(Resolution.milli),
                impedanceOhm: impedance.value(Resolution.deci),
                setpointC: setpointC.value(Resolution.centi),
                ageMs: age.value(Resolution.milli),
                lateUs: late.value { $0.rounded() },
                elapsedS: last.elapsedS,
                holdS: last.holdS,
                remainingS: last.remainingS,
                energyJ: last.energyJ,
                doseCem43Min: last.doseCem43Min,
                diameterMm: last.diameterMm
            )
        }
    }

    /// Mean, least and most of the values that were known (nil ones, a stale reading or an open
    /// channel, are counted apart).
    private struct Spread: Sendable {
        var sum = 0.0
        var count = 0
        var least = Double.infinity
        var most = -Double.infinity

        init(_ value: Double?) { add(value) }

        mutating func add(_ value: Double?) {
            guard let value, value.isFinite else { return }
            sum += value
            count += 1
            least = min(least, value)
            most = max(most, value)
        }

        func value(_ round: (Double) -> Double) -> TelemetrySummary.Stat? {
            guard count > 0 else { return nil }
            return TelemetrySummary.Stat(mean: round(sum / Double(count)), min: round(least), max: round(most))
        }
    }
}

/// One window of telemetry (`type` `telemetry_summary` in a capture file). `seq` is the window's
/// last frame's number, so a capture resumes after it as after any event; `from_seq` its first.
/// Readings are the mean, least and most over the window (null where no frame had one); the
/// lesion's totals (time, energy, dose) are the last frame's.
public struct TelemetrySummary: Codable, Hashable, Sendable {
    public struct Stat: Codable, Hashable, Sendable {
        public var mean: Double
        public var min: Double
        public var max: Double
    }

    public var type = "telemetry_summary"
    public var seq: UInt64
    public var fromSeq: UInt64
    public var wallUs: Int64
    public var fromWallUs: Int64
    public var frames: Int
    public var state: String
    public var rfOn: Bool
    public var link: String
    public var alarms: [UInt64]
    public var tipTempC: Stat?
    public var temperaturesC: [Stat?]
    public var powerW: Stat?
    public var setpointW: Stat?
    public var impedanceOhm: Stat?
    public var setpointC: Stat?
    public var ageMs: Stat?
    public var lateUs: Stat?
    public var elapsedS: Double
    public var holdS: Double
    public var remainingS: Double?
    public var energyJ: Double
    public var doseCem43Min: Double?
    public var diameterMm: Double?
}

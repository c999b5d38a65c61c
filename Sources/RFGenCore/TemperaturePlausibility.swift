/// Checks, every tick of a lesion with RF on, that the temperature readings agree with evidence
/// the thermocouples cannot fake (docs/INTERLOCKS.md, `temperature_implausible`, derives each
/// threshold):
///
/// - **Impedance.** Tissue conducts better as it warms (about 2 % per kelvin), so the load falls as
///   the tissue around the electrodes heats. No tissue is hotter than the electrodes, where the
///   thermocouples sit: a fall that needs the tissue several kelvin warmer than the readings say is
///   impossible, whatever the tissue. A physical bound; loose (the load reflects a weighted
///   average that is well below the tip's rise), but it needs nothing learned.
/// - **Energy.** In the first seconds of RF the tip's response to power is identified as a
///   first-order model (°C per W, a time constant). From then on, every second starts an
///   anchor: from how the delivered power changed since then, a lower bound of how much the
///   reading must have changed. A reading below that bound by more than the margin is
///   implausible. Bounds are of changes over at most 20 s, so that the tissue's slow changes
///   (heat spreading, perfusion ending where tissue coagulates) stay small beside the margin. A
///   reading below its value before RF, and one that, from body temperature, fits only by moving
///   on its own in the first seconds, are evidence of the same kind.
/// - **Frozen.** A live thermocouple's sample carries noise: a channel that does not change at
///   all for seconds with RF on is stuck.
///
/// Pure: time arrives with each observation; no clock, no descriptor.
public struct TemperaturePlausibility: Sendable {
    /// What showed a reading to be implausible.
    public enum Evidence: String, Sendable {
        case impedance
        case energy
        /// A reading that does not move at all: a live thermocouple's sample always carries noise.
        case frozen
    }

    /// An implausible reading, for the alarm.
    public struct Finding: Hashable, Sendable {
        public var evidence: Evidence
        /// By how much the evidence puts the tissue above what the reading says, °C.
        public var excessCelsius: Double
        public var detail: String
    }

    /// The tip's response to power, identified at the start of the lesion.
    public struct ThermalModel: Hashable, Sendable {
        /// Steady rise per watt of the fast response, °C/W.
        public var gainCelsiusPerWatt: Double
        public var timeConstantSeconds: Double
        /// The rate the reading moved at on its own in the identification window, °C/s.
        public var freeRateCelsiusPerSecond: Double
    }

    /// The identified model; nil until identified, and for the whole lesion if the first seconds
    /// did not give a plausible one (then `identificationProblem` says why, and the impedance and
    /// frozen evidence stand alone).
    public private(set) var model: ThermalModel?
    public private(set) var identificationProblem: String?
    /// The largest excess each evidence has shown in this lesion, °C (how close it came to
    /// tripping: the margins are 4 °C); for tests, benchmarks and the record of a lesion.
    public private(set) var peakImpedanceExcess = -Double.infinity
    public private(set) var peakEnergyExcess = -Double.infinity

    // Identification: y = a·∫P dt − b·∫y dt + c·t with y = T − T₀, least squares over the first
    // seconds. The constant rate c takes up whatever the tip was doing before RF (a warm tip
    // cooling after an interrupted lesion; a reading drifting from the start), so that a and b
    // are the response to power alone.
    private var start: Int64?
    private var startCelsius = 0.0
    private var energyJoules = 0.0
    private var riseIntegral = 0.0
    /// Σ φφᵀ and Σ φy, φ = (∫P dt, −∫y dt, t).
    private var normal = [Double](repeating: 0, count: 9)
    private var moments = [Double](repeating: 0, count: 3)
    private var identified = false
    /// Evidence found once, by the identification itself; it stands from then on.
    private var identificationFinding: Finding?
    /// Each channel's reading at the start command, before any RF.
    private let beforeRF: [Double]

    /// The model's predictions since each of the last seconds.
    private struct Anchor: Sendable {
        var microseconds: Int64
        var powerWatts: Double
        var celsius: Double
        /// The least the tip can have changed since the anchor, °C, from the rise of the power
        /// (the identified fast response: the tissue's slow response only adds to it) and from
        /// its fall (a gain `plausibilityFallGainFactor` times larger at the same speed: after a
        /// fall of power the tissue's slow response cools the tip further than the fast model
        /// knows, and a bound must not be passed by a tip that is merely cooling).
        var rise = 0.0
        var fall = 0.0
        /// How fast the reading was falling when the anchor started, °C/s (0 if it was not): a tip
        /// already cooling (power cut a moment before) may go on cooling at that rate, and cooling
        /// only slows.
        var coolingRate = 0.0
        /// The fraction of the predicted rise the model may overstate from this anchor's
        /// temperature (see `InterlockLimits.plausibilityModelErrorAtHold`).
        var modelError = 0.0
        /// The least change since the anchor at this age, °C: the rise's share less the model's
        /// own error, which grows with the size of the power change.
        func predicted(ageSeconds: Double) -> Double {
            rise * (1 - modelError) + fall + coolingRate * ageSeconds
        }
    }
    private var anchors: [Anchor] = []
    private var nextAnchor: Int64 = 0
    /// Delivered power, smoothed over about `powerSmoothingSeconds`, W.
    private var smoothedPower = 0.0

    /// The lowest load measured in the lesion, ohms.
    private var impedanceFloor: Double?
    /// The load and readings when the lesion's first measurable impedance arrived.
    private var impedanceReference: (ohms: Double, celsius: [Double])?

    /// Each channel's last reading and since when it has not changed.
    private var unchanged: [(celsius: Double, since: Int64)] = []

    private var impedanceHeld = HeldCondition(microseconds: InterlockLimits.plausibilityHoldMicroseconds)
    private var energyHeld = HeldCondition(microseconds: InterlockLimits.plausibilityHoldMicroseconds)

    /// At most this many anchors live at once: one a second over the window.
    static var maxAnchors: Int {
        Int(InterlockLimits.plausibilityWindowMicroseconds / InterlockLimits.plausibilityAnchorMicroseconds) + 1
    }
    static let powerSmoothingSeconds = 0.25

    /// - Parameter beforeRF: each channel's reading when the lesion was started, before any RF.
    public init(beforeRF: [Double] = []) {
        self.beforeRF = beforeRF
    }

    /// One tick of a lesion with RF on and fresh telemetry.
    /// - Parameters:
    ///   - now: host time, microseconds, monotonic.
    ///   - dt: seconds since the previous tick.
    ///   - celsius: every channel's reading (all with status ok); channel 0 is the tip, which the
    ///     controller follows.
    ///   - powerWatts: delivered power, from the generator's telemetry.
    ///   - impedanceOhms: the load, when the generator could measure it.
    /// - Returns: the evidence against the readings, when it has held for the hold time.
    public mutating func observe(
        now: Int64,
        seconds dt: Double,
        celsius: [Double],
        powerWatts: Double,
        impedanceOhms: Double?
    ) -> Finding? {
        guard let tip = celsius.first else { return nil }
        if start == nil {
            start = now
            startCelsius = tip
        }
        assert(dt >= 0 && dt.isFinite, "time never goes back")
        // The power the tissue takes: a load above its lowest in the lesion is counted as a
        // resistance in series (a poor contact, a damaged cable, vapour at the tip) that heats
        // nothing the model knows. Counting less than the tissue may get can only make the energy
        // evidence later, never false; counting the cable's share as heat made it trip while the
        // controller rolled power off for a rising load.
        var tissueWatts = powerWatts
        if let ohms = impedanceOhms, ohms > 0 {
            let floor = min(impedanceFloor ?? ohms, ohms)
            impedanceFloor = floor
            tissueWatts = powerWatts * floor / ohms
        }
        smoothedPower += (tissueWatts - smoothedPower) * min(1, dt / Self.powerSmoothingSeconds)
        let impedance = checkImpedance(celsius: celsius, powerWatts: powerWatts, impedanceOhms: impedanceOhms)
        let energy =
            checkBelowStart(celsius: celsius, now: now)
            ?? checkEnergy(now: now, dt: dt, tip: tip, powerWatts: tissueWatts)
        let impedanceTrips = impedanceHeld.observe(impedance != nil, at: now)
        let energyTrips = energyHeld.observe(energy != nil, at: now)
        if impedanceTrips { return impedance }
        if energyTrips { return energy }
        return checkFrozen(now: now, celsius: celsius)
    }

    // MARK: - Frozen

    /// A channel whose reading has not changed by a single 0.01 °C step for the limit, with RF on,
    /// is stuck: the sample of a live thermocouple carries noise, and with power flowing the tip
    /// is never still (PROTOCOL.md 7.7 asks for each frame's own sample, not a held value).
    private mutating func checkFrozen(now: Int64, celsius: [Double]) -> Finding? {
        if unchanged.count != celsius.count { unchanged = celsius.map { ($0, now) } }
        for (channel, value) in celsius.enumerated() {
            if value != unchanged[channel].celsius {
                unchanged[channel] = (value, now)
                continue
            }
            let seconds = Double(now - unchanged[channel].since) / 1e6
            if now - unchanged[channel].since >= InterlockLimits.frozenReadingMicroseconds {
                return Finding(
                    evidence: .frozen,
                    excessCelsius: 0,
                    detail:
                        "channel \(channel) has read exactly \(rounded(value)) °C for \(rounded(seconds)) s with RF "
                        + "on; a live thermocouple is never that still"
                )
            }
        }
        return nil
    }

    // MARK: - Impedance

    private mutating func checkImpedance(celsius: [Double], powerWatts: Double, impedanceOhms: Double?) -> Finding? {
        guard let ohms = impedanceOhms, ohms > 0 else { return nil }
        guard let reference = impedanceReference else {
            // Low-power measurements are the least accurate: take the reference once power flows.
            if powerWatts >= InterlockLimits.plausibilityImpedanceReferenceWatts {
                impedanceReference = (ohms, celsius)
            }
            return nil
        }
        // R ≥ R₀ / (1 + α ΔT_max): the tissue's warming that this fall needs at the least.
        let needed = (reference.ohms / ohms - 1) / InterlockLimits.tissueConductivityPerKelvin
        var coolest = (channel: 0, rise: Double.infinity)
        for (channel, value) in celsius.enumerated() where channel < reference.celsius.count {
            let rise = value - reference.celsius[channel]
            if rise < coolest.rise { coolest = (channel, rise) }
        }
        let excess = needed - coolest.rise
        peakImpedanceExcess = max(peakImpedanceExcess, excess)
        guard excess > InterlockLimits.plausibilityImpedanceMarginCelsius else { return nil }
        return Finding(
            evidence: .impedance,
            excessCelsius: excess,
            detail: "impedance fell from \(rounded(reference.ohms)) to \(rounded(ohms)) Ω, which needs the tissue "
                + "\(rounded(needed)) °C warmer than at the start; channel \(coolest.channel) reads "
                + "\(rounded(coolest.rise)) °C warmer"
        )
    }

    // MARK: - Energy

    /// RF only heats: a reading below its value before RF, by more than the margin, is a reading
    /// that moved on its own (a step, a drift, a short that happened before the model was armed).
    private func checkBelowStart(celsius: [Double], now: Int64) -> Finding? {
        for (channel, value) in celsius.enumerated() where channel < beforeRF.count {
            let fall = beforeRF[channel] - value
            if fall > InterlockLimits.plausibilityBelowStartCelsius {
                return Finding(
                    evidence: .energy,
                    excessCelsius: fall,
                    detail: "channel \(channel) reads \(rounded(value)) °C, \(rounded(fall)) °C below its reading "
                        + "before RF, with energy going in"
                )
            }
        }
        return nil
    }

    private mutating func checkEnergy(now: Int64, dt: Double, tip: Double, powerWatts: Double) -> Finding? {
        guard let start else { return nil }
        if !identified {
            identify(now: now, start: start, dt: dt, tip: tip, powerWatts: powerWatts)
            return identificationFinding
        }
        if let identificationFinding { return identificationFinding }
        guard let model else { return nil }
        let a = model.gainCelsiusPerWatt / model.timeConstantSeconds
        let b = 1 / model.timeConstantSeconds
        let fallFactor = InterlockLimits.plausibilityFallGainFactor
        var worst: (excess: Double, anchor: Anchor)?
        for i in anchors.indices {
            let change = powerWatts - anchors[i].powerWatts
            anchors[i].rise += (a * max(0, change) - b * anchors[i].rise) * dt
            anchors[i].fall += (a * fallFactor * min(0, change) - b * anchors[i].fall) * dt
            let age = now - anchors[i].microseconds
            guard age >= InterlockLimits.plausibilityMinimumAnchorAgeMicroseconds else { continue }
            let excess = anchors[i].predicted(ageSeconds: Double(age) / 1e6) - (tip - anchors[i].celsius)
            if excess > worst?.excess ?? -.infinity { worst = (excess, anchors[i]) }
        }
        anchors.removeAll { now - $0.microseconds >= InterlockLimits.plausibilityWindowMicroseconds }
        if now >= nextAnchor {
            // The reading's rate over the last anchors' span (2 s: the noise's share is small).
            var anchor = Anchor(microseconds: now, powerWatts: smoothedPower, celsius: tip)
            let warmed = (tip - startCelsius) / InterlockLimits.plausibilityModelErrorRiseCelsius
            anchor.modelError = InterlockLimits.plausibilityModelErrorAtHold * min(1, max(0, warmed))
            if let earlier = anchors.last(where: {
                now - $0.microseconds >= InterlockLimits.plausibilityMinimumAnchorAgeMicroseconds
            }) {
                anchor.coolingRate = min(0, (tip - earlier.celsius) / (Double(now - earlier.microseconds) / 1e6))
            }
            anchors.append(anchor)
            nextAnchor = now + InterlockLimits.plausibilityAnchorMicroseconds
        }
        assert(anchors.count <= Self.maxAnchors, "one anchor a second over the window")
        if let worst { peakEnergyExcess = max(peakEnergyExcess, worst.excess) }
        guard let worst, worst.excess > InterlockLimits.plausibilityEnergyMarginCelsius else { return nil }
        let seconds = Double(now - worst.anchor.microseconds) / 1e6
        return Finding(
            evidence: .energy,
            excessCelsius: worst.excess,
            detail: "the tip reads \(rounded(tip)) °C; the power delivered in the last \(rounded(seconds)) s "
                + "(\(rounded(worst.anchor.powerWatts)) → \(rounded(powerWatts)) W) puts it at least "
                + "\(rounded(worst.excess)) °C higher (tip model \(rounded(model.gainCelsiusPerWatt)) °C/W, "
                + "τ \(rounded(model.timeConstantSeconds)) s)"
        )
    }

    /// Accumulates the least-squares sums over the first seconds, then solves them once.
    private mutating func identify(now: Int64, start: Int64, dt: Double, tip: Double, powerWatts: Double) {
        if now > start {
            energyJoules += powerWatts * dt
            riseIntegral += (tip - startCelsius) * dt
            let y = tip - startCelsius
            // φ = (∫P dt, −∫y dt, t), without an array a tick.
            let (p0, p1, p2) = (energyJoules, -riseIntegral, Double(now - start) / 1e6)
            normal[0] += p0 * p0
            normal[1] += p0 * p1
            normal[2] += p0 * p2
            normal[4] += p1 * p1
            normal[5] += p1 * p2
            normal[8] += p2 * p2
            (normal[3], normal[6], normal[7]) = (normal[1], normal[2], normal[5])
            moments[0] += p0 * y
            moments[1] += p1 * y
            moments[2] += p2 * y
        }
        guard now - start >= InterlockLimits.plausibilityIdentificationMicroseconds else { return }
        identified = true
        guard energyJoules >= InterlockLimits.plausibilityIdentificationJoules, let theta = solve3(normal, moments)
        else {
            identificationProblem =
                "\(rounded(energyJoules)) J in the first seconds did not identify the tip's response"
            return
        }
        let (a, b) = (theta[0], theta[1])
        let gain = a / b
        let tau = 1 / b
        guard a > 0, b > 0, InterlockLimits.plausibilityModelGain.contains(gain),
            InterlockLimits.plausibilityModelTimeConstant.contains(tau)
        else {
            identificationProblem =
                "the tip's response in the first seconds (a = \(rounded(a)) °C/J, b = \(rounded(b)) 1/s, "
                + "c = \(rounded(theta[2])) °C/s) is not that of tissue around a probe"
            return
        }
        model = ThermalModel(gainCelsiusPerWatt: gain, timeConstantSeconds: tau, freeRateCelsiusPerSecond: theta[2])
        nextAnchor = now
        // From body temperature nothing but the power moves the tip: a reading that had to be
        // falling on its own to fit is drifting (a failing cold-junction compensation). A warm tip
        // (a lesion started again) does cool on its own, and is not judged by this.
        if startCelsius < InterlockLimits.plausibilityBodyStartCelsius
            && theta[2] < -InterlockLimits.plausibilityFreeRateCelsiusPerSecond
        {
            identificationFinding = Finding(
                evidence: .energy,
                excessCelsius: -theta[2] * Double(now - start) / 1e6,
                detail: "from body temperature the tip's reading moved by itself at \(rounded(theta[2])) °C/s "
                    + "in the first seconds of RF: it is drifting"
            )
        }
    }
}

/// Solves the 3×3 system m·x = v (row-major m) by elimination with partial pivoting; nil when it
/// is singular or not finite.
private func solve3(_ m: [Double], _ v: [Double]) -> [Double]? {
    var a = [[m[0], m[1], m[2], v[0]], [m[3], m[4], m[5], v[1]], [m[6], m[7], m[8], v[2]]]
    let scale = max(abs(m[0]), abs(m[4]), abs(m[8]))
    guard scale > 0, scale.isFinite else { return nil }
    for column in 0..<3 {
        let pivot = (column..<3).max { abs(a[$0][column]) < abs(a[$1][column]) }!
        guard abs(a[pivot][column]) > scale * 1e-12 else { return nil }
        a.swapAt(column, pivot)
        for row in 0..<3 where row != column {
            let factor = a[row][column] / a[column][column]
            for k in column..<4 { a[row][k] -= factor * a[column][k] }
        }
    }
    let x = (0..<3).map { a[$0][3] / a[$0][$0] }
    return x.allSatisfy(\.isFinite) ? x : nil
}

/// Two decimals, for messages.
private func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }

// The closed-loop lesion shared by the controller's tests and its benchmark: the core's
// controller against the simulated generator, in virtual time, through the real codec.

import RFGenCore
import RFGenProtocol
import RFGenSimulator

/// What a closed-loop lesion achieved, on the controller's own tip reading.
public struct LesionQuality: Sendable, CustomStringConvertible {
    /// Highest reading above the set point after first reaching it, kelvin.
    public var overshoot = 0.0
    /// Seconds from first reaching the set point until the reading stays within ±1 °C for good.
    public var settlingSeconds = 0.0
    /// RMS of reading minus set point during the hold, kelvin.
    public var holdRMS = 0.0
    /// Seconds from RF on to first reaching the set point.
    public var rampSeconds = 0.0
    /// Mean power during the hold's last minute, watts.
    public var holdPower = 0.0
    public var lesionMillimetres = 0.0
    public var faults = FaultBits()

    public var description: String {
        "overshoot \(overshoot) K, settled \(settlingSeconds) s, hold RMS \(holdRMS) K, ramp \(rampSeconds) s, "
            + "power \(holdPower) W, lesion \(lesionMillimetres) mm, faults \(faults)"
    }
}

/// Runs one lesion in virtual time: the controller at 100 Hz on the simulator's telemetry through
/// the real codec, the set point ramping from the first reading to `target`, then `holdSeconds`.
public func runLesion(
    tissue: TissueParameters,
    seed: UInt64 = 1,
    target: Double = 85,
    rampCelsiusPerSecond: Double = 1,
    holdSeconds: Double = 900,
    parameters: ControllerParameters = .standard
) -> LesionQuality {
    var config = GeneratorConfiguration()
    config.tissue = tissue
    config.seed = seed
    var generator = SimulatedGenerator(configuration: config)
    var decoder = FrameDecoder(accepting: .generatorToHost)
    var controller = TemperatureController(parameters: parameters)
    var sequence: UInt16 = 0
    func send(_ message: Message) {
        sequence &+= 1
        generator.receive(FrameEncoder.encode(Frame(sequence: sequence, message: message)), at: generator.now)
    }
    var latest: Telemetry?
    func collect() {
        for case .frame(let frame) in decoder.feed(generator.takeOutput()) {
            if case .telemetry(let t) = frame.message { latest = t }
        }
    }
    generator.advance(to: 400_000)
    collect()
    send(.configure(Configure(telemetryRateHz: 100, watchdogMilliseconds: 100)))
    send(.clearFault)

    let dt = 0.01
    var quality = LesionQuality()
    var setPoint = Double(latest?.temperatures[0].centiCelsius ?? 3700) / 100
    var reachedAt: Double?
    var lastOutside = 0.0
    var squares = 0.0
    var samples = 0
    var energyLastMinute = 0.0
    var t = 0.0
    var rfOn = false
    while reachedAt.map({ t < $0 + holdSeconds }) ?? (t < 600) {
        guard let telemetry = latest else { break }
        let reading = Double(telemetry.temperatures[0].centiCelsius) / 100
        let ohms = telemetry.impedanceValid ? Double(telemetry.impedanceDeciohms) / 10 : nil
        setPoint = min(target, setPoint + rampCelsiusPerSecond * dt)
        if reachedAt == nil, reading >= target {
            reachedAt = t
            quality.rampSeconds = t
        }
        if let reachedAt {
            quality.overshoot = max(quality.overshoot, reading - target)
            if abs(reading - target) > 1 { lastOutside = t }
            quality.settlingSeconds = max(0, lastOutside - reachedAt)
            squares += (reading - target) * (reading - target)
            samples += 1
            if t >= reachedAt + holdSeconds - 60 { energyLastMinute += controller.outputWatts * dt }
        }
        let watts = controller.step(
            seconds: dt,
            setPointCelsius: setPoint,
            measuredCelsius: reading,
            impedanceOhms: ohms
        )
        send(.setPower(SetPower(powerMilliwatts: UInt32((watts * 1000).rounded()), validityMilliseconds: 50)))
        if !rfOn {
            send(.rfOn)
            rfOn = true
        }
        generator.advance(to: generator.now + 10_000)
        collect()
        t += dt
    }
    send(.rfOff)
    quality.holdRMS = samples > 0 ? (squares / Double(samples)).squareRoot() : .infinity
    quality.holdPower = energyLastMinute / 60
    quality.lesionMillimetres = generator.tissue.lesionDiameter * 1000
    quality.faults = generator.faults
    if reachedAt == nil { quality.overshoot = .infinity }
    return quality
}

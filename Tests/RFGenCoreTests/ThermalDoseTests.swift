import RFGenCore
import RFGenSimulator
import Testing

/// The thermal dose and the completeness judgement (issue 16 item 2), on the core in virtual time.
struct ThermalDoseTests {
    @Test("CEM43 (Sapareto-Dewey): a minute at 43 °C is 1; each degree above doubles it, each below quarters it")
    func cem43() {
        #expect(CEM43.minutes(celsius: 43, seconds: 60) == 1)
        #expect(CEM43.minutes(celsius: 44, seconds: 60) == 2)
        #expect(CEM43.minutes(celsius: 42, seconds: 60) == 0.25)
        #expect(CEM43.minutes(celsius: 85, seconds: 900) == 15 * 4_398_046_511_104)
        var dose = ThermalDose()
        for _ in 0..<6000 { dose.add(celsius: 45, seconds: 0.01) }
        #expect(abs(dose.tipMinutes - 4) < 1e-9, "a minute at 45 °C, tick by tick: \(dose.tipMinutes)")
        #expect(dose.diameterMillimetres == 0, "45 °C for a minute kills nothing: \(dose.diameterMillimetres)")
    }

    @Test("bvn asks for its hold's dose at the band's lower edge; a profile cannot ask more than its hold delivers")
    func profileDose() {
        #expect(TreatmentProfile.bvn.minimumDoseCEM43Minutes == CEM43.minutes(celsius: 83, seconds: 900))
        #expect(TreatmentProfile.bvn.problems().isEmpty)
        let short = TreatmentProfile.bvn.withHold(seconds: 30)
        #expect(short.minimumDoseCEM43Minutes == CEM43.minutes(celsius: 83, seconds: 30) && short.problems().isEmpty)
        var greedy = TreatmentProfile.bvn
        greedy.minimumDoseCEM43Minutes = CEM43.minutes(celsius: 88, seconds: 900)
        #expect(greedy.problems().contains { $0.contains("more than the hold can deliver") }, "\(greedy.problems())")
        greedy.minimumDoseCEM43Minutes = -1
        #expect(greedy.problems().contains { $0.contains("must be 0 or more") })
        greedy.minimumDoseCEM43Minutes = .nan
        #expect(greedy.problems().contains { $0.contains("must be 0 or more") })
    }

    @Test("Completeness: both time at temperature and dose, each shortfall named")
    func shortfall() {
        let profile = TreatmentProfile.bvn
        let full = profile.minimumDoseCEM43Minutes
        #expect(LesionCompleteness.shortfall(profile: profile, holdSeconds: 900, doseMinutes: full) == nil)
        #expect(
            LesionCompleteness.shortfall(profile: profile, holdSeconds: 612.34, doseMinutes: full)
                == "time at temperature 612.3 s of the 900 s asked"
        )
        #expect(
            LesionCompleteness.shortfall(profile: profile, holdSeconds: 900, doseMinutes: full / 4)
                == "CEM43 dose 25 % of the dose asked"
        )
        #expect(
            LesionCompleteness.shortfall(profile: profile, holdSeconds: 10, doseMinutes: full * 0.999)
                == "time at temperature 10 s of the 900 s asked; CEM43 dose 99 % of the dose asked"
        )
    }

    @Test("A lesion held its time is complete, its dose and estimated diameter in the record's end and the status")
    func completeLesion() throws {
        var h = CoreHarness()
        h.tick([.start(TreatmentProfile.bvn.withHold(seconds: 60))])
        h.run(seconds: 200) { !$0.core.phase.isActive }
        #expect(h.core.phase == .done)
        let end = try #require(h.records.compactMap { if case .ended(let end) = $0 { end } else { nil } }.last)
        #expect(end.shortfall == nil, "complete: \(end)")
        // At least 60 s in the 83-87 °C band: at least the profile's dose, at most 1.3 × 4 × that.
        let asked = TreatmentProfile.bvn.withHold(seconds: 60).minimumDoseCEM43Minutes
        #expect(end.summary.doseCEM43Minutes >= asked && end.summary.doseCEM43Minutes < 6 * asked, "\(end.summary)")
        // A minute at 85 °C makes about 8-9 mm in normal bone (docs/DOSE.md).
        #expect((7...10).contains(end.summary.diameterMillimetres), "\(end.summary.diameterMillimetres) mm")
        #expect(h.rig.machine.status.doseCEM43Minutes == end.summary.doseCEM43Minutes)
        #expect(h.rig.machine.status.diameterMillimetres == end.summary.diameterMillimetres)
        // Samples carry the dose as it grew, never falling.
        let doses = h.records.compactMap { if case .sample(let s, _) = $0 { s.doseCEM43Minutes } else { nil } }
        #expect(doses.count > 6000 && zip(doses, doses.dropFirst()).allSatisfy { $0 <= $1 })
        // The tick that completes the hold adds its reading to the end's totals, after the last sample.
        #expect(
            doses.last.map { $0 <= end.summary.doseCEM43Minutes && $0 > 0.99 * end.summary.doseCEM43Minutes } == true
        )
    }

    @Test("A lesion stopped early is incomplete and says what it lacks; the next start begins a new dose")
    func stoppedLesion() throws {
        var h = CoreHarness()
        h.tick([.start(TreatmentProfile.bvn.withHold(seconds: 60))])
        h.run(seconds: 200) { $0.core.holdSeconds >= 20 }
        h.tick([.stop])
        #expect(h.core.phase == .stopped)
        let end = try #require(h.records.compactMap { if case .ended(let end) = $0 { end } else { nil } }.last)
        let shortfall = try #require(end.shortfall)
        #expect(
            shortfall.hasPrefix("time at temperature 20") && shortfall.contains("of the 60 s asked"),
            "\(shortfall)"
        )
        #expect(shortfall.contains("CEM43 dose"), "20 s of 60 s in the band is not the dose either: \(shortfall)")
        #expect(end.summary.doseCEM43Minutes > 0 && end.summary.diameterMillimetres > 0)
        #expect(h.core.shortfall == end.shortfall)

        h.run(seconds: 5)
        h.tick([.start(TreatmentProfile.bvn.withHold(seconds: 60))])
        #expect(h.core.phase == .impedanceCheck && h.core.dose.tipMinutes == 0, "a new lesion, a new dose")
    }
}

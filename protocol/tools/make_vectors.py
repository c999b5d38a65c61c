#!/usr/bin/env python3
"""Writes protocol/vectors/*.txt from an implementation of PROTOCOL.md written independently of the
Swift codec, so that the vectors check the Swift code against the specification rather than
against itself.

    python3 protocol/tools/make_vectors.py          # rewrite the vector files
    python3 protocol/tools/make_vectors.py --check  # exit 1 if the files differ from what it makes

Only the standard library is used.
"""
import struct
import sys
from pathlib import Path

VERSION = 0x10  # 1.0

# ---------------------------------------------------------------- wire primitives (PROTOCOL.md §2-3)


def crc16_ccitt_false(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


assert crc16_ccitt_false(b"123456789") == 0x29B1


def cobs_encode(data: bytes) -> bytes:
    out = bytearray()
    block = bytearray()
    for b in data:
        if b == 0:
            out.append(len(block) + 1)
            out += block
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(0xFF)
                out += block
                block = bytearray()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def body(type_: int, seq: int, payload: bytes, version: int = VERSION) -> bytes:
    head = struct.pack("<BBH", version, type_, seq) + payload
    return head + struct.pack("<H", crc16_ccitt_false(head))


def wire(raw_body: bytes) -> bytes:
    return b"\x00" + cobs_encode(raw_body) + b"\x00"


def frame(type_: int, seq: int, payload: bytes = b"", version: int = VERSION) -> bytes:
    return wire(body(type_, seq, payload, version))


def hexs(data: bytes) -> str:
    return " ".join(f"{b:02X}" for b in data)


# ---------------------------------------------------------------- messages (PROTOCOL.md §6) and their canonical text (§9)

NAMES = {
    0x01: "HELLO_REQUEST", 0x02: "KEEPALIVE", 0x03: "CONFIGURE", 0x04: "SET_POWER", 0x05: "RF_ON",
    0x06: "RF_OFF", 0x07: "IMPEDANCE_CHECK", 0x08: "CLEAR_FAULT", 0x09: "GET_STATUS",
    0x80: "ACK", 0x81: "NAK", 0x82: "HELLO", 0x83: "STATUS", 0x84: "TELEMETRY", 0x85: "EVENT",
    0x86: "IMPEDANCE_RESULT",
}
RF_STATE = {0: "off", 1: "on", 2: "impedance_check"}
TEMP_STATUS = {0: "ok", 1: "open", 2: "shorted", 3: "out_of_range"}
NAK_REASON = {1: "malformed", 2: "out_of_range", 3: "fault_active", 4: "no_setpoint", 5: "rf_active",
              6: "busy", 7: "condition_persists", 8: "unknown_type", 9: "unsupported_version"}
EVENT_CODE = {1: "boot", 2: "fault", 3: "faults_cleared"}
RESULT = {0: "ok", 1: "aborted", 2: "out_of_range"}


def text(type_: int, seq: int, fields: list) -> str:
    parts = [NAMES[type_], f"v={VERSION >> 4}.{VERSION & 15}", f"seq={seq}"]
    parts += [f"{k}={v}" for k, v in fields]
    return " ".join(parts)


def faults(v: int) -> str:
    return f"0x{v:08X}"


class Vector:
    def __init__(self, name, direction, data, means, note=""):
        self.name, self.direction, self.data, self.means, self.note = name, direction, data, means, note


def valid_vectors() -> list:
    v = []

    def add(name, type_, seq, payload, fields, note=""):
        direction = "host" if type_ < 0x80 else "generator"
        v.append(Vector(name, direction, frame(type_, seq, payload), [text(type_, seq, fields)], note))

    add("keepalive", 0x02, 1, b"", [], "the worked example of PROTOCOL.md section 11")
    add("hello_request", 0x01, 0, b"", [])
    add("configure", 0x03, 2, struct.pack("<HH", 100, 100), [("telemetry_rate_Hz", 100), ("watchdog_ms", 100)])
    add("set_power", 0x04, 3, struct.pack("<IH", 4500, 50), [("power_mW", 4500), ("validity_ms", 50)])
    add("set_power_zero", 0x04, 0xFFFF, struct.pack("<IH", 0, 1000), [("power_mW", 0), ("validity_ms", 1000)],
        "sequence 65535, the last before wrapping")
    add("rf_on", 0x05, 4, b"", [])
    add("rf_off", 0x06, 5, b"", [])
    add("impedance_check", 0x07, 6, struct.pack("<H", 200), [("duration_ms", 200)])
    add("clear_fault", 0x08, 7, b"", [])
    add("get_status", 0x09, 8, b"", [])
    add("ack", 0x80, 10, struct.pack("<HB", 4, 0x05), [("ack_seq", 4), ("ack_type", "0x05")])
    add("nak_fault_active", 0x81, 11, struct.pack("<HBB", 4, 0x05, 3),
        [("ack_seq", 4), ("ack_type", "0x05"), ("reason", NAK_REASON[3])])
    add("nak_unknown_type", 0x81, 12, struct.pack("<HBB", 9, 0x42, 8),
        [("ack_seq", 9), ("ack_type", "0x42"), ("reason", NAK_REASON[8])])
    add("nak_unsupported_version", 0x81, 13, struct.pack("<HBB", 0, 0x01, 9),
        [("ack_seq", 0), ("ack_type", "0x01"), ("reason", NAK_REASON[9])],
        "a 1.0 generator's answer to a 2.0 HELLO_REQUEST (vector hello_request_v2): its own version in the header")
    add("ack_retry_first", 0x80, 14, struct.pack("<HB", 21, 0x04), [("ack_seq", 21), ("ack_type", "0x04")],
        "the reply to SET_POWER seq=21")
    add("ack_retry_again", 0x80, 15, struct.pack("<HB", 21, 0x04), [("ack_seq", 21), ("ack_type", "0x04")],
        "the same reply to the retried SET_POWER seq=21: the same message in a new frame, with the "
        "generator's next sequence number (PROTOCOL.md 4)")

    model, serial = "RFG-SIM-1", "SIM-0001"
    hello = struct.pack("<HBBB", 0, 0, 1, 0)
    hello += bytes([len(model)]) + model.encode() + bytes([len(serial)]) + serial.encode()
    hello += struct.pack("<IIHBHHIIh", 20000, 120000, 1000, 2, 1, 1000, 200, 30000, 10500)
    add("hello", 0x82, 0, hello, [
        ("ack_seq", 0), ("fw", "0.1.0"), ("model", f'"{model}"'), ("serial", f'"{serial}"'),
        ("max_power_mW", 20000), ("max_voltage_mV", 120000), ("max_current_mA", 1000), ("temp_channels", 2),
        ("tlm_rate_min_Hz", 1), ("tlm_rate_max_Hz", 1000), ("impedance_min_dOhm", 200),
        ("impedance_max_dOhm", 30000), ("temp_limit_cC", 10500)])
    model2 = "Générateur"  # multi-byte UTF-8
    hello2 = struct.pack("<HBBB", 1, 2, 3, 4)
    hello2 += bytes([len(model2.encode())]) + model2.encode() + bytes([0])
    hello2 += struct.pack("<IIHBHHIIh", 50000, 150000, 2000, 4, 10, 500, 100, 50000, -1)
    add("hello_utf8_empty_serial", 0x82, 1, hello2, [
        ("ack_seq", 1), ("fw", "2.3.4"), ("model", f'"{model2}"'), ("serial", '""'),
        ("max_power_mW", 50000), ("max_voltage_mV", 150000), ("max_current_mA", 2000), ("temp_channels", 4),
        ("tlm_rate_min_Hz", 10), ("tlm_rate_max_Hz", 500), ("impedance_min_dOhm", 100),
        ("impedance_max_dOhm", 50000), ("temp_limit_cC", -1)])

    status = struct.pack("<HBIIHHHI", 8, 1, 0, 4500, 37, 100, 100, 123456)
    add("status", 0x83, 5, status, [
        ("ack_seq", 8), ("rf_state", "on"), ("faults", faults(0)), ("setpoint_mW", 4500),
        ("setpoint_remaining_ms", 37), ("watchdog_ms", 100), ("tlm_rate_Hz", 100), ("uptime_ms", 123456)])

    def telemetry(name, seq, t_us, rf, flt, sp, p, mv, ma, z, zvalid, temps, note=""):
        payload = struct.pack("<QBIIIIHIBB", t_us, rf, flt, sp, p, mv, ma, z, 1 if zvalid else 0, len(temps))
        fields = [("t_us", t_us), ("rf_state", RF_STATE[rf]), ("faults", faults(flt)), ("setpoint_mW", sp),
                  ("power_mW", p), ("voltage_mV", mv), ("current_mA", ma), ("impedance_dOhm", z),
                  ("impedance_valid", 1 if zvalid else 0)]
        for i, (c, st) in enumerate(temps):
            payload += struct.pack("<hB", c, st)
            fields += [(f"temp{i}_cC", c), (f"temp{i}_status", TEMP_STATUS[st])]
        add(name, 0x84, seq, payload, fields, note)

    telemetry("telemetry_idle_after_boot", 0, 300000, 0, 0x1, 0, 0, 0, 0, 0, False, [(3700, 0), (3702, 0)],
              "first telemetry after boot: reset fault latched, RF off, impedance not measurable")
    telemetry("telemetry_hold", 4242, 45_000_000, 1, 0, 3300, 3290, 46600, 71, 6600, True, [(8501, 0), (8497, 0)],
              "holding 85 degC at 3.3 W into 660 ohm")
    telemetry("telemetry_open_channel", 7, 1_000_000, 0, 0x20, 0, 0, 0, 0, 0, False, [(0, 1)],
              "one channel, thermocouple open, temp_sensor fault")
    telemetry("telemetry_four_channels_negative", 65535, 2**40, 2, 0, 0, 100, 9600, 10, 9200, True,
              [(-125, 0), (2500, 2), (0, 3), (3650, 0)], "impedance check, four channels, a negative reading")

    def event(name, seq, t_us, code, flt, detail, note=""):
        payload = struct.pack("<QBII", t_us, code, flt, detail)
        add(name, 0x85, seq, payload, [("t_us", t_us), ("code", EVENT_CODE[code]), ("faults", faults(flt)),
                                       ("detail", detail)], note)

    event("event_boot", 0, 300000, 1, 0x1, 0)
    event("event_fault_watchdog", 3, 12_345_678, 2, 0x2, 0x2, "RF switched off by the generator's watchdog")
    event("event_unknown_fault_bit", 4, 1, 2, 0x8000_0000, 0x8000_0000,
          "a reserved fault bit passes through; the host must treat it as a fault")
    event("event_faults_cleared", 5, 400000, 3, 0, 0x1)
    add("impedance_result", 0x86, 6, struct.pack("<HBI", 6, 0, 6172),
        [("ack_seq", 6), ("result", "ok"), ("impedance_dOhm", 6172)])
    add("impedance_result_aborted", 0x86, 7, struct.pack("<HBI", 6, 1, 0),
        [("ack_seq", 6), ("result", "aborted"), ("impedance_dOhm", 0)])
    return v


def malformed_vectors() -> list:
    v = []
    keep = frame(0x02, 1)
    ack_ok = frame(0x80, 2, struct.pack("<HB", 1, 0x02))
    ack_text = "ACK v=1.0 seq=2 ack_seq=1 ack_type=0x02"

    def add(name, direction, data, means, note=""):
        v.append(Vector(name, direction, data, means, note))

    # CRC: flip one bit of the payload (not a zero byte, so COBS structure is unchanged).
    raw = bytearray(body(0x80, 2, struct.pack("<HB", 1, 0x02)))
    raw[4] ^= 0x01
    crc_good = crc16_ccitt_false(bytes(raw[:-2]))
    received = raw[-2] | raw[-1] << 8
    add("crc_error_then_frame", "generator", wire(bytes(raw)) + ack_ok,
        [f"error crc_error computed=0x{crc_good:04X} received=0x{received:04X}", ack_text],
        "bit 0 of ack_seq flipped in transit; the next frame is unaffected")

    add("garbage_then_frame", "generator", bytes([0x13, 0x37, 0xFF, 0x00, 0x42]) + ack_ok,
        ["error framing_error encoded_bytes=3", "error framing_error encoded_bytes=1", ack_text],
        "line noise: two garbage segments, each a framing error, then an intact frame")

    trunc = ack_ok[:-4]
    add("truncated_then_frame", "generator", trunc + ack_ok,
        ["error framing_error encoded_bytes=7", ack_text],
        "a frame cut short (sender reset): its last COBS code points past its end; the next frame is intact")

    add("empty_frames_ignored", "generator", b"\x00\x00\x00" + ack_ok + b"\x00\x00",
        [ack_text], "runs of delimiters are empty frames: no error")

    add("oversize_then_frame", "generator", bytes([0x55]) * 300 + ack_ok,
        ["error oversize", ack_text], "300 bytes without a delimiter: one oversize error at byte 248")

    add("too_short", "generator", wire(bytes([0x10, 0x80, 0x01])),
        ["error framing_error encoded_bytes=4"], "3 bytes decoded: fewer than header and CRC")

    add("bad_cobs", "generator", bytes([0x00, 0x09, 0x10, 0x80, 0x00]),
        ["error framing_error encoded_bytes=3"], "a COBS code byte that points past the end")

    add("unsupported_version", "generator", frame(0x80, 3, struct.pack("<HB", 1, 2), version=0x21),
        ["error unsupported_version version=2.1 type=0x80 seq=3"], "a 2.1 generator: refused, with its version")

    add("hello_request_v2", "host", frame(0x01, 0, b"", version=0x20),
        ["error unsupported_version version=2.0 type=0x01 seq=0"],
        "a 2.0 host's HELLO_REQUEST at a 1.x generator: answered NAK unsupported_version (vector nak_unsupported_version)")

    add("unknown_type", "generator", frame(0x8F, 4), ["error unknown_type type=0x8F seq=4"])
    add("wrong_direction", "generator", keep, ["error unknown_type type=0x02 seq=1"],
        "a host command looped back to the host")

    add("nak_bad_reason", "generator", frame(0x81, 5, struct.pack("<HBB", 1, 2, 99)),
        ["error bad_field type=NAK seq=5"], "NAK reason 99 is undefined")
    add("ack_too_short", "generator", frame(0x80, 6, struct.pack("<H", 1)),
        ["error bad_field type=ACK seq=6"])
    add("ack_trailing_byte", "generator", frame(0x80, 7, struct.pack("<HBB", 1, 2, 0)),
        ["error bad_field type=ACK seq=7"], "a 1.0 sender may not append fields")
    tel = struct.pack("<QBIIIIHIBB", 1, 0, 0, 0, 0, 0, 0, 0, 0, 5) + struct.pack("<hB", 3700, 0) * 5
    add("telemetry_five_channels", "generator", frame(0x84, 8, tel), ["error bad_field type=TELEMETRY seq=8"])
    tel = struct.pack("<QBIIIIHIBB", 1, 0, 0, 0, 0, 0, 0, 0, 0x02, 1) + struct.pack("<hB", 3700, 0)
    add("telemetry_undefined_flag", "generator", frame(0x84, 9, tel), ["error bad_field type=TELEMETRY seq=9"])
    tel = struct.pack("<QBIIIIHIBB", 1, 3, 0, 0, 0, 0, 0, 0, 0, 1) + struct.pack("<hB", 3700, 0)
    add("telemetry_bad_rf_state", "generator", frame(0x84, 10, tel), ["error bad_field type=TELEMETRY seq=10"])
    bad_utf8 = struct.pack("<HBBB", 0, 0, 1, 0) + bytes([2, 0xC3, 0x28, 0])
    bad_utf8 += struct.pack("<IIHBHHIIh", 20000, 120000, 1000, 2, 1, 1000, 200, 30000, 10500)
    add("hello_invalid_utf8", "generator", frame(0x82, 11, bad_utf8), ["error bad_field type=HELLO seq=11"])

    add("set_power_too_short", "host", frame(0x04, 12, struct.pack("<I", 1000)),
        ["error bad_field type=SET_POWER seq=12"])
    add("rf_off_with_payload", "host", frame(0x06, 13, b"\x01"),
        ["error bad_field type=RF_OFF seq=13"],
        "malformed RF_OFF: a generator must still switch RF off (PROTOCOL.md 7.4)")
    return v


def render(vectors: list, title: str) -> str:
    lines = [f"# {title}", "# Written by protocol/tools/make_vectors.py from PROTOCOL.md; see README.md here for the format.", ""]
    for vec in vectors:
        lines.append(f"name: {vec.name}")
        if vec.note:
            lines.append(f"note: {vec.note}")
        lines.append(f"decoder: {vec.direction}")
        lines.append(f"hex: {hexs(vec.data)}")
        for m in vec.means:
            lines.append(f"means: {m}")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    here = Path(__file__).resolve().parent.parent / "vectors"
    files = {
        here / "valid.txt": render(valid_vectors(), "Valid frames: each decodes to its meaning and re-encodes to the same bytes."),
        here / "malformed.txt": render(malformed_vectors(), "Malformed input: each yields exactly the listed errors and frames, in order."),
    }
    check = "--check" in sys.argv[1:]
    stale = []
    for path, content in files.items():
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                stale.append(path.name)
        else:
            path.write_text(content, encoding="utf-8")
    if stale:
        print("vectors out of date: " + ", ".join(stale) + " (run python3 protocol/tools/make_vectors.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""GB 26875.3-2011 frames → canonical events (pure, no Django). device_payloads §6.

Frame: ``@@`` serial(2) version(2) time(6) source(6) destination(6) length(2) command(1) ADU
checksum(1) ``##``, little-endian. Status bits 1–6 of systems (type 1) and components (type 2)
become events; bit 0 is ignored (its polarity differs between implementations). Time labels are
device-local: read as Asia/Shanghai (UTC+8, no DST) and stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from linli.devices.canonical import Message, Rejected, seq_from_key

CST = timezone(timedelta(hours=8))
STATUS_BITS = {1: "fire_alarm", 2: "fault", 3: "disabled", 4: "supervisory", 5: "started", 6: "feedback"}
COMMAND_SEND = 2
COMMAND_CONFIRM = 3


def _time(b: bytes) -> datetime:
    second, minute, hour, day, month, year = b
    try:
        return datetime(2000 + year, month, day, hour, minute, second, tzinfo=CST).astimezone(UTC)
    except ValueError:
        raise Rejected("bad_ts", b.hex()) from None


def parse_frame(frame: bytes) -> dict:
    if len(frame) < 30 or frame[:2] != b"@@" or frame[-2:] != b"##":
        raise Rejected("bad_frame", "start/end")
    length = int.from_bytes(frame[24:26], "little")
    if len(frame) != 30 + length:
        raise Rejected("bad_frame", "length")
    if sum(frame[2 : 27 + length]) % 256 != frame[27 + length]:
        raise Rejected("bad_frame", "checksum")
    return {
        "serial": int.from_bytes(frame[2:4], "little"),
        "version": (frame[4], frame[5]),
        "time": frame[6:12],
        "source": frame[12:18][::-1].hex(),
        "destination": frame[18:24][::-1].hex(),
        "command": frame[26],
        "adu": frame[27 : 27 + length],
    }


def _events(
    source: str, serial: int, label: bytes, index: int, status: int, ts: datetime, data: dict
) -> list[Message]:
    out = []
    for bit, event in STATUS_BITS.items():
        if status & (1 << bit):
            seq = seq_from_key("gb26875", source, serial, label.hex(), index, bit)
            out.append(Message(source, "event", seq, ts, {}, event, {**data, "status": status}))
    return out


def decode_frame(frame: bytes) -> list[Message]:
    f = parse_frame(frame)
    if f["command"] != COMMAND_SEND or not f["adu"]:
        return []  # confirms, denies, requests: protocol traffic, no state
    adu = f["adu"]
    type_flag, count = adu[0], adu[1]
    pos = 2
    out: list[Message] = []
    for index in range(count):
        if type_flag == 1:  # system status: sys type, sys addr, status(2), time(6)
            obj = adu[pos : pos + 10]
            if len(obj) < 10:
                raise Rejected("bad_frame", "object")
            pos += 10
            status = int.from_bytes(obj[2:4], "little")
            data = {"system_type": obj[0], "system_address": obj[1]}
            out += _events(f["source"], f["serial"], obj[4:10], index, status, _time(obj[4:10]), data)
        elif (
            type_flag == 2
        ):  # component status: + comp type, comp addr(4), status(2), description(31), time(6)
            obj = adu[pos : pos + 46]
            if len(obj) < 46:
                raise Rejected("bad_frame", "object")
            pos += 46
            status = int.from_bytes(obj[7:9], "little")
            description = obj[9:40].split(b"\x00", 1)[0].decode("gbk", "replace").strip()
            data = {
                "system_type": obj[0],
                "system_address": obj[1],
                "component_type": obj[2],
                "component_address": int.from_bytes(obj[3:7], "little"),
                "description": description,
            }
            out += _events(f["source"], f["serial"], obj[40:46], index, status, _time(obj[40:46]), data)
        else:
            return out  # analog values, operations, configuration: not mapped yet
    return out


def confirm_frame(frame: bytes, *, now: datetime | None = None) -> bytes:
    """The centre's ``3 confirm`` answer to a ``2 send data`` frame (echoes the serial)."""
    f = parse_frame(frame)
    t = (now or datetime.now(UTC)).astimezone(CST)
    body = (
        frame[2:4]
        + bytes(f["version"])
        + bytes([t.second, t.minute, t.hour, t.day, t.month, t.year - 2000])
        + frame[18:24]
        + frame[12:18]
        + b"\x00\x00"
        + bytes([COMMAND_CONFIRM])
    )
    return b"@@" + body + bytes([sum(body) % 256]) + b"##"


def decode(payload: bytes | str | dict) -> list[Message]:
    """A raw frame, its hex text, or a fixture envelope ``{"frame_hex": ...}``."""
    if isinstance(payload, dict):
        payload = payload.get("frame_hex", "")
    if isinstance(payload, str):
        try:
            payload = bytes.fromhex(payload)
        except ValueError:
            raise Rejected("bad_frame", "hex") from None
    return decode_frame(payload)

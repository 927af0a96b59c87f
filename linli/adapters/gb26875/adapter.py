"""GB 26875 frames → devices registered with adapter "gb26875" (vendor id = UITD source address).

The TCP listener that receives frames is deployment-specific (private APN/VPN, known UITD addresses,
§6 security notes); it calls ``handle(frame)`` and writes back the returned confirm frame.
"""

from __future__ import annotations

from linli.adapters.base import resolve_and_ingest
from linli.adapters.gb26875 import codec


def handle(frame: bytes) -> tuple[object, bytes | None]:
    messages = codec.decode(frame)
    result = resolve_and_ingest("gb26875", messages, sample=frame.hex().encode())
    answer = codec.confirm_frame(frame) if codec.parse_frame(frame)["command"] == codec.COMMAND_SEND else None
    return result, answer

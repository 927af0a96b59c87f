"""CTWing push: parse the body, decode, map ``deviceId`` to devices registered with adapter "ctwing"."""

from __future__ import annotations

import orjson

from linli.adapters.base import resolve_and_ingest
from linli.adapters.ctwing import codec
from linli.devices.canonical import Rejected


def handle(raw: bytes):
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Rejected("bad_json") from None
    return resolve_and_ingest("ctwing", codec.decode(body), sample=raw)

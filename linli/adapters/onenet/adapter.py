"""OneNET push: check the signature with the configured token, decode, map to "onenet" devices."""

from __future__ import annotations

from linli.adapters.base import json_body, resolve_and_ingest
from linli.adapters.onenet import codec
from linli.devices.canonical import Rejected


def handle(raw: bytes, *, token: str):
    body = json_body(raw)
    if not isinstance(body, dict) or not codec.verify_push(raw, body, token):
        raise Rejected("bad_signature")
    return resolve_and_ingest("onenet", codec.decode(body), sample=raw)


def url_verification(*, token: str, msg: str, nonce: str, signature: str) -> str | None:
    """OneNET's GET check when the push URL is saved: the bare ``msg`` when the signature holds."""
    return msg if codec.check_signature(token, nonce, msg, signature) else None

"""Signed access codes (一码通 and visitor QR): format, signing and offline verification (pure: no
Django, so a gate controller can run the same verification with only the public keys).

A code is the text ``LL1.<kid>.<base64url(body || signature)>`` where ``body`` (34 bytes) is::

    kind      1 byte   b"R" resident / staff (一码通), b"V" visitor pass
    issued    4 bytes  unix seconds, big-endian
    expires   4 bytes  unix seconds, big-endian
    nonce     8 bytes  random: identifies this code (replay detection)
    subject  16 bytes  the credential's or visitor pass's opaque token (32 hex chars), never a person id
    version   1 byte   body layout version (1)

and ``signature`` is Ed25519 over ``b"linli-access-code/1\\n" + kid + b"\\n" + body``. The whole code is
about 140 characters, small enough for a low-density QR that cheap gate scanners read.

Verification order (``verify``): well-formed → known key → signature → time window. The server then
adds what a gate alone cannot know: revocation, replay at the same access point, policies and visitor
entry counts (``access.gate.decision``).
"""

from __future__ import annotations

import base64
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "LL1"
DOMAIN = b"linli-access-code/1\n"
KIND_RESIDENT = "R"
KIND_VISITOR = "V"
KINDS = (KIND_RESIDENT, KIND_VISITOR)
_BODY = struct.Struct(">cII8s16sB")
BODY_LEN = _BODY.size  # 34
SIG_LEN = 64
MAX_CODE_LEN = 200
DEFAULT_SKEW = 10  # seconds of clock difference tolerated between phone, server and gate


class InvalidCode(Exception):
    """A code that must be refused; ``reason`` is one of: malformed, unknown_key, forged, expired,
    not_yet_valid."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Code:
    kid: str
    kind: str
    issued_at: int
    expires_at: int
    nonce: str  # 16 hex chars
    subject: str  # 32 hex chars
    signed: bytes
    signature: bytes


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """base64url of the raw 32-byte public key (what gates are given)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return _b64e(pub.public_bytes(Encoding.Raw, PublicFormat.Raw))


def load_public_key(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_b64d(text))


def private_key_text(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    return _b64e(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


def load_private_key(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_b64d(text))


def new_subject_token() -> str:
    """A fresh opaque subject id (32 hex chars) for a credential or visitor pass."""
    return os.urandom(16).hex()


def sign(
    *,
    kid: str,
    key: Ed25519PrivateKey,
    kind: str,
    subject: str,
    issued_at: int,
    expires_at: int,
    nonce: bytes | None = None,
) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if expires_at <= issued_at:
        raise ValueError("expires_at must be after issued_at")
    subject_raw = bytes.fromhex(subject)
    if len(subject_raw) != 16:
        raise ValueError("subject must be 32 hex characters")
    body = _BODY.pack(kind.encode(), issued_at, expires_at, nonce or os.urandom(8), subject_raw, 1)
    signature = key.sign(DOMAIN + kid.encode() + b"\n" + body)
    return f"{PREFIX}.{kid}.{_b64e(body + signature)}"


def parse(text: str) -> Code:
    """Split a presented code into its parts; ``InvalidCode("malformed")`` for anything else."""
    if not isinstance(text, str) or len(text) > MAX_CODE_LEN:
        raise InvalidCode("malformed")
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[1].isalnum():
        raise InvalidCode("malformed")
    try:
        raw = _b64d(parts[2])
    except (ValueError, TypeError):
        raise InvalidCode("malformed") from None
    if len(raw) != BODY_LEN + SIG_LEN:
        raise InvalidCode("malformed")
    body, signature = raw[:BODY_LEN], raw[BODY_LEN:]
    kind, issued, expires, nonce, subject, version = _BODY.unpack(body)
    try:
        kind_text = kind.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidCode("malformed") from None
    if version != 1 or kind_text not in KINDS or expires <= issued:
        raise InvalidCode("malformed")
    kid = parts[1]
    return Code(
        kid=kid,
        kind=kind_text,
        issued_at=issued,
        expires_at=expires,
        nonce=nonce.hex(),
        subject=subject.hex(),
        signed=DOMAIN + kid.encode() + b"\n" + body,
        signature=signature,
    )


def check_signature(code: Code, public_key: Ed25519PublicKey) -> None:
    try:
        public_key.verify(code.signature, code.signed)
    except InvalidSignature:
        raise InvalidCode("forged") from None


def check_time(code: Code, now: float, *, skew: int = DEFAULT_SKEW) -> None:
    if now + skew < code.issued_at:
        raise InvalidCode("not_yet_valid")
    if now - skew > code.expires_at:
        raise InvalidCode("expired")


def verify(
    text: str, public_keys: dict[str, Ed25519PublicKey], now: float, *, skew: int = DEFAULT_SKEW
) -> Code:
    """What a gate does offline: parse, find the key, check the signature, then the time window."""
    code = parse(text)
    key = public_keys.get(code.kid)
    if key is None:
        raise InvalidCode("unknown_key")
    check_signature(code, key)
    check_time(code, now, skew=skew)
    return code

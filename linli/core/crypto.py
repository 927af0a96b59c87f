"""Field-level encryption (AES-256-GCM) and keyed hashes for exact lookup (blind index).

Ciphertext format (text, so it fits any database column): ``v1.<key id>.<base64url(nonce || ct+tag)>``.
The key id lets ``linli rotate_keys`` re-encrypt under a new primary key while old rows stay readable.
The associated data binds a ciphertext to its table column, so a value copied into another column
fails authentication instead of decrypting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

PREFIX = "v1"


class DecryptionError(Exception):
    """A stored value could not be authenticated with any configured key."""


@lru_cache(maxsize=16)
def _aead(key_id: str) -> AESGCM:
    try:
        key = settings.SECRETS.field_keys[key_id]
    except KeyError as exc:
        raise DecryptionError(f"unknown field key id {key_id!r}") from exc
    return AESGCM(key)


def reset_key_cache() -> None:
    _aead.cache_clear()


def primary_key_id() -> str:
    return settings.SECRETS.primary_key_id


def encrypt(plaintext: str, *, context: str, key_id: str | None = None) -> str:
    key_id = key_id or primary_key_id()
    nonce = os.urandom(12)
    ct = _aead(key_id).encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
    return f"{PREFIX}.{key_id}.{base64.urlsafe_b64encode(nonce + ct).decode('ascii')}"


def key_id_of(token: str) -> str:
    parts = token.split(".", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise DecryptionError("not a Linli ciphertext")
    return parts[1]


def decrypt(token: str, *, context: str) -> str:
    key_id = key_id_of(token)
    raw = base64.urlsafe_b64decode(token.split(".", 2)[2].encode("ascii"))
    try:
        plain = _aead(key_id).decrypt(raw[:12], raw[12:], context.encode("utf-8"))
    except InvalidTag as exc:
        raise DecryptionError("ciphertext failed authentication") from exc
    return plain.decode("utf-8")


def blind_index(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of a normalised value; ``purpose`` separates indexes of different fields."""
    mac = hmac.new(settings.SECRETS.index_key, f"{purpose}\x00{value}".encode(), hashlib.sha256)
    return mac.hexdigest()


# Blind-index purposes shared across apps (a person's phone and a resident account's phone match).
INDEX_ID_NUMBER = "person.id_number"
INDEX_PHONE = "phone"

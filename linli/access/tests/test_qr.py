"""Signed access codes: the pure format (what a gate verifies offline) and the estate signing keys."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from linli.access.credentials import keys, qr

T0 = 1_750_000_000
SUBJECT = "0123456789abcdef0123456789abcdef"


def _key():
    return Ed25519PrivateKey.generate()


def _code(key, *, kid="k1", kind="R", issued=T0, expires=T0 + 60, subject=SUBJECT, nonce=None):
    return qr.sign(
        kid=kid, key=key, kind=kind, subject=subject, issued_at=issued, expires_at=expires, nonce=nonce
    )


def _reason(text, keys_, now):
    with pytest.raises(qr.InvalidCode) as exc:
        qr.verify(text, keys_, now)
    return exc.value.reason


def test_round_trip_returns_the_signed_fields():
    key = _key()
    text = _code(key, nonce=bytes(range(8)))
    code = qr.verify(text, {"k1": key.public_key()}, T0 + 30)
    assert (code.kid, code.kind, code.issued_at, code.expires_at, code.nonce, code.subject) == (
        "k1",
        "R",
        T0,
        T0 + 60,
        "0001020304050607",
        SUBJECT,
    )
    assert text.startswith("LL1.k1.")
    assert len(text) <= qr.MAX_CODE_LEN


def test_visitor_codes_carry_their_kind():
    key = _key()
    assert qr.verify(_code(key, kind="V"), {"k1": key.public_key()}, T0).kind == "V"


def test_a_flipped_signature_byte_is_forged():
    key = _key()
    prefix, kid, payload = _code(key).split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[-1] ^= 0x01
    tampered = f"{prefix}.{kid}." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert _reason(tampered, {"k1": key.public_key()}, T0) == "forged"


def test_a_changed_subject_is_forged():
    key = _key()
    prefix, kid, payload = _code(key).split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[20] ^= 0xFF  # inside the subject bytes of the body
    tampered = f"{prefix}.{kid}." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert _reason(tampered, {"k1": key.public_key()}, T0) == "forged"


def test_another_keys_signature_is_forged():
    assert _reason(_code(_key()), {"k1": _key().public_key()}, T0) == "forged"


def test_unknown_kid_is_unknown_key():
    key = _key()
    assert _reason(_code(key, kid="k2"), {"k1": key.public_key()}, T0) == "unknown_key"


def test_time_window_with_skew():
    key = _key()
    keys_ = {"k1": key.public_key()}
    text = _code(key)
    assert qr.verify(text, keys_, T0 + 60 + qr.DEFAULT_SKEW).expires_at == T0 + 60
    assert _reason(text, keys_, T0 + 61 + qr.DEFAULT_SKEW) == "expired"
    assert qr.verify(text, keys_, T0 - qr.DEFAULT_SKEW).issued_at == T0
    assert _reason(text, keys_, T0 - qr.DEFAULT_SKEW - 1) == "not_yet_valid"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "LL1",
        "LL1.k1",
        "LL2.k1.AAAA",
        "LL1..AAAA",
        "LL1.k-1.AAAA",
        "LL1.k1.!!!!",
        "LL1.k1.AAAA",
        "x" * 201,
        None,
        12345,
    ],
)
def test_malformed_codes(text):
    assert _reason(text, {}, T0) == "malformed"


def test_body_with_unknown_kind_or_version_is_malformed():
    key = _key()
    good = _code(key)
    prefix, kid, payload = good.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[0] = ord("X")
    bad = f"{prefix}.{kid}." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert _reason(bad, {"k1": key.public_key()}, T0) == "malformed"


def test_sign_refuses_bad_input():
    key = _key()
    with pytest.raises(ValueError):
        _code(key, kind="Z")
    with pytest.raises(ValueError):
        _code(key, expires=T0)
    with pytest.raises(ValueError):
        _code(key, subject="abc")


@pytest.mark.django_db
def test_estate_keys_sign_verify_and_rotate(world):
    estate_id = world.a.estate.pk
    first = keys.active_key(estate_id)
    assert keys.active_key(estate_id).kid == first.kid
    text = keys.sign_for(estate_id, kind="R", subject=SUBJECT, issued_at=T0, expires_at=T0 + 60)
    assert qr.verify(text, keys.public_keys(estate_id), T0).subject == SUBJECT
    second = keys.rotate(estate_id)
    assert keys.active_key(estate_id).kid == second.kid != first.kid
    # Codes signed just before a rotation still verify with the retired key (for a day).
    assert sorted(keys.public_keys(estate_id)) == sorted([first.kid, second.kid])
    assert keys.public_key_for(first.kid)[0] == estate_id
    assert keys.public_key_for("nope") is None
    assert keys.public_keys(world.b.estate.pk).keys().isdisjoint({first.kid, second.kid})

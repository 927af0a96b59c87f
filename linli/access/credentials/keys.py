"""The signing keys of each estate's access codes: created on first use, rotated by staff, public keys
handed to gates. Private keys are decrypted once per process and cached (they never change)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.db import transaction
from django.utils import timezone

from linli.access.credentials import qr
from linli.access.models import SigningKey


@lru_cache(maxsize=256)
def _private(kid: str, token: str) -> Ed25519PrivateKey:
    return qr.load_private_key(token)


@lru_cache(maxsize=1024)
def _public(kid: str, text: str) -> Ed25519PublicKey:
    return qr.load_public_key(text)


def _new_kid() -> str:
    return secrets.token_hex(4)


@transaction.atomic
def _create(estate_id: int) -> SigningKey:
    key = Ed25519PrivateKey.generate()
    return SigningKey.objects.create(
        estate_id=estate_id,
        kid=_new_kid(),
        public_key=qr.public_key_text(key),
        private_key=qr.private_key_text(key),
    )


def active_key(estate_id: int) -> SigningKey:
    """The estate's current signing key, created on first use."""
    row = (
        SigningKey.objects.filter(estate_id=estate_id, retired_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if row is None:
        # Serialise creation so two first requests do not create two keys.
        from linli.places.models import Region

        with transaction.atomic():
            Region.objects.select_for_update().filter(pk=estate_id).first()
            row = (
                SigningKey.objects.filter(estate_id=estate_id, retired_at__isnull=True)
                .order_by("-created_at")
                .first()
            ) or _create(estate_id)
    return row


def sign_for(estate_id: int, *, kind: str, subject: str, issued_at: int, expires_at: int) -> str:
    row = active_key(estate_id)
    return qr.sign(
        kid=row.kid,
        key=_private(row.kid, row.private_key),
        kind=kind,
        subject=subject,
        issued_at=issued_at,
        expires_at=expires_at,
    )


def public_keys(estate_id: int, *, include_retired_since=None) -> dict[str, Ed25519PublicKey]:
    """kid → public key of the estate: the active key and keys retired less than a day ago (codes
    signed just before a rotation stay valid until they expire)."""
    since = include_retired_since or timezone.now() - timedelta(days=1)
    rows = SigningKey.objects.filter(estate_id=estate_id).filter(
        retired_at__isnull=True
    ) | SigningKey.objects.filter(estate_id=estate_id, retired_at__gte=since)
    return {r.kid: _public(r.kid, r.public_key) for r in rows}


def public_key_for(kid: str) -> tuple[int, Ed25519PublicKey] | None:
    """(estate id, public key) of a kid that is active or retired less than a day ago."""
    since = timezone.now() - timedelta(days=1)
    row = SigningKey.objects.filter(kid=kid).values("estate_id", "public_key", "retired_at").first()
    if row is None or (row["retired_at"] is not None and row["retired_at"] < since):
        return None
    return row["estate_id"], _public(kid, row["public_key"])


@transaction.atomic
def rotate(estate_id: int) -> SigningKey:
    """Retire the active key and create a new one (the retired key verifies for one more day)."""
    SigningKey.objects.filter(estate_id=estate_id, retired_at__isnull=True).update(retired_at=timezone.now())
    return _create(estate_id)

"""HMAC authentication of device-facing HTTP calls (gates asking for decisions, uploading offline
events, fetching public keys).

Each request carries::

    X-Linli-Device:    <device key>
    X-Linli-Timestamp: <unix seconds>
    X-Linli-Signature: hex(HMAC-SHA256(device secret, f"{METHOD}\\n{path}\\n{timestamp}\\n" + body))

``path`` is the URL path without the query string (``/api/v1/access/device/decisions``) and ``body``
the raw request bytes (empty for GET). The timestamp must be within ±300 s of the server's clock.
A missing header, an unknown device, a stale timestamp or a wrong signature is 401; a device that is
disabled or revoked is 403. A device's secret is decrypted once per process and credential version
(rotation bumps the version, so the old secret stops working at once).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.utils.translation import gettext as _

from linli.core.errors import PermissionDenied, Unauthenticated

HEADER_DEVICE = "X-Linli-Device"
HEADER_TIMESTAMP = "X-Linli-Timestamp"
HEADER_SIGNATURE = "X-Linli-Signature"
WINDOW_SECONDS = 300

_secrets: dict[tuple[str, int], bytes] = {}


def reset_cache() -> None:
    _secrets.clear()


def signature(*, secret: str | bytes, method: str, path: str, timestamp: int | str, body: bytes = b"") -> str:
    """The signature a device sends (also used by the simulator, tests and the benchmark)."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = f"{method.upper()}\n{path}\n{timestamp}\n".encode() + body
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_headers(
    *, key: str, secret: str, method: str, path: str, body: bytes = b"", now: float | None = None
):
    """The three headers of a signed request."""
    ts = int(time.time() if now is None else now)
    return {
        HEADER_DEVICE: key,
        HEADER_TIMESTAMP: str(ts),
        HEADER_SIGNATURE: signature(secret=secret, method=method, path=path, timestamp=ts, body=body),
    }


def _secret_of(device) -> bytes:
    cache_key = (device.key, device.credential_version)
    secret = _secrets.get(cache_key)
    if secret is None:
        from linli.devices.models import Device

        text = Device.objects.filter(pk=device.pk).values_list("secret", flat=True).first() or ""
        secret = text.encode()
        if len(_secrets) > 10000:
            _secrets.clear()
        _secrets[cache_key] = secret
    return secret


def _refused(code: str) -> Unauthenticated:
    return Unauthenticated(_("设备认证失败"), code=code)


def authenticate(*, key: str | None, method: str, path: str, headers, body: bytes, now: float | None = None):
    """The active ``Device`` that signed this request, or a 401/403 domain error."""
    from linli.devices.models import Device, DeviceStatus

    timestamp = headers.get(HEADER_TIMESTAMP) or ""
    given = (headers.get(HEADER_SIGNATURE) or "").strip().lower()
    if not key or not timestamp or not given:
        raise _refused("device_auth_missing")
    if len(key) > 64 or len(given) != 64:
        raise _refused("device_auth_invalid")
    try:
        ts = int(timestamp)
    except ValueError:
        raise _refused("device_auth_invalid") from None
    if abs((time.time() if now is None else now) - ts) > WINDOW_SECONDS:
        raise _refused("device_clock_skew")
    device = next(iter(Device.objects.defer("secret").filter(key=key).order_by()[:1]), None)
    if device is None:
        raise _refused("device_auth_invalid")
    if device.status != DeviceStatus.ACTIVE:
        raise PermissionDenied(_("设备已停用或凭据已吊销"), code="device_inactive")
    secret = _secret_of(device)
    expected = signature(secret=secret, method=method, path=path, timestamp=timestamp, body=body)
    if not secret or not hmac.compare_digest(expected, given):
        raise _refused("device_auth_invalid")
    return device

"""What the adapters' push views share: answers, size limits and the per-device-token push.

Push endpoints are ``auth=None`` for Linli users and authenticated by the sender's own mechanism (a
cloud's signature or shared token, a device's secret path token). Once authenticated, a push is
answered **200** even when it names an unknown device or is malformed: clouds and devices re-post
until they get a 2xx, so refusing would only repeat the same bad message. Such messages are counted
(on the device when known) and sampled in ``RejectedMessage`` instead.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _

from linli.adapters import base
from linli.config import env
from linli.devices.canonical import Rejected
from linli.devices.ingest import IngestResult, record_rejected

MAX_PUSH = 64 * 1024  # cloud pushes (JSON of a few readings)


def token(name: str) -> str:
    """A cloud's shared token or signing key from the environment ("" = not configured)."""
    return env.env_str(name, "")


def answer(result: IngestResult) -> JsonResponse:
    return JsonResponse(base.result(result.stored, result.duplicates, result.rejected))


def answer_rejected(adapter: str, exc: Rejected, raw: bytes) -> JsonResponse:
    """A malformed push from an authenticated sender: sampled, counted, answered 200."""
    record_rejected(reason=exc.reason, topic=f"http:{adapter}", sample=raw)
    return JsonResponse(base.result(rejected=1))


def cloud_error(status: int, code: str, message: str) -> JsonResponse:
    """The error body the NB-IoT clouds' push settings pages show as they are."""
    return JsonResponse({"code": code, "message": message}, status=status)


def error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def too_large(request: HttpRequest, limit: int) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return True


def token_push(
    request: HttpRequest,
    token: str,
    *,
    adapter: str,
    max_bytes: int,
    handle: Callable[[bytes, object], dict],
) -> JsonResponse:
    """A push to ``…/ingest/<vendor>/<token>`` of a device that cannot sign (Hikvision, Dahua).

    * wrong or unknown token → 403 (nothing is read beyond the headers);
    * body over ``max_bytes`` → 413;
    * anything else → 200 with ``{"stored", "duplicates", "rejected"}`` (``handle(raw, device)``);
      a push the codec refuses is counted on the device and sampled.
    """
    if request.method != "POST":
        return error(405, "method_not_allowed", _("仅支持 POST"))
    device = base.device_for_token(adapter, token)
    if device is None:
        return error(403, "forbidden", _("推送地址无效"))
    if too_large(request, max_bytes):
        return error(413, "payload_too_large", _("推送内容过大"))
    raw = request.body
    try:
        return JsonResponse(handle(raw, device))
    except Rejected as exc:
        record_rejected(
            reason=exc.reason,
            topic=f"http:{adapter}/{device.key}",
            sample=base.sample_text(raw),
            device_id=device.pk,
        )
        return JsonResponse(base.result(rejected=1))

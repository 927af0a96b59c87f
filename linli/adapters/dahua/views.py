"""Push endpoint for Dahua devices ("event HTTP upload" and RPC event pushes), mounted from
``manifest.toml``: ``POST /api/v1/devices/ingest/dahua/{token}``; answers as
``linli.adapters.http.token_push``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from linli.adapters import http
from linli.adapters.dahua import adapter

MAX_PUSH = 1024 * 1024  # event text only


@csrf_exempt
def ingest_push(request: HttpRequest, token: str) -> JsonResponse:
    """Dahua event HTTP upload / RPC event push; per-device token in the path."""
    return http.token_push(
        request,
        token,
        adapter=adapter.ADAPTER,
        max_bytes=MAX_PUSH,
        handle=lambda raw, device: adapter.handle(
            raw,
            device=device,
            content_type=request.META.get("CONTENT_TYPE", ""),
            content_encoding=request.META.get("HTTP_CONTENT_ENCODING", ""),
        ),
    )

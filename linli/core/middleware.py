"""Per-request context (request id, client address) used by the audit log."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass

_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "linli_request", default=None
)


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    ip: str
    user_agent: str


def current_request() -> RequestContext | None:
    return _current.get()


def client_ip(request) -> str:
    # Behind nginx, set LINLI trusted proxy to pass X-Real-IP; REMOTE_ADDR is authoritative otherwise.
    return request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR") or ""


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ctx = RequestContext(
            request_id=request.META.get("HTTP_X_REQUEST_ID", "")[:64] or uuid.uuid4().hex,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
        )
        token = _current.set(ctx)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = ctx.request_id
        return response

"""The channel interface and the HTTP plumbing the provider senders share.

A channel takes a stored ``Message`` and an address (phone number, openid; empty for in-app) and
returns the provider's id for the delivery log. It raises ``Undeliverable`` when the message cannot
go out this way at all (no address, channel not configured: the delivery is skipped, never retried)
and any other exception for a failure worth retrying (network, provider refusal).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from linli.messaging.models import Message

# (method, url, headers, body, timeout seconds) -> (HTTP status, response body)
Transport = Callable[[str, str, dict[str, str], bytes | None, float], tuple[int, bytes]]


def urllib_transport(
    method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float
) -> tuple[int, bytes]:
    """The real transport: one HTTPS request through urllib (no extra dependency)."""
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (https from settings)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:  # the provider's error body says why
        return exc.code, exc.read()


class Undeliverable(Exception):
    """This message cannot go out on this channel (no address, channel off): skip, do not retry."""


class ProviderError(Exception):
    """The provider refused or failed the request; the worker retries with back-off."""


class Channel(ABC):
    """One way of reaching a person."""

    key: str

    @abstractmethod
    def address(self, user) -> str:
        """Where ``user`` is reached on this channel ('' when nowhere)."""

    @abstractmethod
    def send(self, message: Message, address: str) -> str:
        """Deliver ``message`` to ``address``; returns the provider's id for the delivery log."""

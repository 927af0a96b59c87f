"""The vendor adapters the devices app knows of (ADR 0009).

Adapters live in ``linli.adapters``, a layer above devices, access and parking: nothing below it
imports an adapter. ``AdaptersConfig.ready`` declares each adapter found by its manifest here, with
the optional command functions of its ``adapter.py``; devices (which adapter keys a device may name)
and the apps above devices (how a queued command reads in the vendor's own protocol) ask here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VendorAdapter:
    """One adapter as the layers below see it."""

    key: str
    name: str
    # ``render_command(command, sample)`` → the vendor request a ``DeviceCommand`` stands for, or None
    render_command: Callable[[Any, bytes | None], dict | None] | None = None
    # ``ack_outcome(command, http_status, body)`` → the vendor's answer read as an acknowledgement
    ack_outcome: Callable[[Any, int, Any], Any] | None = None


_ADAPTERS: dict[str, VendorAdapter] = {}


def declare(adapter: VendorAdapter) -> None:
    """Make ``adapter`` known (``AdaptersConfig.ready``; declaring the same key again replaces it)."""
    _ADAPTERS[adapter.key] = adapter


def get(key: str) -> VendorAdapter | None:
    return _ADAPTERS.get(key)


def adapter_keys() -> list[str]:
    """The adapter keys a device may be registered with."""
    return sorted(_ADAPTERS)


def render_command(key: str, command, sample: bytes | None = None) -> dict | None:
    """The request ``command`` stands for in the protocol of adapter ``key`` (for a LAN relay), or
    None when the adapter renders no commands."""
    adapter = _ADAPTERS.get(key)
    if adapter is None or adapter.render_command is None:
        return None
    return adapter.render_command(command, sample)


def ack_outcome(key: str, command, http_status: int, body) -> Any:
    """The device's answer to a rendered command read as an acknowledgement by adapter ``key``
    (``ok``, ``error``, ``requeue_mode``), or None when the adapter reads no answers."""
    adapter = _ADAPTERS.get(key)
    if adapter is None or adapter.ack_outcome is None:
        return None
    return adapter.ack_outcome(command, http_status, body)

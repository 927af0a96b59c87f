"""The in-app inbox: the stored message is the delivery."""

from __future__ import annotations

from linli.messaging.channels.base import Channel


class InAppChannel(Channel):
    key = "in_app"

    def address(self, user) -> str:
        return str(user.pk)

    def send(self, message, address: str) -> str:
        return f"inbox:{message.pk}"

"""Sending text messages (login codes) through a pluggable sender chosen by ``settings.SMS_BACKEND``.

A deployment plugs in its carrier's gateway by subclassing ``SmsSender`` and pointing
``LINLI_SMS_BACKEND`` at the class. The default writes the message to the log so that a demo user
can read the code in the terminal; tests use ``MemorySmsSender``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger("linli.sms")


class SmsSender:
    """Interface: deliver ``message`` to the mobile number ``phone`` (11 digits, no prefix); returns
    the carrier's id for the message when it gives one (kept in the messaging delivery log)."""

    def send(self, phone: str, message: str) -> str | None:
        raise NotImplementedError


class ConsoleSmsSender(SmsSender):
    """Demo sender: logs the whole message (with the code) at WARNING instead of sending it."""

    def send(self, phone: str, message: str) -> None:
        # The number is masked like everywhere else (logs hold no raw personal data, R49); the last four
        # digits are enough for a demo user to find their code.
        from linli.core.pii import mask_phone

        log.warning("SMS to %s: %s", mask_phone(phone), message)


@dataclass(frozen=True)
class SentSms:
    phone: str
    message: str


class MemorySmsSender(SmsSender):
    """Test sender: keeps every message in the class-level ``outbox`` list (like Django's mail.outbox)."""

    outbox: ClassVar[list[SentSms]] = []

    def send(self, phone: str, message: str) -> str:
        MemorySmsSender.outbox.append(SentSms(phone=phone, message=message))
        return f"memory:{len(MemorySmsSender.outbox)}"


def get_sender() -> SmsSender:
    """The configured sender (resolved on every call, so ``override_settings`` takes effect)."""
    cls = import_string(settings.SMS_BACKEND)
    sender = cls()
    if not isinstance(sender, SmsSender):
        raise TypeError(f"{settings.SMS_BACKEND} is not an SmsSender")
    return sender

"""Payment providers behind one small interface; ``get_provider()`` returns the configured one."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


class InvalidNotification(Exception):
    """A notification whose signature or content does not check out."""


@dataclass(frozen=True)
class ProviderOrder:
    out_trade_no: str
    pay_url: str


@dataclass(frozen=True)
class Notification:
    notification_id: str
    out_trade_no: str
    trade_no: str
    amount_fen: int
    status: str  # "SUCCESS" or "CLOSED"


class PaymentProvider:
    """Interface every payment provider implements."""

    name = ""

    def create_order(self, *, out_trade_no: str, amount_fen: int, subject: str) -> ProviderOrder:
        raise NotImplementedError

    def verify_notification(self, payload: dict) -> Notification:
        """Check the signature and shape of a notification; raise ``InvalidNotification``."""
        raise NotImplementedError

    def refund(self, *, out_trade_no: str, refund_no: str, amount_fen: int) -> str:
        """Refund ``amount_fen`` of a paid order; returns the provider's refund id."""
        raise NotImplementedError


def get_provider(name: str | None = None) -> PaymentProvider:
    from linli.billing.providers.simulated import SimulatedProvider

    name = name or settings.PAYMENT_PROVIDER
    providers = {"simulated": SimulatedProvider}
    if name not in providers:
        raise LookupError(f"unknown payment provider {name!r}")
    return providers[name]()

"""The simulated payment provider (demo and tests).

Its "cashier" is an H5 page (``h5billing:cashier``): when the resident confirms, ``notification_for``
builds the notification a real provider would POST to ``/api/v1/billing/providers/simulated/notify``,
signed with HMAC-SHA256 over the canonical JSON of its fields. The key is
``settings.PAYMENT_SIMULATED_KEY`` when set, otherwise derived from the secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from django.conf import settings
from django.urls import reverse

from linli.billing.providers import InvalidNotification, Notification, PaymentProvider, ProviderOrder

SIGNED_FIELDS = ("notification_id", "out_trade_no", "trade_no", "amount_fen", "status")


def _key() -> bytes:
    configured = getattr(settings, "PAYMENT_SIMULATED_KEY", "")
    if configured:
        return configured.encode()
    return hashlib.sha256(b"linli.billing.simulated-provider:" + settings.SECRET_KEY.encode()).digest()


def sign(fields: dict) -> str:
    body = json.dumps({k: fields[k] for k in SIGNED_FIELDS}, sort_keys=True, separators=(",", ":"))
    return hmac.new(_key(), body.encode(), hashlib.sha256).hexdigest()


class SimulatedProvider(PaymentProvider):
    name = "simulated"

    def create_order(self, *, out_trade_no: str, amount_fen: int, subject: str) -> ProviderOrder:
        return ProviderOrder(
            out_trade_no=out_trade_no, pay_url=reverse("h5billing:cashier", args=[out_trade_no])
        )

    def notification_for(self, *, out_trade_no: str, amount_fen: int, status: str = "SUCCESS") -> dict:
        """The signed notification the provider sends once the payer confirms (a fresh id each time)."""
        fields = {
            "notification_id": "N" + secrets.token_hex(12),
            "out_trade_no": out_trade_no,
            "trade_no": "SIM" + hashlib.sha256(out_trade_no.encode()).hexdigest()[:20],
            "amount_fen": int(amount_fen),
            "status": status,
        }
        return {**fields, "sign": sign(fields)}

    def verify_notification(self, payload: dict) -> Notification:
        try:
            fields = {k: payload[k] for k in SIGNED_FIELDS}
            given = str(payload["sign"])
        except (KeyError, TypeError) as exc:
            raise InvalidNotification("missing field") from exc
        if not isinstance(fields["amount_fen"], int) or isinstance(fields["amount_fen"], bool):
            raise InvalidNotification("amount_fen must be an integer")
        if not all(isinstance(fields[k], str) for k in SIGNED_FIELDS if k != "amount_fen"):
            raise InvalidNotification("bad field type")
        # Compare bytes: compare_digest refuses non-ASCII str, and a forged sign may contain anything.
        if not hmac.compare_digest(sign(fields).encode(), str(given).encode("utf-8", "surrogatepass")):
            raise InvalidNotification("bad signature")
        if fields["status"] not in ("SUCCESS", "CLOSED"):
            raise InvalidNotification("unknown status")
        return Notification(**fields)

    def refund(self, *, out_trade_no: str, refund_no: str, amount_fen: int) -> str:
        return "SIMR" + hashlib.sha256(f"{out_trade_no}:{refund_no}".encode()).hexdigest()[:20]

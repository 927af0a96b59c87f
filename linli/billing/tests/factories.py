"""Test data for billing, created through the services."""

from __future__ import annotations

import itertools
from decimal import Decimal

from linli.billing import services
from linli.billing.models import FeeKind
from linli.orgs.roles import Role
from linli.orgs.selectors import actor_for_user
from linli.orgs.tests import factories as orgs_f

_seq = itertools.count(1)


def manager(estate):
    """A property admin of ``estate`` (billing.manage + billing.approve)."""
    return actor_for_user(orgs_f.staff(role=Role.PROPERTY_ADMIN, scope=[estate], username=f"pa{next(_seq)}"))


def clerk(estate):
    """A customer-service clerk of ``estate`` (billing.manage, no approval)."""
    return actor_for_user(
        orgs_f.staff(role=Role.CUSTOMER_SERVICE, scope=[estate], username=f"cs{next(_seq)}")
    )


def fee_item(
    *,
    estate,
    kind: str = FeeKind.PROPERTY_FEE,
    unit_price: str = "2.50",
    name: str | None = None,
    late_fee_per_mille: str = "0",
    grace: int = 0,
    due_days: int = 15,
    one_off_period: str = "",
    actor=None,
):
    return services.fee_item_create(
        actor=actor or manager(estate),
        estate=estate,
        name=name or f"{FeeKind(kind).label}{next(_seq)}",
        kind=kind,
        unit_price=Decimal(unit_price),
        late_fee_per_mille=Decimal(late_fee_per_mille),
        late_fee_grace_days=grace,
        due_days=due_days,
        one_off_period=one_off_period,
    )


def bill(*, room, amount_fen: int = 10000, title: str = "测试费用", actor=None):
    """A one-off bill of ``amount_fen`` for ``room`` (through ``charge_create``)."""
    from linli.places.models import Region

    estate = Region.objects.get(pk=room.estate_id)
    return services.charge_create(
        actor=actor or manager(estate),
        room=room,
        amount_fen=amount_fen,
        title=title,
        source_type="test",
        source_id=str(next(_seq)),
    )

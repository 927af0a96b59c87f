"""Demo messages for the residents of one estate: a bill reminder and the newest notice addressed to
them, through ``message_send`` (idempotent: each has a dedup key). Staff messages come from the other
apps' demos, which send through the same service (new work orders, missed patrols, alarms)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from linli.accounts.models import User, UserKind
from linli.messaging.models import Category
from linli.messaging.services import message_send
from linli.notices.selectors import my_notices
from linli.orgs.selectors import actor_for_user
from linli.places.models import Region


def seed(estate: Region) -> int:
    """Returns how many messages were created."""
    made = 0
    residents = User.objects.filter(kind=UserKind.RESIDENT, is_active=True, person__estate=estate).order_by(
        "pk"
    )
    for user in residents:
        made += len(
            message_send(
                recipients=[user],
                title=_("本月物业费账单已出"),
                body=_("本月物业服务费账单已生成，请在到期日前缴纳。可在“缴费”中查看明细并在线支付。"),
                link=reverse("h5billing:home"),
                category=Category.BILL,
                estate=estate,
                dedup_key="demo:bill_due",
            )
        )
        notice = my_notices(actor=actor_for_user(user)).filter(read_at__isnull=True).first()
        if notice is not None:
            made += len(
                message_send(
                    recipients=[user],
                    title=_("新通知：%(title)s") % {"title": notice.title},
                    body=notice.body[:200],
                    link=reverse("h5notices:detail", args=[notice.pk]),
                    category=Category.NOTICE,
                    estate=estate,
                    dedup_key=f"demo:notice:{notice.pk}",
                )
            )
    return made

"""Dormant staff accounts are disabled by a daily job (R48), with a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from linli.accounts.models import ApiToken, User, UserKind
from linli.accounts.services import token_issue
from linli.core.audit import Action
from linli.core.models import AuditEvent
from linli.orgs import tasks
from linli.orgs.tests import factories as orgs_f

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts():
    """At T0: staff who signed in, staff who never did, a resident, staff who used a token on day 60,
    staff who signed in on day 10, an account already disabled."""
    with time_machine.travel(T0, tick=False):
        users = {
            "signed_in": orgs_f.user(username="signed.in", last_login=T0),
            "never": orgs_f.user(username="never.used"),
            "resident": orgs_f.user(username="resident", kind=UserKind.RESIDENT, last_login=T0),
            "token_user": orgs_f.user(username="token.user", last_login=T0),
            "recent": orgs_f.user(username="recent", last_login=T0 + timedelta(days=10)),
            "disabled": orgs_f.user(username="gone", is_active=False),
        }
        token_issue(user=users["signed_in"])
        token, _ = token_issue(user=users["token_user"])
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=T0 + timedelta(days=60))
    return users


def _active() -> dict[str, bool]:
    return dict(User.objects.order_by("username").values_list("username", "is_active"))


def test_nothing_is_disabled_before_ninety_days(accounts):
    with time_machine.travel(T0 + timedelta(days=89, hours=23), tick=False):
        summary = tasks.disable_dormant_accounts(datetime.now(UTC))

    assert summary == "disabled 0"
    assert not User.objects.filter(is_active=False).exclude(username="gone").exists()
    assert not AuditEvent.objects.filter(action=Action.ACCOUNT_DISABLE).exists()


def test_staff_unused_for_ninety_days_are_disabled_and_audited(accounts):
    # when: day 91
    with time_machine.travel(T0 + timedelta(days=91), tick=False):
        summary = tasks.disable_dormant_accounts(datetime.now(UTC))

    # then: staff with no sign-in and no token use since day 1 are disabled, nobody else
    assert summary == "disabled 2"
    assert _active() == {
        "gone": False,
        "never.used": False,
        "recent": True,
        "resident": True,
        "signed.in": False,
        "token.user": True,
    }
    assert not ApiToken.objects.filter(user=accounts["signed_in"], revoked_at=None).exists()
    events = AuditEvent.objects.filter(action=Action.ACCOUNT_DISABLE).order_by("object_id")
    assert [(e.object_id, e.actor_label, e.detail["dormant"], e.detail["last_used"]) for e in events] == [
        (str(accounts["signed_in"].pk), "system", True, T0.isoformat()),
        (str(accounts["never"].pk), "system", True, T0.isoformat()),
    ]
    assert events[0].detail["tokens_revoked"] == 1


def test_the_period_is_a_setting(accounts, settings):
    settings.DORMANT_ACCOUNT_DAYS = 30
    with time_machine.travel(T0 + timedelta(days=35), tick=False):
        summary = tasks.disable_dormant_accounts(datetime.now(UTC))

    assert summary == "disabled 2"
    assert _active()["recent"] is True

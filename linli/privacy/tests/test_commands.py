from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from linli.core import audit
from linli.core.audit import Action
from linli.core.models import AuditEvent


def _events(n: int, *, days_ago: int = 0, label: str = "u") -> list[AuditEvent]:
    with time_machine.travel(timezone.now() - timedelta(days=days_ago), tick=False):
        return [audit.record(Action.LOGIN, actor_label=f"{label}{i}") for i in range(n)]


def _tamper(event: AuditEvent) -> None:
    """An attacker with database access edits a row behind the triggers' back."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_no_update")
            cur.execute("UPDATE core_auditevent SET actor_label = 'mallory' WHERE id = %s", [event.pk])
            cur.execute("ALTER TABLE core_auditevent ENABLE TRIGGER core_auditevent_no_update")
        else:
            with audit.maintenance():
                cur.execute("UPDATE core_auditevent SET actor_label = 'mallory' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).actor_label == "mallory"


@pytest.mark.django_db
def test_verify_audit_chain_passes_on_an_intact_log(capsys):
    _events(4)

    call_command("verify_audit_chain")

    assert capsys.readouterr().out.strip() == "audit chain OK: 4 rows verified"


@pytest.mark.django_db
def test_verify_audit_chain_fails_naming_the_first_edited_row():
    events = _events(5)
    _tamper(events[2])

    with pytest.raises(CommandError) as exc:
        call_command("verify_audit_chain")

    assert f"row id={events[2].pk}" in str(exc.value)
    assert "after 2 valid rows" in str(exc.value)


@pytest.mark.django_db
def test_purge_refuses_less_than_180_days():
    _events(2, days_ago=400)

    with pytest.raises(CommandError) as exc:
        call_command("purge_audit", "--older-than-days", "179")

    assert "at least 180" in str(exc.value)
    assert AuditEvent.objects.count() == 2


@pytest.mark.django_db
def test_purge_deletes_only_old_rows_audits_itself_and_keeps_the_chain_verifiable(capsys):
    old = _events(3, days_ago=400, label="old")
    recent = _events(2, days_ago=200, label="recent")

    call_command("purge_audit", "--older-than-days", "365")

    kept = list(AuditEvent.objects.order_by("id"))
    assert [e.actor_label for e in kept] == ["recent0", "recent1", "system:purge_audit"]
    purge = kept[-1]
    assert (purge.action, purge.object_type, purge.reason) == (
        Action.AUDIT_PURGE,
        "core.auditevent",
        "retention 365 days",
    )
    assert purge.detail["deleted"] == 3
    assert purge.detail["last_deleted_id"] == old[-1].pk
    assert purge.detail["anchor_hash"] == old[-1].hash
    assert purge.detail["first_kept_id"] == recent[0].pk
    capsys.readouterr()
    call_command("verify_audit_chain")
    assert capsys.readouterr().out.strip() == "audit chain OK: 3 rows verified"


@pytest.mark.django_db
def test_purge_with_nothing_old_changes_nothing(capsys):
    _events(2, days_ago=10)

    call_command("purge_audit", "--older-than-days", "180")

    assert AuditEvent.objects.count() == 2
    assert capsys.readouterr().out.startswith("nothing to purge")


@pytest.mark.django_db
def test_a_tampered_row_after_a_purge_is_still_detected():
    _events(2, days_ago=400)
    recent = _events(3, days_ago=10)
    call_command("purge_audit", "--older-than-days", "180")
    _tamper(recent[1])

    with pytest.raises(CommandError) as exc:
        call_command("verify_audit_chain")

    assert f"row id={recent[1].pk}" in str(exc.value)


@pytest.mark.django_db
def test_a_deleted_oldest_row_without_a_purge_record_is_detected():
    events = _events(3)
    with audit.maintenance():
        AuditEvent.objects.filter(pk=events[0].pk).delete()

    with pytest.raises(CommandError) as exc:
        call_command("verify_audit_chain")

    assert f"row id={events[1].pk}" in str(exc.value)

import pytest
from django.db import DatabaseError, connection, transaction

from linli.core import audit
from linli.core.models import AuditEvent


@pytest.mark.django_db(transaction=True)
def test_audit_rows_cannot_be_updated_or_deleted():
    event = audit.record(audit.Action.LOGIN, actor_label="alice")

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="edited")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).reason == ""


@pytest.mark.django_db
def test_chain_verifies_and_detects_an_edited_row():
    for i in range(5):
        audit.record(
            audit.Action.SENSITIVE_READ, actor_label=f"u{i}", object_type="people.person", object_id=i
        )
    ok, bad, count = audit.verify_chain()
    assert (ok, bad, count) == (True, None, 5)

    victim = AuditEvent.objects.order_by("id")[2]
    with connection.cursor() as cur:  # an attacker with DB access drops the trigger and edits a row
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_no_update")
            cur.execute("UPDATE core_auditevent SET actor_label = 'mallory' WHERE id = %s", [victim.pk])
            cur.execute("ALTER TABLE core_auditevent ENABLE TRIGGER core_auditevent_no_update")
        else:
            cur.execute("DROP TRIGGER core_auditevent_no_update")
            cur.execute("UPDATE core_auditevent SET actor_label = 'mallory' WHERE id = %s", [victim.pk])

    assert audit.verify_chain()[:2] == (False, victim.pk)

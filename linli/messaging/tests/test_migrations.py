"""The data migration that moves staff notifications into messages (run backwards, then forwards)."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from linli.messaging.models import Delivery, Message
from linli.orgs.tests import factories as orgs_f

BEFORE = [("notices", "0001_initial"), ("messaging", "0001_initial")]
AFTER = [("notices", "0002_remove_staffnotification"), ("messaging", "0002_staff_notifications")]


@pytest.mark.django_db(transaction=True)
def test_staff_notifications_become_messages_once():
    user = orgs_f.user(username="tech")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    StaffNotification = old_apps.get_model("notices", "StaffNotification")
    note = StaffNotification.objects.create(
        user_id=user.pk, kind="patrol_missed", title="漏巡", body="3 号点", link="/console/patrols/"
    )
    StaffNotification.objects.filter(pk=note.pk).update(created_at=datetime(2026, 1, 2, tzinfo=UTC))

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    message = Message.objects.get()
    assert (
        message.user_id,
        message.category,
        message.title,
        message.body,
        message.link,
        message.read_at,
    ) == (
        user.pk,
        "patrol_missed",
        "漏巡",
        "3 号点",
        "/console/patrols/",
        None,
    )
    assert (message.created_at, message.dedup_key) == (
        datetime(2026, 1, 2, tzinfo=UTC),
        f"staffnotification:{note.pk}",
    )
    assert list(Delivery.objects.values_list("channel", "status")) == [("in_app", "sent")]

"""Move the console inbox (notices.StaffNotification) into messaging.Message.

Re-runnable: each row is copied with the dedup key ``staffnotification:<id>``, so a second run finds
it already there. The creation time is kept (``created_at`` is auto_now_add, so it is set after the
insert); the notices model is removed by notices 0002, which runs after this one.
"""

from django.db import migrations

BATCH = 1000


def copy_staff_notifications(apps, schema_editor):
    StaffNotification = apps.get_model("notices", "StaffNotification")
    Message = apps.get_model("messaging", "Message")
    Delivery = apps.get_model("messaging", "Delivery")
    rows = StaffNotification.objects.order_by("pk")
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last)[:BATCH])
        if not batch:
            return
        last = batch[-1].pk
        keys = {f"staffnotification:{n.pk}": n for n in batch}
        done = set(Message.objects.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
        todo = [(key, n) for key, n in keys.items() if key not in done]
        created = Message.objects.bulk_create(
            [
                Message(
                    user_id=n.user_id,
                    estate_id=n.estate_id,
                    category=n.kind or "info",
                    title=n.title,
                    body=n.body,
                    link=n.link,
                    dedup_key=key,
                    read_at=n.read_at,
                )
                for key, n in todo
            ]
        )
        for key, n in todo:
            Message.objects.filter(dedup_key=key, user_id=n.user_id).update(created_at=n.created_at)
        messages = Message.objects.filter(dedup_key__in=[key for key, _n in todo]) if created else []
        Delivery.objects.bulk_create(
            [
                Delivery(
                    message_id=m.pk,
                    channel="in_app",
                    status="sent",
                    attempts=1,
                    provider_id=f"inbox:{m.pk}",
                    not_before=m.created_at,
                    sent_at=m.created_at,
                )
                for m in messages
            ]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        ("notices", "0001_initial"),
    ]

    operations = [migrations.RunPython(copy_staff_notifications, migrations.RunPython.noop)]

"""Staff notifications now live in messaging (messaging 0002 copied every row first)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0001_initial"),
        ("messaging", "0002_staff_notifications"),
    ]

    operations = [migrations.DeleteModel(name="StaffNotification")]

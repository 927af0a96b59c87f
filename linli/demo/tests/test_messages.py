import pytest

from linli.demo import messages as demo
from linli.messaging.models import Message
from linli.notices import demo as notices_demo

pytestmark = pytest.mark.django_db


def test_seed_sends_each_resident_a_bill_reminder_and_the_newest_notice_once(world):
    notices_demo.seed(world.a.estate)

    made, again = demo.seed(world.a.estate), demo.seed(world.a.estate)

    rows = list(Message.objects.order_by("pk").values_list("user", "category", "link"))
    assert (made, again) == (2, 0)
    assert rows[0] == (world.a.resident.pk, "bill", "/h5/billing/")
    assert rows[1][:2] == (world.a.resident.pk, "notice") and rows[1][2].startswith("/h5/notices/")

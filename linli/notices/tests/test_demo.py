import pytest

from linli.notices import demo
from linli.notices.models import Notice, NoticeReceipt

pytestmark = pytest.mark.django_db


def test_seed_makes_notices_with_receipts_once(world):
    assert demo.seed(world.a.estate) == 8
    assert demo.seed(world.a.estate) == 0  # idempotent
    qs = Notice.objects.filter(estate=world.a.estate)
    assert sorted(qs.values_list("status", flat=True)) == ["draft"] + ["published"] * 6 + ["withdrawn"]
    assert NoticeReceipt.objects.filter(notice__estate=world.a.estate).count() > 0
    assert all(r.read_at > r.notice.published_at for r in NoticeReceipt.objects.select_related("notice"))
    assert not Notice.objects.filter(estate=world.b.estate).exists()

"""The billing demo seed: a billed history whose ledger balances, with arrears and a pending waiver."""

from __future__ import annotations

from datetime import date

import pytest

from linli.billing import demo, selectors
from linli.billing.models import Adjustment, Bill, Payment

pytestmark = pytest.mark.django_db


def test_seed_bills_months_pays_most_and_balances(world):
    result = demo.seed(world.a.estate, months=3, today=date(2026, 11, 23))
    bills = Bill.objects.filter(estate=world.a.estate)
    assert sorted(set(bills.values_list("period", flat=True))) == ["2026-08", "2026-09", "2026-10"]
    assert result["bills"] == bills.count() == 18  # 3 rooms × (property fee + water) × 3 months
    assert Payment.objects.filter(estate=world.a.estate).count() == result["payments"] > 0
    totals = selectors.ledger_totals(bills)
    assert (totals.min_bill_arrears_fen, totals.cached_mismatches) == (0, 0)
    assert totals.paid_fen > 0
    assert Adjustment.objects.filter(estate=world.a.estate, status="pending").count() <= 1
    again = demo.seed(world.a.estate, months=3, today=date(2026, 11, 23))
    assert again["bills"] == 0 and Bill.objects.filter(estate=world.a.estate).count() == 18

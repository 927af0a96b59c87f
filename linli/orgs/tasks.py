"""Periodic jobs of the orgs app: dormant staff accounts are disabled (R48)."""

from datetime import datetime, timedelta

from linli.core.periodic import periodic
from linli.orgs import services


@periodic("orgs.disable_dormant_accounts", every=timedelta(days=1))
def disable_dormant_accounts(now: datetime) -> str:
    """Staff accounts unused for ``LINLI_DORMANT_ACCOUNT_DAYS`` days (default 90) are disabled."""
    return f"disabled {len(services.dormant_accounts_disable(now=now))}"

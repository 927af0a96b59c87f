import pytest

from linli.accounts.sms import MemorySmsSender


@pytest.fixture
def sms(settings):
    """Capture SMS in memory instead of logging them."""
    settings.SMS_BACKEND = "linli.accounts.sms.MemorySmsSender"
    MemorySmsSender.outbox.clear()
    yield MemorySmsSender.outbox
    MemorySmsSender.outbox.clear()


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """``with sent(): ...`` runs the on-commit side effects (SMS) of the block when it ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)

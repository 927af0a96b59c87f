import pytest

from linli.accounts.sms import MemorySmsSender


@pytest.fixture
def sms(settings, django_capture_on_commit_callbacks):
    """Capture SMS in memory; ``with sms.sending(): ...`` delivers the block's on-commit messages."""
    settings.SMS_BACKEND = "linli.accounts.sms.MemorySmsSender"
    MemorySmsSender.outbox.clear()

    class Box:
        outbox = MemorySmsSender.outbox

        @staticmethod
        def sending():
            return django_capture_on_commit_callbacks(execute=True)

    yield Box
    MemorySmsSender.outbox.clear()

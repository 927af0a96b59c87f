import pytest

from linli.accounts.sms import MemorySmsSender


@pytest.fixture
def sms(settings):
    """SMS go to the memory sender."""
    settings.SMS_BACKEND = "linli.accounts.sms.MemorySmsSender"
    MemorySmsSender.outbox.clear()
    yield MemorySmsSender.outbox
    MemorySmsSender.outbox.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed(): ...`` runs the block's on-commit work (enqueued deliveries) when it ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


class FakeTransport:
    """Records requests and answers them in order (status, JSON-able body)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[tuple[str, str, dict, bytes | None]] = []

    def __call__(self, method, url, headers, body, timeout):
        self.requests.append((method, url, headers, body))
        import json

        status, answer = self.answers.pop(0)
        return status, json.dumps(answer).encode()


@pytest.fixture
def fake_transport():
    return FakeTransport

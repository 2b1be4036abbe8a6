"""The per-test alarm both test suites use (python/tests and python/wheel_tests)."""
import signal

import pytest


class TestTimeLimit(Exception):
    pass


def time_limit_fixture(default_seconds):
    """An autouse fixture: SIGALRM raises in the test after its limit
    (``@pytest.mark.alarm(seconds)``, else ``default_seconds``)."""

    @pytest.fixture(autouse=True)
    def time_limit(request):
        marker = request.node.get_closest_marker("alarm")
        seconds = marker.args[0] if marker else default_seconds

        def expired(signo, frame):
            raise TestTimeLimit(f"test exceeded its {seconds} s limit")

        previous = signal.signal(signal.SIGALRM, expired)
        signal.alarm(seconds)
        try:
            yield
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)

    return time_limit

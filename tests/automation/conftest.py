from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.automation.webhook_receiver import Receiver, serve


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 recording every request."""
    found, server = serve()
    yield found
    server.shutdown()
    server.server_close()

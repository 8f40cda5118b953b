"""A studio app served for real on a free 127.0.0.1 port, in a thread, for the tests that
talk to it over HTTP (a browser, load clients)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def serve_studio(make_app: Callable) -> Iterator[str]:
    """Serve ``make_app(policy)`` (an ASGI app; `policy` is the guard's for the bound port)
    until the block ends; yield its base URL, ``http://127.0.0.1:PORT``."""
    import uvicorn

    from musicgen.studio.guard import policy_for

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(make_app(policy_for(*sock.getsockname())), log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)

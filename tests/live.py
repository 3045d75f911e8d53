"""A real waitress server for one app, in a thread of the test process, on a free 127.0.0.1 port."""

from __future__ import annotations

import contextlib
import threading

from waitress import create_server, wasyncore


@contextlib.contextmanager
def live_server(app, threads: int = 8):
    """Yield the base URL (`http://127.0.0.1:PORT`); on exit stop the loop, close every connection
    (keep-alive ones too, which would keep `server.run()` going) and join the thread."""
    server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="mockserver")
    host, port = server.socket.getsockname()[:2]
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)  # in the loop's own thread: no race with it

    thread = threading.Thread(target=serve, name=f"waitress:{port}", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        stopping.set()
        thread.join(timeout=10)
        assert not thread.is_alive(), "waitress did not stop"

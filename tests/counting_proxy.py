"""A TCP proxy on 127.0.0.1 that counts the connections made through it."""

from __future__ import annotations

import socket
import threading

#: Bytes moved per read.
_CHUNK = 65536


class CountingProxy:
    """Forward every connection made to `port` to `upstream`; `accepted` counts them.

    `close` stops listening: later connections are refused, as if the upstream were down.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.accepted = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        """Stop listening; closing twice is harmless."""
        if self._server.fileno() == -1:
            return
        # shutdown wakes the thread blocked in accept (close alone leaves it listening).
        self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            with self._lock:
                self.accepted += 1
            upstream = socket.create_connection(self.upstream)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, target), daemon=True).start()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    """Copy `source` to `target` until either side closes."""
    try:
        while data := source.recv(_CHUNK):
            target.sendall(data)
    except OSError:
        pass  # the other direction closed both sockets
    finally:
        source.close()
        target.close()

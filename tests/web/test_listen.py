"""`duban web --workers N` listens on a TCP socket whose connections send without Nagle's delay
(uvicorn's own socket for several workers left every kept-alive response waiting ~40 ms)."""

from __future__ import annotations

import asyncio
import socket

from duban.serving import PagesConfig


def test_it_accepts_connections_with_tcp_nodelay_for_several_workers() -> None:
    config = PagesConfig("duban.web.app:create_app", factory=True, host="127.0.0.1", port=0)
    listening = config.bind_socket()
    assert listening.proto == socket.IPPROTO_TCP and listening.get_inheritable()

    async def accept_one() -> int:
        got: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            got.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=listening)
        _r, w = await asyncio.open_connection(*listening.getsockname()[:2])
        try:
            return await asyncio.wait_for(got, 5)
        finally:
            w.close()
            server.close()

    assert asyncio.run(accept_one()) != 0

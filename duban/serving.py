"""Serving the pages (`duban web`, `duban serve`): uvicorn, in one process or in several over one listening socket.

With `--workers N` (N > 1) uvicorn binds the socket itself with `socket.socket(family)`, whose
protocol number is 0; asyncio turns Nagle's algorithm off only on accepted sockets whose
protocol is IPPROTO_TCP, so every response on a kept-alive connection waited for the client's
delayed ACK: about 40 ms a request (measured in docs/benchmarks.md, "The pages under load").
The socket here is a TCP one, with TCP_NODELAY, as in the one-process case.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess


class PagesConfig(uvicorn.Config):
    """uvicorn's configuration, binding a TCP socket without Nagle's delay."""

    def bind_socket(self) -> socket.socket:
        """The listening socket for several worker processes."""
        if self.uds is not None or self.fd is not None:
            return super().bind_socket()
        family = socket.AF_INET6 if self.host and ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise SystemExit(f"无法监听 {self.host}:{self.port}：{exc.strerror or exc}") from None
        sock.set_inheritable(True)
        return sock


def serve_pages(host: str, port: int, workers: int, **options: Any) -> None:
    """Serve `duban.web.app:create_app` until stopped (as `uvicorn.run` does)."""
    config = PagesConfig(
        "duban.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="warning",
        access_log=False,  # portal URLs carry the unit's token
        **options,
    )
    server = uvicorn.Server(config)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            config.load_app()
            server.run()
    except KeyboardInterrupt:
        pass
    if workers <= 1 and not server.started:
        raise SystemExit(f"网页未能在 {host}:{port} 启动（原因见上方的错误信息，如端口已被占用）")

"""`duban web`: the pages, served by uvicorn (never with the scheduler inside)."""

from __future__ import annotations

import typer

from duban import runtime


def web_cmd(
    host: str = typer.Option(None, "--host", help="监听地址（默认 DUBAN_WEB_HOST，127.0.0.1）"),
    port: int = typer.Option(None, "--port", help="端口（默认 DUBAN_WEB_PORT，8000）"),
    workers: int = typer.Option(1, "--workers", help="进程数"),
) -> None:
    """启动网页：单位门户（消息中的链接）与办公室控制台。生产环境请置于反向代理之后。"""
    from duban.serving import serve_pages

    st = runtime.settings()
    host, port = host or st.web_host, port or st.web_port
    typer.echo(
        f"duban 网页: http://{host}:{port}/office （办公室控制台）；单位门户经消息中的链接进入"
    )
    serve_pages(host, port, workers)

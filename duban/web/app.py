"""The pages: a unit portal behind every message and the office's console (`duban web`).

Server-rendered (Jinja2, autoescaped), every asset served from `duban/web/static`, no scripts.
The scheduler never runs here: the pages only read and record, the service sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

import jinja2
from fastapi import FastAPI, Request
from fastapi import Path as FastPath
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from duban import runtime
from models.db import session_scope
from models.repo.evidence import EvidenceStore

HERE = Path(__file__).parent
# Compiled once per process: no check of the files' times on each request (a template change
# needs a restart, as a code change does).
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(HERE / "templates"), encoding="utf-8"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
    cache_size=-1,
)
# No scripts at all; styles and images only from here; never framed; the portal's token is in
# its URL, so no Referer leaves with it.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


# Ids in paths: a database integer (a larger number would overflow the driver, not miss a row).
DbId = Annotated[int, FastPath(ge=1, le=2**31 - 1)]


def small_id(text: str) -> int | None:
    """An id typed into a query or a form field, if it can be one."""
    return int(text) if text.isdigit() and 0 < len(text) <= 9 and int(text) > 0 else None


class PageError(Exception):
    """Refused with a page that says why (in Chinese), and an HTTP status."""

    def __init__(self, message: str, status: int = 400, title: str = "无法完成") -> None:
        super().__init__(message)
        self.status, self.title = status, title


@dataclass(frozen=True)
class Web:
    """What the pages share: the secret, the evidence store, the limits."""

    secret: bytes
    store: EvidenceStore
    secure_cookies: bool


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every response (a plain ASGI middleware: no per-request task)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((k, v) for k, v in self.extra if k not in have),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


@cache
def template(name: str) -> jinja2.Template:
    """A template, loaded and compiled on first use."""
    return TEMPLATES.get_template(name)


def render_page(name: str, context: dict[str, Any]) -> str:
    """One template rendered."""
    return template(name).render(context)


def page(name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render one template to a response."""
    return HTMLResponse(render_page(name, context), status_code=status)


# A request holds one pooled connection from its first read to its response (across the thread
# hops of its dependencies and handler). SQLAlchemy's default pool keeps 5 and closes the
# overflow on return, so at 20 clients most requests opened a PostgreSQL session (a fork and a
# login): 108 sessions for 200 portal requests. The pages' pool keeps as many as that many
# clients use at once.
WEB_POOL = 20


def web_engine() -> Engine:
    """The pages' engine: on PostgreSQL a pool that keeps `WEB_POOL` connections."""
    engine = runtime.engine()
    if engine.dialect.name != "postgresql":
        return engine
    return _pooled(runtime.settings().resolved_database_url)


@cache
def _pooled(url: str) -> Engine:
    from models.db import make_engine

    pooled = make_engine(url, pool_size=WEB_POOL, max_overflow=WEB_POOL)
    runtime.keep_engine(pooled)  # disposed of by runtime.reset(), as the others
    return pooled


@cache
def _autocommit(engine: Engine) -> Engine:
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def db() -> Iterator[Session]:
    """One transaction per request (committed when the handler returns normally). The pages
    that only read use `read_session` instead."""
    with session_scope(web_engine()) as session:
        yield session


@contextmanager
def read_session() -> Iterator[Session]:
    """A session for a page that only reads, in autocommit: under READ COMMITTED each statement
    takes its own snapshot inside a transaction too, so BEGIN and COMMIT would only add two
    round trips to the database (measured in docs/benchmarks.md, "The pages under load")."""
    with Session(_autocommit(web_engine())) as session:
        yield session


R = TypeVar("R")


async def in_thread(work: Callable[..., R], *args: Any) -> R:
    """`work(*args)` in the thread pool, in one hop.

    FastAPI runs each synchronous dependency and handler in the pool separately: the session,
    the person behind the cookie or link, the handler, and the session's closing were four hops
    of about 150 µs of CPU each (measured). The busiest pages (the portal's list, the queue, the
    dashboard) are `async` and do all their work in one hop through this."""
    return await run_in_threadpool(work, *args)


def web_state(request: Request) -> Web:
    """The app's shared state."""
    return request.app.state.web  # type: ignore[no-any-return]


def create_app() -> FastAPI:
    """The ASGI app (`duban web` serves it; tests start it the same way)."""
    from duban.web import api, calendar, office, office_auth, portal, reports
    from models.tokens import load_secret
    from notify.mask import install_log_masking

    install_log_masking()  # the server's logs (request lines carry portal paths, errors URLs)

    from duban.web.page_cache import PAGES

    st = runtime.settings()
    PAGES.clear()
    PAGES.budget = int(st.page_cache_mb * 1024 * 1024)
    runtime.migrated_engine()  # once, at start: requests then use the plain engine

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        runtime.reset()
        _pooled.cache_clear()

    # No Swagger UI: it loads its assets from a CDN. The OpenAPI document is served as JSON.
    app = FastAPI(
        title="duban 督办 API",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.web = Web(
        secret=load_secret(st.home, st.secret_key),
        store=runtime.evidence_store(),
        secure_cookies=st.portal_url.startswith("https://"),
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(portal.router)
    app.include_router(office_auth.router)
    app.include_router(office.router)
    app.include_router(reports.router)
    app.include_router(calendar.router)
    app.include_router(api.router)

    app.add_middleware(SecurityHeaders)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return page(
            "error.html.j2",
            {"title": exc.title, "message": str(exc), "status": exc.status},
            exc.status,
        )

    @app.exception_handler(office_auth.LoginNeeded)
    async def login_needed(request: Request, exc: office_auth.LoginNeeded) -> Response:
        return office_auth.login_redirect(str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
        return page(
            "error.html.j2", {"title": "出错了", "message": "没有这个页面。", "status": 404}, 404
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        message = {404: "没有这个页面。", 405: "不支持这种请求。"}.get(
            exc.status_code, "请求有误。"
        )
        return page(
            "error.html.j2",
            {"title": "出错了", "message": message, "status": exc.status_code},
            exc.status_code,
        )

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/office", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> Response:
        return Response("ok", media_type="text/plain")

    return app

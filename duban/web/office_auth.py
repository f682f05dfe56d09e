"""Office login: accounts from `duban users add`, a session cookie, CSRF on every form, lock-out.

The cookie (HttpOnly, SameSite=Strict, Secure behind https) names a stored session (only its
SHA-256 is kept) with the CSRF token every form of the console carries; the login form itself
uses a double-submit value. `leader` accounts read and never act.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from duban import runtime
from duban.web.app import PageError, db, page, web_state
from duban.web.forms import Form, FormError, read_form, run_in_transaction
from models.people import UserAccount, WebSession
from models.repo.accounts import (
    AccountError,
    Lockout,
    check_login,
    close_session,
    open_session,
    read_session,
)

router = APIRouter(include_in_schema=False)
COOKIE = "duban_session"
LOGIN_COOKIE = "duban_login"


class LoginNeeded(Exception):
    """No live session: go to the login page (and come back)."""


@dataclass(frozen=True)
class Clerk:
    """The logged-in person."""

    user: UserAccount
    session: WebSession

    @property
    def name(self) -> str:
        """The name the audit log records."""
        return self.user.display_name or self.user.login

    @property
    def can_act(self) -> bool:
        """Leaders read only."""
        return self.user.role == "office"


def clerk(request: Request, session: Session = Depends(db)) -> Clerk:
    """The person behind the session cookie, or a redirect to the login page."""
    found = read_session(session, request.cookies.get(COOKIE, ""), runtime.current_time())
    if found is None:
        raise LoginNeeded(request.url.path)
    return Clerk(found[1], found[0])


@router.get("/office/login")
def login_page(next: str = "/office", error: str = "") -> Response:
    """The login form (with a double-submit CSRF value before any session exists)."""
    key = secrets.token_urlsafe(24)
    response = page(
        "office/login.html.j2",
        {
            "csrf": key,
            "next": safe_next(next),
            "error": error,
            "office": runtime.settings().office_name,
        },
    )
    response.set_cookie(LOGIN_COOKIE, key, httponly=True, samesite="strict", path="/office")
    return response


def safe_next(target: str) -> str:
    """Where to go after logging in: a console page of this site, nothing else."""
    ok = target.startswith("/office") and "//" not in target and "\\" not in target
    return target if ok and target.isprintable() and len(target) < 500 else "/office"


@router.post("/office/login")
async def login(request: Request) -> Response:
    """Check the password (lock-out after repeated failures) and open a session."""
    web = web_state(request)
    form = await read_body(request)
    if not hmac.compare_digest(form.get("csrf"), request.cookies.get(LOGIN_COOKIE, "") or "-"):
        raise PageError(
            "页面已过期或来源不明（安全校验未通过），请重新打开登录页。", 403, "无法登录"
        )
    st = runtime.settings()
    now = runtime.current_time()
    source = request.client.host if request.client else "?"

    def work(s: Session) -> tuple[str | None, str]:  # (the session cookie, else the error)
        try:
            user = check_login(
                session=s,
                login=form.get("login"),
                password=form.get("password"),
                now=now,
                lockout=Lockout(st.login_max_failures, st.login_lock_minutes),
                source=source,
            )
        except AccountError as exc:
            return None, str(exc)
        return open_session(session=s, user=user, now=now, hours=st.session_hours)[0], ""

    cookie, error = await run_in_transaction(work)  # argon2 and the writes: off the loop
    if cookie is None:  # the failure was committed (it counts towards the lock-out)
        response = login_page(safe_next(form.get("next")), error)
        response.status_code = 401
        return response
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        path="/",
        secure=web.secure_cookies,
        max_age=int(st.session_hours * 3600),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/office")
    return response


@router.post("/office/logout")
async def logout(request: Request, who: Clerk = Depends(clerk)) -> Response:
    """End the session."""
    form = await read_body(request)
    check_csrf(form, who)
    cookie = request.cookies.get(COOKIE, "")
    await run_in_transaction(lambda s: close_session(s, cookie))
    response = RedirectResponse("/office/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def read_body(request: Request) -> Form:
    try:
        return await read_form(request)
    except FormError as exc:
        raise PageError(str(exc), exc.status) from exc


async def action_form(request: Request, who: Clerk) -> Form:
    """A console action's form: read, its CSRF value checked, leaders refused."""
    form = await read_body(request)
    check_csrf(form, who)
    must_act(who)
    return form


def check_csrf(form: Form, who: Clerk) -> None:
    if not hmac.compare_digest(form.get("csrf"), who.session.csrf):
        raise PageError(
            "页面已过期或来源不明（安全校验未通过），请刷新页面后再提交。", 403, "未能提交"
        )


def must_act(who: Clerk) -> None:
    if not who.can_act:
        raise PageError("领导账号为只读，不能办理。", 403, "无权操作")


def login_redirect(path: str) -> Response:
    """Where `LoginNeeded` sends the browser."""
    return RedirectResponse(f"/office/login?next={quote(path)}", status_code=303)

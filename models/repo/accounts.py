"""Office accounts: argon2 password hashes, lock-out after repeated failures, browser sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete, select

from models.people import USER_ROLES, UserAccount, WebSession
from models.repo.audit import record_event
from models.types import clean_text
from schedules.clock import OFFICE_TZ

_HASHER = PasswordHasher()
# Verified against when the login names nobody, so an unknown name costs as long as a known one.
_DUMMY = _HASHER.hash("duban-no-such-user")
MIN_PASSWORD = 10


class AccountError(ValueError):
    """An account operation or a login refused; the message is for the person."""


@dataclass(frozen=True)
class Lockout:
    """How many consecutive failures lock an account, and for how long."""

    max_failures: int = 5
    minutes: int = 15


def add_user(
    *,
    session: Session,
    login: str,
    password: str,
    role: str,
    display_name: str,
    now: datetime,
    by: str,
) -> UserAccount:
    """Create an account (role office or leader)."""
    login = login.strip()
    if not login or len(login) > 100:
        raise AccountError("登录名不能为空（最多 100 个字符）")
    if role not in USER_ROLES:
        raise AccountError(f"角色应为 {' 或 '.join(USER_ROLES)}，收到 {role!r}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符")
    if session.exec(select(UserAccount).where(UserAccount.login == login)).first():
        raise AccountError(f"登录名 {login} 已存在")
    user = UserAccount(
        login=login,
        display_name=display_name.strip() or login,
        role=role,
        password_hash=_HASHER.hash(password),
        created_at=now,
    )
    session.add(user)
    session.flush()
    _audit(session, user, "user_added", by, now, data={"role": role})
    return user


def set_password(
    *, session: Session, login: str, password: str, now: datetime, by: str
) -> UserAccount:
    """Replace the password; unlocks the account and ends its sessions."""
    user = _get(session, login)
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符")
    user.password_hash = _HASHER.hash(password)
    user.failed_logins, user.locked_until = 0, None
    session.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))
    _audit(session, user, "password_set", by, now)
    return user


def unlock_user(*, session: Session, login: str, now: datetime, by: str) -> UserAccount:
    """Lift a lock-out."""
    user = _get(session, login)
    user.failed_logins, user.locked_until = 0, None
    _audit(session, user, "unlocked", by, now)
    return user


def set_active(
    *, session: Session, login: str, active: bool, now: datetime, by: str
) -> UserAccount:
    """Disable (sessions ended) or re-enable an account."""
    user = _get(session, login)
    user.active = active
    if not active:
        session.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))
    _audit(session, user, "enabled" if active else "disabled", by, now)
    return user


def _get(session: Session, login: str) -> UserAccount:
    user = session.exec(select(UserAccount).where(UserAccount.login == login)).first()
    if user is None:
        raise AccountError(f"没有登录名为 {login} 的账号")
    return user


def _audit(
    session: Session,
    user: UserAccount,
    action: str,
    by: str,
    now: datetime,
    data: dict[str, object] | None = None,
) -> None:
    record_event(
        session=session,
        at=now,
        actor=by,
        entity="user_account",
        entity_id=user.id,
        action=action,
        data={"login": user.login, **(data or {})},
    )


def check_login(
    *, session: Session, login: str, password: str, now: datetime, lockout: Lockout, source: str
) -> UserAccount:
    """The account if the password is right and it is not locked; counts and audits failures.

    The caller commits either way: a failed attempt must be recorded (that is the lock-out).
    """
    login = clean_text(login).strip()
    user = session.exec(select(UserAccount).where(UserAccount.login == login)).first()
    if user is None or not user.active:
        _verify(_DUMMY, password)
        record_event(
            session=session,
            at=now,
            actor=f"web:{source}",
            entity="user_account",
            entity_id=user.id if user else None,
            action="login_failed",
            data={"login": login[:100], "why": "unknown" if user is None else "disabled"},
        )
        raise AccountError("用户名或密码错误")
    if user.locked_until is not None and user.locked_until > now:
        until = user.locked_until.astimezone(OFFICE_TZ).strftime("%H:%M")
        _audit(session, user, "login_refused_locked", f"web:{source}", now)
        raise AccountError(f"登录失败次数过多，账号已锁定，请于 {until} 后再试或联系管理员解锁")
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        locked = user.failed_logins >= lockout.max_failures
        if locked:
            user.locked_until = now + timedelta(minutes=lockout.minutes)
            user.failed_logins = 0
        _audit(session, user, "login_failed", f"web:{source}", now, data={"locked": locked})
        if locked:
            raise AccountError(
                f"登录失败次数过多，账号已锁定 {lockout.minutes} 分钟，请稍后再试或联系管理员解锁"
            )
        raise AccountError("用户名或密码错误")
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    _audit(session, user, "logged_in", user.display_name, now, data={"from": source})
    return user


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def open_session(
    *, session: Session, user: UserAccount, now: datetime, hours: float
) -> tuple[str, WebSession]:
    """A new browser session: returns the cookie value (only its hash is stored) and the row."""
    cookie = secrets.token_urlsafe(32)
    row = WebSession(
        token_sha256=_sha(cookie),
        user_id=user.id or 0,
        csrf=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(row)
    session.flush()
    return cookie, row


def read_session(
    session: Session, cookie: str, now: datetime
) -> tuple[WebSession, UserAccount] | None:
    """The live session and its account behind a cookie, or None."""
    if not cookie:
        return None
    found = session.exec(
        select(WebSession, UserAccount)
        .join(UserAccount, col(UserAccount.id) == col(WebSession.user_id))
        .where(WebSession.token_sha256 == _sha(cookie))
    ).first()
    if found is None or found[0].expires_at <= now or not found[1].active:
        return None
    return found[0], found[1]


def close_session(session: Session, cookie: str) -> None:
    """Log out: forget the session."""
    session.exec(delete(WebSession).where(col(WebSession.token_sha256) == _sha(cookie)))


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()

"""`duban users …` (office accounts for the console) and `duban portal …` (units' links)."""

from __future__ import annotations

import sys
from datetime import timedelta

import typer

from duban import runtime
from duban.cli.common import fail, print_json
from duban.cli.zh import DubanTyper

users = DubanTyper()
portal = DubanTyper()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码"))


@users.command("add")
def add_cmd(
    login: str = typer.Argument(..., help="登录名"),
    role: str = typer.Option(
        "office", "--role", help="office（办公室，可操作）| leader（领导，只读）"
    ),
    name: str = typer.Option("", "--name", help="姓名（记入操作记录），默认同登录名"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="从标准输入读一行作为密码"),
) -> None:
    """新建控制台账号（密码以 argon2 散列保存）。"""
    from models.repo.accounts import AccountError, add_user

    password = _password(password_stdin)
    try:
        with runtime.transaction() as s:
            user = add_user(
                session=s,
                login=login,
                password=password,
                role=role,
                display_name=name,
                now=runtime.current_time(),
                by=runtime.actor(),
            )
            typer.echo(f"已新建账号 {user.login}（{user.display_name}，角色 {user.role}）")
    except AccountError as exc:
        fail(str(exc))


@users.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="以 JSON 输出")) -> None:
    """列出控制台账号。"""
    from sqlmodel import col, select

    from models.people import UserAccount

    with runtime.transaction() as s:
        rows = [
            {
                "login": u.login,
                "name": u.display_name,
                "role": u.role,
                "active": u.active,
                "locked_until": u.locked_until.isoformat() if u.locked_until else None,
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            }
            for u in s.exec(select(UserAccount).order_by(col(UserAccount.login))).all()
        ]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        state = "停用" if not r["active"] else ("锁定" if r["locked_until"] else "正常")
        typer.echo(f"{r['login']}\t{r['name']}\t{r['role']}\t{state}")
    typer.echo(f"共 {len(rows)} 个账号")


def _account_op(op: object, login: str, **kw: object) -> None:
    from models.repo.accounts import AccountError

    try:
        with runtime.transaction() as s:
            user = op(session=s, login=login, now=runtime.current_time(), by=runtime.actor(), **kw)  # type: ignore[operator]
            typer.echo(f"账号 {user.login}: 已更新")
    except AccountError as exc:
        fail(str(exc))


@users.command("passwd")
def passwd_cmd(
    login: str = typer.Argument(...),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="从标准输入读取新密码（不显示在命令行）"
    ),
) -> None:
    """重设密码（同时解锁并结束该账号的已登录会话）。"""
    from models.repo.accounts import set_password

    _account_op(set_password, login, password=_password(password_stdin))


@users.command("unlock")
def unlock_cmd(login: str = typer.Argument(...)) -> None:
    """解除登录失败造成的锁定。"""
    from models.repo.accounts import unlock_user

    _account_op(unlock_user, login)


@users.command("disable")
def disable_cmd(login: str = typer.Argument(...)) -> None:
    """停用账号（已登录的会话随即失效）。"""
    from models.repo.accounts import set_active

    _account_op(set_active, login, active=False)


@users.command("enable")
def enable_cmd(login: str = typer.Argument(...)) -> None:
    """重新启用账号。"""
    from models.repo.accounts import set_active

    _account_op(set_active, login, active=True)


def unit_link(unit_id: int, days: int | None = None) -> str:
    """A fresh portal link for a unit (as messages carry), under DUBAN_PORTAL_URL."""
    from models.tokens import load_secret, mint_unit_token

    st = runtime.settings()
    now = runtime.current_time()
    token = mint_unit_token(
        load_secret(st.home, st.secret_key),
        unit_id,
        issued=now,
        expires=now + timedelta(days=days or st.portal_link_days),
    )
    base = (st.portal_url or f"http://{st.web_host}:{st.web_port}").rstrip("/")
    return f"{base}/u/{token}"


@portal.command("link")
def link_cmd(
    unit: str = typer.Argument(..., help="单位名称"),
    days: int = typer.Option(None, "--days", help="有效天数（默认 DUBAN_PORTAL_LINK_DAYS）"),
) -> None:
    """给一个单位生成门户链接（与消息中的链接相同：签名、限期、可停用）。"""
    from models.repo.units import find_unit

    with runtime.transaction() as s:
        u = find_unit(session=s, name=unit)
        if u is None:
            fail(f"没有名为“{unit}”的单位")
        uid = u.id or 0
    typer.echo(unit_link(uid, days))


@portal.command("revoke")
def revoke_cmd(
    unit: str = typer.Argument(..., help="单位名称"),
    link: str = typer.Option(
        "", "--link", help="只停用这一个链接（默认停用该单位此前发出的全部链接）"
    ),
    reason: str = typer.Option("", "--reason", metavar="原因", help="停用原因（记入审计日志）"),
) -> None:
    """停用单位的门户链接（链接外泄、联络员更换时）。之后发出的消息带新链接。"""
    from models.repo.portal import revoke_links
    from models.repo.units import find_unit
    from models.tokens import TokenError, load_secret, read_unit_token

    st = runtime.settings()
    now = runtime.current_time()
    with runtime.transaction() as s:
        u = find_unit(session=s, name=unit)
        if u is None:
            fail(f"没有名为“{unit}”的单位")
        token = None
        if link:
            try:
                token = read_unit_token(
                    load_secret(st.home, st.secret_key),
                    link.rstrip("/").split("/u/")[-1].split("/")[0],
                    now=now,
                )
            except TokenError as exc:
                fail(str(exc))
            if token.unit_id != u.id:
                fail(f"该链接不属于“{unit}”")
        revoke_links(
            session=s, unit_id=u.id or 0, by=runtime.actor(), now=now, token=token, reason=reason
        )
    typer.echo(f"已停用“{unit}”的{'该链接' if link else '全部已发出链接'}")

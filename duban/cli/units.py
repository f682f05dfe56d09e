"""`duban units …`: the unit directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from duban import runtime
from duban.cli.common import fail, json_option, print_json
from duban.cli.zh import DubanTyper
from duban.labels import CHANNEL_LABEL, UNIT_KIND_LABEL, UNIT_STATUS_LABEL
from notify.mask import mask_secret, mask_url

if TYPE_CHECKING:
    from sqlmodel import Session

    from models.directory import Unit

app = DubanTyper()


@app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., metavar="文件", help="单位目录文件：.yaml / .csv / .xlsx"),
) -> None:
    """导入单位目录（可重复导入：相同文件不产生变化，修改后的文件就地更新）。"""
    from duban.directory import DirectoryError, load_directory
    from models.repo.units import apply_directory

    try:
        spec = load_directory(file)
    except DirectoryError as exc:
        fail(str(exc))
    from sqlmodel import col, select

    from models.directory import Unit

    with runtime.transaction() as session:
        waiting = set(
            session.exec(
                select(Unit.id).where(Unit.status == "pending", Unit.kind == "leader")
            ).all()
        )
        report = apply_directory(
            session=session, spec=spec, now=runtime.current_time(), actor=runtime.actor()
        )
        session.flush()
        joined = {
            u.id: u.name
            for u in session.exec(
                select(Unit).where(col(Unit.id).in_(waiting), Unit.status == "active")
            ).all()
            if u.id is not None
        }
    typer.echo(
        f"{file}: 单位 {len(spec.units)} 个（新增 {len(report.created)}，更新 {len(report.updated)}，"
        f"未变 {len(report.unchanged)}）；分组 {len(spec.groups)} 个（新增 {len(report.groups_created)}，"
        f"更新 {len(report.groups_updated)}）"
    )
    if joined:
        _send_to_joined_leaders(joined)


def _send_to_joined_leaders(joined: dict[int, str]) -> None:
    """Leaders that were pending and are now in the directory: what is still pending for them."""
    from flows.digests import leaders_joined

    out = leaders_joined(runtime.current_time(), set(joined))
    names = "、".join(sorted(joined.values()))
    if not out["notices"]:
        typer.echo(f"已补充领导 {names}：目前没有需要报领导的督办事项")
        return
    text = f"已补充领导 {names}：补发待报领导的督办事项 {out['items']} 项，送达 {out['delivered']}/{out['notices']} 份"
    if out["undelivered"]:
        text += f"；未送达: {'、'.join(out['undelivered'])}"
    typer.echo(text)


def describe_unit(session: Session, unit: Unit) -> dict[str, Any]:
    """A unit as shown to the office: secrets masked."""
    from sqlmodel import col, select

    from models.directory import Channel, Contact, GroupMember, Unit, UnitAlias, UnitGroup

    aliases = session.exec(select(UnitAlias.alias).where(UnitAlias.unit_id == unit.id)).all()
    contacts = session.exec(
        select(Contact).where(Contact.unit_id == unit.id).order_by(col(Contact.id))
    ).all()
    channels = session.exec(
        select(Channel).where(Channel.unit_id == unit.id).order_by(col(Channel.id))
    ).all()
    groups = session.exec(
        select(UnitGroup.name)
        .join(GroupMember, col(GroupMember.group_id) == col(UnitGroup.id))
        .where(GroupMember.unit_id == unit.id)
    ).all()
    parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
    return {
        "name": unit.name,
        "kind": unit.kind,
        "status": unit.status,
        "aliases": sorted(aliases),
        "parent": parent.name if parent else None,
        "groups": sorted(groups),
        "contacts": [
            {"name": c.name, "role": c.role, "email": c.email, "mobile": c.mobile} for c in contacts
        ],
        "channels": [
            {
                "type": c.type,
                "url": mask_url(c.url) if c.url else "",
                "secret": mask_secret(c.secret),
                "enabled": c.enabled,
                "failing": c.failing,
            }
            for c in channels
        ],
    }


@app.command("list")
def list_cmd(
    missing_contacts: bool = typer.Option(
        False, "--missing-contacts", help="只列出没有联系人或邮箱的单位"
    ),
    as_json: bool = json_option(),
) -> None:
    """列出目录中的单位。"""
    from sqlmodel import col, select

    from models.directory import Unit

    with runtime.transaction() as session:
        units = session.exec(select(Unit).order_by(col(Unit.name))).all()
        rows = [describe_unit(session, u) for u in units]
    if missing_contacts:
        rows = [r for r in rows if not any(c["email"] or c["mobile"] for c in r["contacts"])]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        flag = "（待补充）" if r["status"] == "pending" else ""
        kinds = sorted({c["type"] for c in r["channels"]})
        reach = "、".join(CHANNEL_LABEL.get(k, k) for k in kinds) or "无渠道"
        kind = UNIT_KIND_LABEL.get(r["kind"], r["kind"])
        typer.echo(f"{r['name']}{flag}\t{kind}\t联系人 {len(r['contacts'])}\t{reach}")
    typer.echo(f"共 {len(rows)} 个单位")


@app.command("show")
def show_cmd(
    name: str = typer.Argument(..., metavar="名称", help="单位或分组的名称（可用别名）"),
    as_json: bool = json_option(),
) -> None:
    """查看一个单位（可用别名）或一个分组（列出成员）。"""
    from models.repo.units import find_group, find_unit, group_members

    with runtime.transaction() as session:
        unit = find_unit(session=session, name=name.strip())
        if unit is not None:
            info: dict[str, Any] = {"type": "unit", **describe_unit(session, unit)}
        else:
            group = find_group(session=session, name=name.strip())
            if group is None:
                fail(f"目录中没有名为“{name}”的单位或分组")
            members = [u.name for u in group_members(session=session, group=group)]
            info = {
                "type": "group",
                "name": group.name,
                "aliases": group.aliases,
                "status": group.status,
                "members": members,
            }
    if as_json:
        print_json(info)
        return
    _print_info(info)


def _print_info(info: dict[str, Any]) -> None:
    if info["type"] == "group":
        typer.echo(f"分组 {info['name']}（{len(info['members'])} 个成员）")
        for m in info["members"]:
            typer.echo(f"  - {m}")
        return
    kind = UNIT_KIND_LABEL.get(info["kind"], info["kind"])
    status = UNIT_STATUS_LABEL.get(info["status"], info["status"])
    typer.echo(f"单位 {info['name']}  类型 {kind}  状态 {status}")
    if info["aliases"]:
        typer.echo(f"  别名: {'、'.join(info['aliases'])}")
    if info["parent"]:
        typer.echo(f"  上级: {info['parent']}")
    if info["groups"]:
        typer.echo(f"  分组: {'、'.join(info['groups'])}")
    for c in info["contacts"]:
        typer.echo(
            f"  联系人 {c['name']}（{c['role']}） {c['email'] or ''} {c['mobile'] or ''}".rstrip()
        )
    for ch in info["channels"]:
        secret = f" 密钥 {ch['secret']}" if ch["secret"] else ""
        off = "（已停用）" if not ch["enabled"] else ""
        kind = CHANNEL_LABEL.get(ch["type"], ch["type"])
        typer.echo(f"  渠道 {kind}{off} {ch['url']}{secret}".rstrip())

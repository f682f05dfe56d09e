"""Read a unit directory file (YAML, CSV or XLSX) into validated specs; errors name file and row.

YAML form: see examples/units.yaml. CSV/XLSX carry the same fields as columns, one contact or
channel per row; rows repeating a unit's name add to that unit:

    单位 | 别名 | 类型 | 上级 | 分组 | 联系人 | 角色 | 邮箱 | 手机 | 渠道 | 渠道地址 | 密钥
    name | aliases | kind | parent | groups | contact | role | email | mobile | channel | url | secret

别名 and 分组 list several values separated by 、 ; or ,.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from duban.labels import CHANNEL_LABEL, UNIT_KIND_LABEL, channel_type, describe_choices, unit_kind
from intake import limits
from intake.errors import IntakeError
from intake.limits import check_formulas, check_package, read_limited
from models.directory import CHANNEL_TYPES, CONTACT_ROLES, UNIT_KINDS
from models.directory_spec import ChannelSpec, ContactSpec, DirectorySpec, GroupSpec, UnitSpec
from notify.mask import mask_url
from schedules.yaml_safe import compose_bounded, load_bounded


class DirectoryError(ValueError):
    """A directory file cannot be used; the message names the file and the row."""

    def __init__(self, path: Path | str, where: str | None, message: str) -> None:
        self.path, self.where = str(path), where
        super().__init__(f"{path}{'，' + where if where else ''}: {message}")


# The local part is RFC 5322's dot-atom (no quotes, commas or brackets: `x,attacker"@…` would
# reach a second mailbox through a header), letters of any script allowed.
EMAIL_RE = re.compile(
    r"^[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
MOBILE_RE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")
LIST_SPLIT = re.compile(r"[、;；,，]\s*")
COLUMNS = {
    "name": ("单位", "单位名称", "name", "unit"),
    "aliases": ("别名", "aliases", "alias"),
    "kind": ("类型", "kind"),
    "parent": ("上级", "上级单位", "parent"),
    "groups": ("分组", "所属分组", "groups"),
    "note": ("备注", "note"),
    "contact": ("联系人", "contact", "contact_name"),
    "role": ("角色", "role", "contact_role"),
    "email": ("邮箱", "email"),
    "mobile": ("手机", "mobile"),
    "channel": ("渠道", "channel", "channel_type"),
    "url": ("渠道地址", "url", "channel_url"),
    "secret": ("密钥", "secret", "channel_secret"),
}


def clean_name(value: Any) -> str:
    """Strip spaces (including full-width) that copy-paste leaves inside unit names."""
    return re.sub(r"[\s\u3000]+", "", str(value or ""))


def split_list(value: Any) -> list[str]:
    """Split '区应急管理局、应急局' or a YAML list into clean names."""
    items = value if isinstance(value, list) else LIST_SPLIT.split(str(value or ""))
    return [n for n in (clean_name(i) for i in items) if n]


def load_directory(path: Path) -> DirectorySpec:
    """Read and validate a directory file; raises DirectoryError naming file and row."""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv", ".xlsx"):
        raise DirectoryError(
            path, None, f"不支持的文件格式 {suffix or '(无扩展名)'}（支持 .yaml .csv .xlsx）"
        )
    try:
        data = read_limited(path, what="目录文件")
        if suffix == ".xlsx":
            check_package(path)
            check_formulas(path)
    except IntakeError as exc:
        raise DirectoryError(path, None, exc.message) from exc
    if not data.strip():
        raise DirectoryError(path, None, "文件为空")
    if suffix in (".yaml", ".yml"):
        spec = _from_yaml(path, data)
    else:
        spec = _from_rows(
            path, _xlsx_rows(path, data) if suffix == ".xlsx" else _csv_rows(path, data)
        )
    validate(spec)
    return spec


def _text(path: Path, data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DirectoryError(path, None, "文件不是文本（无法按 UTF-8 或 GB18030 解码）")


def _from_yaml(path: Path, data: bytes) -> DirectorySpec:
    try:
        budget = limits.current().yaml_nodes
        root = compose_bounded(_text(path, data), budget)
        doc = load_bounded(_text(path, data), budget)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else None
        raise DirectoryError(path, where, f"YAML 格式错误: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(doc, dict) or not ({"units", "groups"} & set(doc)):
        raise DirectoryError(path, None, "YAML 顶层应包含 units: 和/或 groups: 列表")
    lines = _yaml_item_lines(root)
    spec = DirectorySpec(path=str(path))
    for i, item in enumerate(doc.get("units") or []):
        where = f"第 {lines.get(('units', i), '?')} 行（units 第 {i + 1} 项）"
        spec.units.append(_unit_from_mapping(path, where, item))
    for i, item in enumerate(doc.get("groups") or []):
        where = f"第 {lines.get(('groups', i), '?')} 行（groups 第 {i + 1} 项）"
        if not isinstance(item, dict):
            raise DirectoryError(path, where, "每个分组应是一个映射 {name:, members: [...]}")
        spec.groups.append(
            GroupSpec(
                name=clean_name(item.get("name")),
                where=where,
                members=split_list(item.get("members") or []),
                aliases=split_list(item.get("aliases") or []),
                note=str(item.get("note") or ""),
            )
        )
    return spec


def _yaml_item_lines(root: Any) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(value, yaml.SequenceNode):
                for i, node in enumerate(value.value):
                    out[(str(key.value), i)] = node.start_mark.line + 1
    return out


def _unit_from_mapping(path: Path, where: str, item: Any) -> UnitSpec:
    if not isinstance(item, dict):
        raise DirectoryError(path, where, "每个单位应是一个映射 {name:, kind:, contacts: [...]}")
    unit = UnitSpec(
        name=clean_name(item.get("name")),
        where=where,
        kind=unit_kind(str(item.get("kind") or "other")),
        aliases=split_list(item.get("aliases") or []),
        parent=clean_name(item.get("parent")) or None,
        note=str(item.get("note") or ""),
    )
    for c in item.get("contacts") or []:
        if not isinstance(c, dict):
            raise DirectoryError(path, where, "contacts 的每一项应是映射 {name:, role:, email:}")
        unit.contacts.append(
            _contact(c.get("name"), c.get("role"), c.get("email"), c.get("mobile"))
        )
    for ch in item.get("channels") or []:
        if not isinstance(ch, dict):
            raise DirectoryError(path, where, "channels 的每一项应是映射 {type:, url:}")
        unit.channels.append(
            ChannelSpec(
                type=channel_type(str(ch.get("type") or "")),
                url=str(ch.get("url") or "").strip(),
                secret=(str(ch["secret"]).strip() or None) if ch.get("secret") else None,
                enabled=_enabled(path, where, ch.get("enabled", True)),
            )
        )
    return unit


_TRUE = {"true", "yes", "on", "1", "是", "启用", "开"}
_FALSE = {"false", "no", "off", "0", "否", "停用", "关", "禁用"}


def _enabled(path: Path, where: str, value: Any) -> bool:
    """`enabled:` true/false (or 是/否, 启用/停用); a quoted "false" is false, anything else refused."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise DirectoryError(
        path, where, f"渠道的 enabled 应为 true 或 false（或 是/否），实际为 {value!r}"
    )


def _contact(name: Any, role: Any, email: Any, mobile: Any) -> ContactSpec:
    return ContactSpec(
        name=clean_name(name),
        role=clean_name(role) or "联络员",
        email=str(email).strip() or None if email else None,
        mobile=str(mobile).strip() or None if mobile else None,
    )


def _csv_rows(path: Path, data: bytes) -> list[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(_text(path, data), newline=""))
    rows = []
    try:
        for r in reader:
            rows.append(r)
            _check_rows(path, len(rows))
    except csv.Error as exc:
        raise DirectoryError(path, f"第 {reader.line_num} 行", f"CSV 格式错误（{exc}）") from exc
    return _map_header(path, rows, first_line=1)


def _xlsx_rows(path: Path, data: bytes) -> list[tuple[int, dict[str, str]]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise DirectoryError(path, None, f"无法读取 XLSX: {exc}") from exc
    rows = []
    for r in wb.worksheets[0].iter_rows(values_only=True):
        rows.append(["" if v is None else str(v) for v in r])
        _check_rows(path, len(rows))
    return _map_header(path, rows, first_line=1)


def _check_rows(path: Path, count: int) -> None:
    try:
        limits.check_rows(path, count)
    except IntakeError as exc:
        raise DirectoryError(path, f"第 {count} 行", exc.message) from exc


def _map_header(
    path: Path, rows: list[list[str]], first_line: int
) -> list[tuple[int, dict[str, str]]]:
    if not rows:
        raise DirectoryError(path, None, "文件为空")
    header = [clean_name(h).lower() for h in rows[0]]
    index: dict[str, int] = {}
    for key, names in COLUMNS.items():
        for i, h in enumerate(header):
            if h in {n.lower() for n in names}:
                index[key] = i
    if "name" not in index:
        raise DirectoryError(
            path, "第 1 行", f"表头缺少“单位”列（可用列名: {', '.join(COLUMNS['name'])}）"
        )
    out = []
    for n, row in enumerate(rows[1:], start=first_line + 1):
        if not any(str(c).strip() for c in row):
            continue
        out.append((n, {k: (row[i].strip() if i < len(row) else "") for k, i in index.items()}))
    return out


def _from_rows(path: Path, rows: list[tuple[int, dict[str, str]]]) -> DirectorySpec:
    spec = DirectorySpec(path=str(path))
    units: dict[str, UnitSpec] = {}
    groups: dict[str, GroupSpec] = {}
    for line, row in rows:
        where = f"第 {line} 行"
        name = clean_name(row.get("name"))
        if not name:
            raise DirectoryError(path, where, "缺少单位名称")
        unit = units.get(name)
        if unit is None:
            kind = unit_kind(row.get("kind") or "other")
            unit = units[name] = UnitSpec(name=name, where=where, kind=kind)
            spec.units.append(unit)
        _merge_row(unit, row, where, path)
        for g in split_list(row.get("groups")):
            groups.setdefault(g, GroupSpec(name=g, where=where)).members.append(name)
    spec.groups = list(groups.values())
    return spec


def _merge_row(unit: UnitSpec, row: dict[str, str], where: str, path: Path) -> None:
    for alias in split_list(row.get("aliases")):
        if alias not in unit.aliases:
            unit.aliases.append(alias)
    if row.get("kind"):
        unit.kind = unit_kind(row["kind"])
    if row.get("parent"):
        unit.parent = clean_name(row["parent"])
    if row.get("note"):
        unit.note = row["note"]
    if row.get("contact") or row.get("email") or row.get("mobile"):
        if not row.get("contact"):
            raise DirectoryError(path, where, "联系人的姓名为空（有邮箱或手机但没有姓名）")
        unit.contacts.append(
            _contact(row["contact"], row.get("role"), row.get("email"), row.get("mobile"))
        )
    if row.get("channel"):
        unit.channels.append(
            ChannelSpec(
                type=channel_type(row["channel"]),
                url=row.get("url", ""),
                secret=row.get("secret") or None,
            )
        )


def validate(spec: DirectorySpec) -> None:
    """Check names, kinds, roles, emails, URLs and group members; raise on the first problem."""
    path = spec.path
    seen: dict[str, str] = {}
    first: dict[str, str] = {}
    for unit in spec.units:
        if unit.name and unit.name in first:  # YAML: a second entry would drop the first's contacts
            raise DirectoryError(
                path,
                unit.where,
                f"单位“{unit.name}”重复出现（第一次在{first[unit.name]}），请合并为一项",
            )
        first[unit.name] = unit.where
        _validate_unit(path, unit, seen)
    known = set(seen) | {g.name for g in spec.groups}
    for group in spec.groups:
        if not group.name:
            raise DirectoryError(path, group.where, "分组缺少名称")
        for member in group.members:
            if member not in seen:
                raise DirectoryError(
                    path, group.where, f"分组“{group.name}”的成员“{member}”不是目录中的单位"
                )
    for unit in spec.units:
        if unit.parent and unit.parent not in known:
            raise DirectoryError(path, unit.where, f"上级单位“{unit.parent}”不在目录中")


def _validate_unit(path: str, unit: UnitSpec, seen: dict[str, str]) -> None:
    where = unit.where
    if not unit.name:
        raise DirectoryError(path, where, "缺少单位名称 (name)")
    for n in [unit.name, *unit.aliases]:
        if n in seen and seen[n] != unit.name:
            raise DirectoryError(path, where, f"名称“{n}”已被单位“{seen[n]}”使用")
        seen[n] = unit.name
    if unit.kind not in UNIT_KINDS:
        raise DirectoryError(
            path,
            where,
            f"单位“{unit.name}”的类型 {unit.kind!r} 无效（可选: {describe_choices(UNIT_KIND_LABEL)}）",
        )
    for c in unit.contacts:
        _validate_contact(path, where, unit.name, c)
    for ch in unit.channels:
        _validate_channel(path, where, unit.name, ch)


def _validate_contact(path: str, where: str, unit: str, c: ContactSpec) -> None:
    if not c.name:
        raise DirectoryError(path, where, f"单位“{unit}”有一个联系人缺少姓名")
    if c.role not in CONTACT_ROLES:
        raise DirectoryError(
            path,
            where,
            f"联系人“{c.name}”的角色 {c.role!r} 无效（可选: {' / '.join(CONTACT_ROLES)}）",
        )
    if c.email and not EMAIL_RE.match(c.email):
        raise DirectoryError(path, where, f"联系人“{c.name}”的邮箱地址无效: {c.email!r}")
    if c.mobile and not MOBILE_RE.match(c.mobile):
        raise DirectoryError(path, where, f"联系人“{c.name}”的手机号无效: {c.mobile!r}")


def _validate_channel(path: str, where: str, unit: str, ch: ChannelSpec) -> None:
    if ch.type not in CHANNEL_TYPES:
        raise DirectoryError(
            path,
            where,
            f"单位“{unit}”的渠道类型 {ch.type!r} 无效（可选: {describe_choices(CHANNEL_LABEL)}）",
        )
    if ch.type == "email":
        return
    try:
        parsed = urlparse(ch.url)
        parsed.port  # noqa: B018  (raises on a port out of range or not a number)
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise DirectoryError(
            path,
            where,
            f"单位“{unit}”的{CHANNEL_LABEL.get(ch.type, ch.type)}渠道地址无效: {mask_url(ch.url)!r}"
            "（应为 http(s):// 开头、主机与端口正确的完整地址）",
        )

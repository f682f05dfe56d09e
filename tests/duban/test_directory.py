"""Unit directory import: YAML/CSV/XLSX, idempotent re-import, in-place update, bad input writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from duban import runtime
from duban.cli import app
from models import AuditEvent, Channel, Contact, GroupMember, Unit, UnitAlias, UnitGroup
from models.tables import Delivery
from tests.conftest import EXAMPLES

runner = CliRunner()

SMALL = """
units:
  - name: 区应急局
    aliases: [区应急管理局, 应急局]
    kind: department
    contacts:
      - {name: 张三, role: 联络员, email: zhangsan@example.gov.cn, mobile: "13800000000"}
      - {name: 李四, role: 负责人, email: lisi@example.gov.cn}
    channels:
      - {type: email}
      - {type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=abcdef123456", secret: "SECabcdef123456"}
  - name: 长征镇
    kind: street_town
  - name: 甘泉路街道
    kind: street_town
groups:
  - {name: 各街镇, members: [长征镇, 甘泉路街道]}
"""


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _counts() -> dict[str, int]:
    with Session(runtime.engine()) as s:
        return {
            m.__name__: s.exec(select(func.count()).select_from(m)).one()
            for m in (Unit, UnitAlias, UnitGroup, GroupMember, Contact, Channel)
        }


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


def test_it_imports_the_example_directory_and_resolves_aliases(cli_env: Path) -> None:
    code, out, err = _run("units", "import", str(EXAMPLES / "units.yaml"))
    assert code == 0, err
    assert "新增" in out
    code, out, _ = _run("units", "show", "区应急管理局", "--json")
    info = json.loads(out)
    assert info["name"] == "区应急局" and "各专项整治牵头部门" in info["groups"]
    code, out, _ = _run("units", "show", "各街道（镇）", "--json")
    group = json.loads(out)
    assert group["type"] == "group" and group["name"] == "各街镇" and "长征镇" in group["members"]


def test_it_reimports_the_same_file_without_changes(cli_env: Path) -> None:
    path = _write(cli_env, "units.yaml", SMALL)
    assert _run("units", "import", str(path))[0] == 0
    before = _counts()
    with Session(runtime.engine()) as s:
        audits = s.exec(select(func.count()).select_from(AuditEvent)).one()
    code, out, _ = _run("units", "import", str(path))
    assert code == 0 and "新增 0，更新 0，未变 3" in out
    assert (
        _counts()
        == before
        == {"Unit": 3, "UnitAlias": 2, "UnitGroup": 1, "GroupMember": 2, "Contact": 2, "Channel": 2}
    )
    with Session(runtime.engine()) as s:
        assert s.exec(select(func.count()).select_from(AuditEvent)).one() == audits


def test_it_updates_an_edited_file_in_place(cli_env: Path) -> None:
    path = _write(cli_env, "units.yaml", SMALL)
    _run("units", "import", str(path))
    edited = SMALL.replace("zhangsan@example.gov.cn", "zs2@example.gov.cn").replace(
        "[长征镇, 甘泉路街道]", "[长征镇]"
    )
    path.write_text(edited, encoding="utf-8")
    code, out, _ = _run("units", "import", str(path))
    assert code == 0 and "更新 1" in out
    with Session(runtime.engine()) as s:
        emails = sorted(c.email or "" for c in s.exec(select(Contact)).all())
        assert emails == ["lisi@example.gov.cn", "zs2@example.gov.cn"]
    assert _counts()["Contact"] == 2 and _counts()["GroupMember"] == 1 and _counts()["Unit"] == 3


def test_it_replaces_a_corrected_robot_url_keeping_what_was_sent_through_the_old_one(
    cli_env: Path,
) -> None:
    path = _write(cli_env, "units.yaml", SMALL)
    _run("units", "import", str(path))
    with Session(runtime.engine()) as s:
        old = s.exec(select(Channel).where(Channel.type == "dingtalk")).one()
        at = runtime.current_time()
        s.add(Delivery(key="k-old-robot", batch="b1", channel_id=old.id, unit_id=old.unit_id,
                       stage="remind", channel_type="dingtalk", recipient="robot",
                       status="sent", created_at=at, sent_at=at))  # fmt: skip
        s.commit()
    path.write_text(SMALL.replace("abcdef123456", "fixed7890xyz"), encoding="utf-8")
    code, out, err = _run("units", "import", str(path))
    assert code == 0, out + err
    with Session(runtime.engine()) as s:
        robots = s.exec(select(Channel).where(Channel.type == "dingtalk")).all()
        assert [r.url.rsplit("=", 1)[1] for r in robots] == ["fixed7890xyz"]
        sent = s.exec(select(Delivery).where(Delivery.key == "k-old-robot")).one()
        assert (sent.channel_id, sent.channel_type, sent.status) == (None, "dingtalk", "sent")


def test_it_never_prints_secrets_in_full(cli_env: Path) -> None:
    path = _write(cli_env, "units.yaml", SMALL)
    _run("units", "import", str(path))
    for args in (
        ("units", "show", "区应急局"),
        ("units", "show", "区应急局", "--json"),
        ("units", "list", "--json"),
    ):
        _, out, _ = _run(*args)
        assert "SECabcdef123456" not in out and "abcdef123456" not in out
        assert "SEC…456" in out


def test_it_lists_units_missing_contacts(cli_env: Path) -> None:
    _run("units", "import", str(_write(cli_env, "units.yaml", SMALL)))
    _, out, _ = _run("units", "list", "--missing-contacts", "--json")
    assert sorted(r["name"] for r in json.loads(out)) == ["甘泉路街道", "长征镇"]


def test_it_imports_csv_and_xlsx_with_the_same_fields(cli_env: Path) -> None:
    header = [
        "单位",
        "别名",
        "类型",
        "分组",
        "联系人",
        "角色",
        "邮箱",
        "手机",
        "渠道",
        "渠道地址",
        "密钥",
    ]
    rows = [
        [
            "区应急局",
            "区应急管理局、应急局",
            "department",
            "",
            "张三",
            "联络员",
            "zhangsan@example.gov.cn",
            "",
            "email",
            "",
            "",
        ],
        [
            "区应急局",
            "",
            "",
            "",
            "李四",
            "负责人",
            "lisi@example.gov.cn",
            "",
            "wecom",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1",
            "",
        ],
        ["长征镇", "", "street_town", "各街镇", "", "", "", "", "", "", ""],
    ]
    csv_path = cli_env / "units.csv"
    csv_path.write_text("\n".join(",".join(r) for r in [header, *rows]), encoding="utf-8")
    assert _run("units", "import", str(csv_path))[0] == 0
    first = _counts()
    wb = openpyxl.Workbook()
    for r in [header, *rows]:
        wb.active.append(r)  # type: ignore[union-attr]
    xlsx_path = cli_env / "units.xlsx"
    wb.save(xlsx_path)
    code, out, _ = _run("units", "import", str(xlsx_path))
    assert code == 0 and "新增 0，更新 0" in out
    assert (
        _counts()
        == first
        == {"Unit": 2, "UnitAlias": 2, "UnitGroup": 1, "GroupMember": 1, "Contact": 2, "Channel": 2}
    )


BAD = [
    ("no_name.yaml", SMALL.replace("name: 长征镇", "kind_note: x"), "缺少单位名称"),
    ("bad_email.yaml", SMALL.replace("lisi@example.gov.cn", "lisi-at-example"), "邮箱地址无效"),
    (
        "bad_url.yaml",
        SMALL.replace(
            "https://oapi.dingtalk.com/robot/send?access_token=abcdef123456", "oapi dingtalk"
        ),
        "渠道地址无效",
    ),
    ("bad_group.yaml", SMALL.replace("[长征镇, 甘泉路街道]", "[长征镇, 不存在街道]"), "不存在街道"),
    ("empty.yaml", "", "文件为空"),
    ("broken.yaml", "units: [ {name: x", "YAML 格式错误"),
    ("no_header.csv", "甲,乙\n1,2\n", "表头缺少"),
    ("binary.xlsx", "\x00\x01not a zip", "无法打开 Excel 文件"),
    ("units.txt", "x", "不支持的文件格式"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD, ids=[b[0] for b in BAD])
def test_it_rejects_bad_input_naming_file_and_row_and_writes_nothing(
    cli_env: Path, name: str, content: str, message: str
) -> None:
    _run("units", "import", str(_write(cli_env, "good.yaml", SMALL)))
    before = _counts()
    path = _write(cli_env, name, content)
    code, _, err = _run("units", "import", str(path))
    assert code != 0
    assert str(path) in err and message in err
    if name in ("no_name.yaml", "bad_email.yaml", "bad_url.yaml", "bad_group.yaml"):
        assert "行" in err  # names the row
    assert _counts() == before


def test_it_rejects_a_missing_file(cli_env: Path) -> None:
    code, _, err = _run("units", "import", str(cli_env / "nope.yaml"))
    assert code != 0 and "nope.yaml" in err and "目录文件不存在" in err


def test_it_ships_a_directory_naming_every_unit_and_group_of_the_seeds(seeds_dir: Path) -> None:
    import intake
    from duban.directory import load_directory

    spec = load_directory(EXAMPLES / "units.yaml")
    known = {n for u in spec.units for n in [u.name, *u.aliases]}
    known |= {n for g in spec.groups for n in [g.name, *g.aliases]}
    named = {
        (path.name, name)
        for path in sorted(seeds_dir.glob("*.txt"))
        for task in intake.parse_path(path).tasks
        for name in task.lead_units + task.support_units + task.leaders
    }
    assert named and {n for n in named if n[1] not in known} == set()
    leaders = {n for p, n in named if p.startswith("000_") and n in SEED0_LEADERS}
    assert leaders == SEED0_LEADERS  # seed 000 names them, and none comes up pending
    kinds = {u.name: u.kind for u in spec.units}
    assert {kinds[n] for n in SEED0_LEADERS} == {"leader"}


SEED0_LEADERS = {"肖文高", "姜爱锋", "李荣华", "王珏", "张骏", "蒋龙", "肖立"}
PUTUO = {  # 普陀区: 8 个街道, 2 个镇 (since 2014, when 万里街道 and 真如镇街道 were set up)
    "曹杨新村街道", "长风新村街道", "长寿路街道", "甘泉路街道", "石泉路街道", "宜川路街道",
    "真如镇街道", "万里街道", "长征镇", "桃浦镇",
}  # fmt: skip


def test_the_example_directory_is_one_districts() -> None:
    from duban.directory import load_directory

    spec = load_directory(EXAMPLES / "units.yaml")
    [streets] = [g for g in spec.groups if g.name == "各街镇"]
    assert set(streets.members) == PUTUO
    towns = {u.name for u in spec.units if u.kind == "street_town"}
    assert towns >= PUTUO
    for other in ("华阳路街道", "新华路街道", "虹桥街道", "新泾镇", "北新泾街道"):  # 长宁区
        assert other not in towns
        assert all(other not in g.members for g in spec.groups)


TOWN = EXAMPLES / "town" / "units.yaml"
TOWN_PLAN = EXAMPLES / "plans" / "2024-2026_镇安全生产治本攻坚三年行动方案.md"


def test_the_town_plan_has_a_directory_of_its_own(cli_env: Path) -> None:
    from duban.directory import load_directory

    spec = load_directory(TOWN)
    town = {u.name for u in spec.units}
    code, _, err = _run("units", "import", str(TOWN))
    assert code == 0, err
    code, out, err = _run("import", str(TOWN_PLAN))
    assert code == 0, err
    plan_id = out.split("草稿计划 ")[1].split("：")[0].split(":")[0].strip()
    code, out, err = _run("plan", "activate", plan_id)
    assert code == 0 and "待补充" not in err, err
    code, out, _ = _run("obligation", "list", "--plan", plan_id, "--all", "--json")
    units = {row["unit"] for row in json.loads(out)["items"]}
    # "各成员单位" is the town committee's members here, never the district's bureaus.
    assert units and units <= town, sorted(units - town)
    assert not any(u.startswith("区") for u in units)
    assert {"规建办", "徐泾村"} <= units

"""A run with planted secrets prints none of them anywhere (issue #12).

Every robot kind carries a token where the real service puts it (DingTalk's and WeCom's query,
Feishu's path, a Slack-shaped path, a userinfo password), each channel has a signing secret, the
settings carry an SMTP password and the portal secret, and the receivers answer the way real ones
do when a token is wrong: by quoting it back. The office then works as usual through the real
`duban` executable: import, activate, ticks that fail and retry, every list and show command, the
failed-message views, channel tests, status, doctor, the digest. Every byte that left those
processes (stdout, stderr, the outbox, the home folder, every table the CLI shows, the Prefect
logs) is searched for each planted secret.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import MetaData, create_engine, select
from werkzeug import Request, Response

from tests.notify import fakes
from tests.notify.conftest import free_port

DUBAN = str(Path(sys.executable).parent / "duban")

DING_TOKEN = "PLANTEDding7q3Kx9a1"
DING_SECRET = "SECPLANTEDdingSign2b7"
WECOM_KEY = "PLANTEDwecom-5c2d-4e1f"
FEISHU_TOKEN = "PLANTEDfeishu-8f1e-77aa"
FEISHU_SECRET = "PLANTEDfeishuSign4d9c"
HOOK_PASSWORD = "PLANTEDpass6Zq1"
SLACK_TOKEN = "PLANTEDslackTok3v9Qm"
HOOK_SECRET = "PLANTEDhookSign7Jw2"
DEAD_TOKEN = "PLANTEDdeadTok0Rk5"
BAD_PORT_TOKEN = "PLANTEDbadPort1Lm8"
SMTP_PASSWORD = "PLANTEDsmtpPw3Xy8"
SECRET_KEY = "PLANTEDportalKey9Tt4"
PLANTED = [
    DING_TOKEN,
    DING_SECRET,
    WECOM_KEY,
    FEISHU_TOKEN,
    FEISHU_SECRET,
    HOOK_PASSWORD,
    SLACK_TOKEN,
    HOOK_SECRET,
    DEAD_TOKEN,
    BAD_PORT_TOKEN,
    SMTP_PASSWORD,
    SECRET_KEY,
]

PLAN = """序号,任务,时间节点,责任单位,配合单位
1,开展安全生产大检查,2024年9月26日前,区应急局,区建管委
2,排查整治燃气隐患,2024年9月26日前,区市场监管局,区交通委
3,完成老旧小区消防整改,2024年9月26日前,区房管局,
"""


def _directory(base: str, dead: str) -> str:
    return f"""
units:
  - name: 区应急局
    contacts: [{{name: 张三, role: 联络员, email: zhangsan@example.gov.cn}}]
    channels:
      - {{type: email}}
      - {{type: dingtalk, url: "{base}/robot/send?access_token={DING_TOKEN}", secret: "{DING_SECRET}"}}
  - name: 区建管委
    contacts: [{{name: 王五, role: 联络员, email: wangwu@example.gov.cn}}]
    channels:
      - {{type: wecom, url: "{base}/cgi-bin/webhook/send?key={WECOM_KEY}"}}
  - name: 区市场监管局
    contacts: [{{name: 贺永刚, role: 联络员, email: heyg@example.gov.cn}}]
    channels:
      - {{type: feishu, url: "{base}/open-apis/bot/v2/hook/{FEISHU_TOKEN}", secret: "{FEISHU_SECRET}"}}
  - name: 区交通委
    contacts: [{{name: 钱七, role: 联络员, email: qianqi@example.gov.cn}}]
    channels:
      - {{type: webhook, url: "{base.replace("://", f"://hook:{HOOK_PASSWORD}@")}/services/T0001/B0002/{SLACK_TOKEN}", secret: "{HOOK_SECRET}"}}
  - name: 区房管局
    contacts: [{{name: 赵六, role: 联络员, email: zhaoliu@example.gov.cn}}]
    channels:
      - {{type: webhook, url: "{dead}/notify?token={DEAD_TOKEN}"}}
"""


def _quote_back(request: Request) -> Response:
    """A receiver that refuses the token and quotes it back, as DingTalk and WeCom do."""
    token = request.args.get("access_token") or request.args.get("key") or ""
    body = {"errcode": 300001, "errmsg": f"token is not exist: {token}"}
    return Response(json.dumps(body), status=200, content_type="application/json")


def _server_error(request: Request) -> Response:
    return Response(f"upstream failed for key={request.args.get('key')}", status=502)


@pytest.fixture
def office(tmp_path: Path, httpserver: HTTPServer) -> dict[str, str]:
    feishu_seen: list[dict[str, object]] = []
    httpserver.expect_request("/robot/send").respond_with_handler(_quote_back)
    httpserver.expect_request("/cgi-bin/webhook/send").respond_with_handler(_server_error)
    httpserver.expect_request(f"/open-apis/bot/v2/hook/{FEISHU_TOKEN}").respond_with_handler(
        fakes.feishu(FEISHU_SECRET, feishu_seen)
    )
    httpserver.expect_request("/services/T0001/B0002/" + SLACK_TOKEN).respond_with_handler(
        lambda r: Response(
            f"bad auth {r.authorization.type if r.authorization else None}", status=403
        )
    )
    base = httpserver.url_for("").rstrip("/")
    (tmp_path / "units.yaml").write_text(
        _directory(base, f"http://127.0.0.1:{free_port()}"), encoding="utf-8"
    )
    (tmp_path / "bad.yaml").write_text(
        "units:\n  - name: 区应急局\n    channels:\n"
        f'      - {{type: dingtalk, url: "http://127.0.0.1:99999/robot/send?access_token={BAD_PORT_TOKEN}"}}\n',
        encoding="utf-8",
    )
    (tmp_path / "plan.csv").write_text(PLAN, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k.startswith(("PATH", "HOME", "LANG"))}
    env.update(
        DUBAN_DATABASE_URL=f"sqlite:///{tmp_path / 'duban.db'}",  # masking is the same on both
        DUBAN_HOME=str(tmp_path / "home"),
        DUBAN_ACTOR="test",
        DUBAN_NOW="2024-09-02T09:00:00+08:00",
        DUBAN_SMTP_USER="office",
        DUBAN_SMTP_PASSWORD=SMTP_PASSWORD,
        DUBAN_SECRET_KEY=SECRET_KEY,
        DUBAN_PORTAL_URL="http://127.0.0.1:8080",
        DUBAN_OFFICE_EMAIL="office@example.gov.cn",
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_LOGGING_LEVEL="DEBUG",
    )
    return env


def _run(env: dict[str, str], *args: str, now: str | None = None) -> tuple[int, str]:
    run_env = dict(env, DUBAN_NOW=now) if now else env
    proc = subprocess.run(
        [DUBAN, *args], env=run_env, capture_output=True, timeout=240, cwd=env["DUBAN_HOME"]
    )
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    return proc.returncode, out


def _tables(db_url: str) -> str:
    """Every row of every table the CLI shows (the directory's own channel table keeps its URLs)."""
    engine = create_engine(db_url)
    meta = MetaData()
    meta.reflect(engine)
    rows: list[str] = []
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            if name == "channel":
                continue
            rows += [f"{name}: {tuple(r)}" for r in conn.execute(select(table))]
    engine.dispose()
    return "\n".join(rows)


def _files(root: Path) -> str:
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in sorted(root.rglob("*")) if p.is_file()
    )


def test_a_run_with_planted_secrets_prints_none_of_them(
    office: dict[str, str], tmp_path: Path
) -> None:
    env = office
    Path(env["DUBAN_HOME"]).mkdir(parents=True)
    seen: list[str] = []

    def run(*args: str, expect: int | None = 0, now: str | None = None) -> str:
        code, out = _run(env, *args, now=now)
        if expect is not None:
            assert code == expect, f"duban {' '.join(args)} → {code}\n{out}"
        seen.append(f"$ duban {' '.join(args)}\n{out}")
        return out

    refused = run("units", "import", str(tmp_path / "bad.yaml"), expect=2)
    assert "错误:" in refused and "access_token=PLA…Lm8" in refused
    run("units", "import", str(tmp_path / "units.yaml"))
    run("import", str(tmp_path / "plan.csv"))
    run("plan", "activate", "1")
    for unit in ("区应急局", "区建管委", "区市场监管局", "区交通委", "区房管局"):
        shown = run("units", "show", unit)
        run("units", "show", unit, "--json")
        assert "…" in shown or unit == "区房管局"
    run("units", "list")
    run("units", "list", "--json")
    for at in ("2024-09-19T09:05:00+08:00", "2024-09-19T10:05:00+08:00"):
        run("tick", "--json", now=at, expect=None)
    run("tick", "--json", now="2024-09-27T09:05:00+08:00", expect=None)
    failed = run("notify", "failed")
    assert "区应急局" in failed and "区房管局" in failed  # the failures are shown, masked
    run("notify", "failed", "--json")
    run("notify", "failed", "--permanent")
    for unit in ("区应急局", "区建管委", "区市场监管局", "区交通委", "区房管局"):
        run("notify", "test", unit, expect=None)
    for args in (
        ("status",),
        ("status", "--json"),
        ("doctor",),
        ("digest", "--preview"),
        ("queue", "list", "--json"),
        ("obligation", "list", "--json"),
        ("notify", "resend", "--dry-run"),
    ):
        run(*args, expect=None)

    printed = "\n".join(seen)
    places = {
        "printed": printed,
        "home (outbox, logs)": _files(Path(env["DUBAN_HOME"])),
        "Prefect's home (its logs)": _files(Path(env["PREFECT_HOME"]))
        if Path(env["PREFECT_HOME"]).exists()
        else "",
        "tables": _tables(env["DUBAN_DATABASE_URL"]),
    }
    # The run did fail where planted: the receivers refused, and the failures were recorded.
    assert "token is not exist: PLA…9a1" in places["tables"]
    assert "token is not exist: PLA…9a1" in failed
    assert "无法连接" in failed and "Connection refused" in failed
    assert "bad auth basic" in failed  # the userinfo is sent as HTTP Basic
    leaks = [
        f"{secret} in {where}"
        for secret in PLANTED
        for where, text in places.items()
        if secret in text
    ]
    assert leaks == [], "\n".join(leaks)

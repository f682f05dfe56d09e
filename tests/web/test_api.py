"""The JSON API: the portal's and the console's actions with the same auth, for another platform."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import PASSWORD, Pages
from tests.web.test_office import _status
from tests.web.test_portal import _mine


def _unit(path: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {path.removeprefix('/u/')}"}


def _office(client: TestClient, who: str = "wang") -> dict[str, str]:
    r = client.post("/api/v1/session", json={"login": who, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_it_lets_a_unit_act_on_its_own_duties_with_its_token(
    pages: Pages, client: TestClient
) -> None:
    path, ob = _mine(pages)
    other, other_ob = _mine(pages, "wangwu@example.gov.cn")
    assert client.get("/api/v1/unit").status_code == 401
    assert (
        client.get("/api/v1/unit", headers={"Authorization": "Bearer x.y.z.w"}).status_code == 403
    )
    mine = client.get("/api/v1/unit", headers=_unit(path)).json()
    assert mine["unit"] == "区应急局" and ob in [d["id"] for d in mine["duties"]]
    assert client.get(f"/api/v1/unit/duties/{other_ob}", headers=_unit(path)).status_code == 404
    r = client.post(f"/api/v1/unit/duties/{other_ob}/ack", headers=_unit(path))
    assert r.status_code == 404 and "不属于本单位" in r.json()["detail"]
    assert client.post(f"/api/v1/unit/duties/{ob}/ack", headers=_unit(path)).status_code == 200
    r = client.post(f"/api/v1/unit/duties/{ob}/progress", headers=_unit(path), json={"text": ""})
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/unit/duties/{ob}/progress", headers=_unit(path), json={"text": "已完成一半"}
    )
    assert r.status_code == 200
    r = client.post(f"/api/v1/unit/duties/{ob}/done", headers=_unit(path), json={"note": "完成"})
    assert r.status_code == 200 and _status(ob).status == "submitted"
    r = client.post(f"/api/v1/unit/duties/{ob}/done", headers=_unit(path), json={"note": "再报"})
    assert r.status_code == 409 and "不允许" in r.json()["detail"]
    record = client.get(f"/api/v1/unit/duties/{ob}", headers=_unit(path)).json()
    assert record["receipt"] and record["progress"][0]["text"] == "已完成一半"
    assert {
        e.data.get("via") for e in pages.audit(ob) if e.action in ("submit", "acknowledged")
    } == {"api"}
    r = client.post(
        f"/api/v1/unit/duties/{other_ob}/extension",
        headers=_unit(other),
        json={"new_due": "2024-10-31", "reason": "汛期"},
    )
    assert r.status_code == 200 and _status(other_ob).status == "extension_requested"


def test_it_lets_the_office_decide_and_a_leader_only_read(pages: Pages, client: TestClient) -> None:
    path, ob = _mine(pages)
    client.post(f"/api/v1/unit/duties/{ob}/done", headers=_unit(path), json={"note": "完成"})
    wrong = client.post("/api/v1/session", json={"login": "wang", "password": "nope"})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.json()["detail"]
    assert client.get("/api/v1/queue").status_code == 401
    leader = _office(client, "zhang")
    assert ob in [r["id"] for r in client.get("/api/v1/queue", headers=leader).json()["submitted"]]
    r = client.post(f"/api/v1/obligations/{ob}/accept", headers=leader, json={})
    assert r.status_code == 403 and _status(ob).status == "submitted"
    office = _office(client)
    r = client.post(f"/api/v1/obligations/{ob}/reject", headers=office, json={})
    assert r.status_code == 422
    r = client.post(f"/api/v1/obligations/{ob}/reject", headers=office, json={"reason": "缺台账"})
    assert r.status_code == 200 and _status(ob).status == "reopened"
    client.post(f"/api/v1/unit/duties/{ob}/done", headers=_unit(path), json={"note": "补充"})
    assert (
        client.post(f"/api/v1/obligations/{ob}/accept", headers=office, json={}).status_code == 200
    )
    detail = client.get(f"/api/v1/obligations/{ob}", headers=office).json()
    assert detail["status"] == "accepted" and any(
        h["action"] == "accept" for h in detail["history"]
    )
    assert (
        client.post("/api/v1/obligations/999999/accept", headers=office, json={}).status_code == 404
    )


def test_it_publishes_an_openapi_document_of_the_api_only(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/api/v1/unit", "/api/v1/queue", "/api/v1/session"} <= paths
    assert all(p.startswith("/api/") for p in paths)


def test_it_keeps_nul_and_control_characters_out_of_the_database(
    pages: Pages, client: TestClient
) -> None:
    from sqlmodel import Session, select

    from duban import runtime
    from models.people import ProgressReport

    path, ob = _mine(pages)
    r = client.post("/api/v1/session", json={"login": "wa\x00ng", "password": "x"})
    assert r.status_code == 401
    r = client.post(
        f"/api/v1/unit/duties/{ob}/progress", headers=_unit(path), json={"text": "进\x00展\x07"}
    )
    assert r.status_code == 200
    with Session(runtime.engine()) as s:
        assert s.exec(select(ProgressReport.text)).one() == "进展"
    r = client.get("/office/login?next=/office/queue%00x")
    assert r.status_code == 200 and 'value="/office"' in r.text


def test_it_takes_the_periodic_progress_report_as_the_portal_form_does(
    pages: Pages, client: TestClient
) -> None:
    path, ob = _mine(pages, "zhaoliu@example.gov.cn")  # 区房管局: it owes duban's 进展报告
    _other, other_ob = _mine(pages, "wangwu@example.gov.cn")
    url = "/api/v1/unit/progress"
    assert client.post(url, headers=_unit(path), json={"notes": []}).status_code == 422
    r = client.post(url, headers=_unit(path), json={"notes": [{"id": other_ob, "text": "x"}]})
    assert r.status_code == 404 and "不属于本单位" in r.json()["detail"]
    assert _status(other_ob).status != "submitted"  # refused whole: nothing written
    r = client.post(url, headers=_unit(path), json={"notes": [{"id": ob, "text": "方案已定"}]})
    assert r.status_code == 200, r.text
    [report] = r.json()["reports"]
    assert report != ob and _status(report).status == "submitted"
    record = client.get(f"/api/v1/unit/duties/{ob}", headers=_unit(path)).json()
    assert record["progress"][0]["text"] == "方案已定"

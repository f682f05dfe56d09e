"""The JSON API fuzzed from its own OpenAPI document (schemathesis) against a running `duban web`:
whatever a client sends, as a unit or as the office, the server answers without a server error."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.web.conftest import LINK, PASSWORD, Pages  # noqa: F401


@pytest.fixture
def api(server: str, office: Any) -> Any:
    """The schema of the running server, with a unit's and the office's credentials."""
    return schemathesis.openapi.from_url(f"{server}/api/openapi.json")


@pytest.fixture
def credentials(server: str, office: Any) -> dict[str, dict[str, str]]:
    """A unit's portal token (from its delivered e-mail) and an office session token."""
    for _, rcpts, msg in office.smtp.sink.received:
        if "zhangsan@example.gov.cn" in rcpts:
            body = msg.get_body(("plain",))
            found = LINK.search(body.get_content()) if body else None
            if found:
                unit = found.group(2)
                break
    else:
        raise AssertionError("no portal link delivered")
    r = requests.post(f"{server}/api/v1/session", json={"login": "wang", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {
        "unit": {"Authorization": f"Bearer {unit}"},
        "office": {"Authorization": f"Bearer {r.json()['token']}"},
    }


@pytest.mark.slow
def test_it_never_answers_with_a_server_error(
    api: Any, credentials: dict[str, dict[str, str]]
) -> None:
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 10
    for op in operations:
        who = "unit" if op.path.startswith("/api/v1/unit") else "office"

        @given(case=op.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any, headers: dict[str, str]) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        fuzz(headers=credentials[who])

"""What the API tests share besides the factories of ``tests/factories.py``: the invite endpoints and the
check of an error answer."""

from __future__ import annotations

from typing import Any

URL = "/api/tokens/"
VALIDATE = "/api/tokens/validate/"


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body  # type: ignore[no-any-return]

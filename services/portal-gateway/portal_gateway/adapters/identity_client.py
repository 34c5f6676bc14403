"""The identity service's credentials API (sign-in, invitations)."""

from __future__ import annotations

from typing import Any

import httpx
from opentelemetry import propagate

from portal_runtime.errors import ServiceError


class IdentityUnavailable(ServiceError):
    status = 503
    code = "identity_unavailable"


class IdentityRefusal(ServiceError):
    """Identity answered with a problem: pass its status and detail on to the caller
    (`retry_after` in seconds when identity locked sign-ins for a while)."""

    def __init__(self, status: int, detail: str, code: str, retry_after: int | None = None) -> None:
        super().__init__(detail, code=code)
        self.status = status
        self.retry_after = retry_after


class IdentityClient:
    """Every call carries the deployment's shared secret (`X-Internal-Token`): identity
    refuses its internal API to anyone else on the network."""

    def __init__(
        self,
        base_url: str,
        internal_token: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._token = internal_token
        self._http = httpx.AsyncClient(base_url=base_url, timeout=10.0, transport=transport)

    async def close(self) -> None:
        await self._http.aclose()

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return (await self.exchange(path, body))[1]

    async def exchange(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Like `call`, with identity's success status (e.g. 200 for a sign-in challenge,
        201 for tokens)."""
        try:
            headers: dict[str, str] = {"X-Internal-Token": self._token}
            propagate.inject(headers)
            response = await self._http.post(path, json=body, headers=headers)
        except httpx.HTTPError as down:
            raise IdentityUnavailable("sign-in is unavailable right now; try again") from down
        payload: dict[str, Any] = response.json() if response.content else {}
        if response.status_code >= 500:
            raise IdentityUnavailable("sign-in is unavailable right now; try again")
        if response.status_code >= 400:
            retry_after = response.headers.get("retry-after")
            raise IdentityRefusal(
                response.status_code,
                str(payload.get("detail", "refused")),
                str(payload.get("code", "refused")),
                int(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        return response.status_code, payload

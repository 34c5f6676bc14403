"""HTTP pieces every service shares: health probes and problem responses (RFC 9457)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn
from litestar import Litestar, Request, Response, get
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.types import ControllerRouterHandler

from portal_runtime.errors import ServiceError
from portal_runtime.runtime import ServiceRuntime, bootstrap_process
from portal_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
KEEP_ALIVE_SECONDS = 75


def problem(status: int, title: str, detail: str, **extra: Any) -> Response[dict[str, Any]]:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(body, status_code=status, media_type=PROBLEM)


def _service_error(_: Request[Any, Any, Any], exc: ServiceError) -> Response[dict[str, Any]]:
    return problem(exc.status, exc.code.replace("_", " "), exc.detail, code=exc.code)


def _validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    fields = [e.get("key") for e in errors if isinstance(e, dict) and e.get("key")]
    detail = "invalid request"
    if errors:
        detail = "; ".join(
            f"{e.get('key') or 'body'}: {e.get('message')}" for e in errors if isinstance(e, dict)
        )
    return problem(400, "invalid request", detail, code="invalid_request", fields=fields)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    return problem(exc.status_code, "error", str(exc.detail), code=f"http_{exc.status_code}")


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "internal error", "something went wrong; it has been logged")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ServiceError: _service_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    Exception: _unexpected,
}


def health_routes(runtime: ServiceRuntime) -> list[ControllerRouterHandler]:
    @get("/health/live", sync_to_thread=False, include_in_schema=False)
    def live() -> dict[str, str]:
        return {"status": "alive"}

    @get("/health/ready", include_in_schema=False)
    async def ready() -> Response[dict[str, Any]]:
        checks = await runtime.ready()
        ok = all(checks.values())
        return Response(
            {"status": "ready" if ok else "not ready", "checks": checks},
            status_code=200 if ok else 503,
        )

    return [live, ready]


def service_app(
    runtime: ServiceRuntime,
    routes: Sequence[ControllerRouterHandler] = (),
    on_shutdown: Sequence[Callable[[], Any]] = (),
    **litestar_options: Any,
) -> Litestar:
    """A Litestar app whose lifespan starts and stops the service runtime
    (`app.state.runtime`, for tests that drive the app in their own event loop)."""
    app = Litestar(
        route_handlers=[*health_routes(runtime), *routes],
        on_startup=[runtime.start],
        on_shutdown=[runtime.stop, *on_shutdown],
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,  # the process's JSON logging (portal_runtime.logs) stays in charge
        plugins=[OpenTelemetryPlugin(OpenTelemetryConfig(exclude=["/health"]))],
        **litestar_options,
    )
    app.state.runtime = runtime
    return app


def serve(create_app: Callable[[Any], Litestar], settings: ServiceSettings) -> None:
    """Run one service process (used by each service's `__main__`)."""
    bootstrap_process(settings)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        # The client address is the socket peer; only the gateway reads X-Forwarded-For, and
        # only from the proxies in GATEWAY_TRUSTED_PROXIES (uvicorn would otherwise believe it
        # from any local peer).
        proxy_headers=False,
        # Idle keep-alive connections are kept well past a client's own expiry (httpx: 5 s),
        # so a client never sends a request on a connection the server is closing that same
        # moment (it gets a read error; seen once in the e2e suite with both at 5 s).
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )

"""The Litestar application factory: one place that assembles controllers, middleware, stores and handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from litestar import Litestar, Request
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Server

from marketplace.accounting.controllers import LedgerController
from marketplace.audit.controllers import AuditController
from marketplace.auth import bearer_token, hash_token
from marketplace.booking.controllers import AgreementController, RequestController
from marketplace.booking.services import BookingSettings
from marketplace.catalogue.controllers import CategoryController, OfferController
from marketplace.config import Settings, load_settings
from marketplace.db import connection_pool, prepare_database
from marketplace.errors import EXCEPTION_HANDLERS
from marketplace.events.controllers import EventController
from marketplace.events.hub import EventHub
from marketplace.events.services import dispatcher
from marketplace.events.streams import AccessWatch
from marketplace.health import health
from marketplace.input_guard import reject_nul_characters
from marketplace.maintenance import maintenance
from marketplace.members.authentication import TokenAuthenticationMiddleware
from marketplace.members.controllers import MeController, MemberController, TokenController, UserController
from marketplace.observability import RequestContextMiddleware, configure_logging, stamp_response
from marketplace.openapi import finish_openapi
from marketplace.reconciliation import controllers as reconciliation_controllers
from marketplace.reconciliation.controllers import (
    BankStatementController,
    NettingRunController,
    OpenItemController,
    SettlementPaymentController,
)
from marketplace.serving import streams_end_on_stop_signal
from marketplace.settlement.controllers import SettlementController, SettlementRunController
from marketplace.settlement.jobs import RunDispatcher
from marketplace.store import Stores
from marketplace.web import template_config, web_routers

PUBLIC_PATHS = ["^/health$", "^/schema"]


def rate_limit_identifier(request: Request[Any, Any, Any]) -> str:
    """Limits count per token (hashed), and per client address only for calls without one."""
    token = bearer_token(request.headers.get("authorization"))
    if token is not None:
        return "token:" + hash_token(token)[:32]
    return "ip:" + get_remote_address(request)


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application for ``settings`` (default: read from the environment)."""
    settings = settings or load_settings()
    configure_logging(settings.log_format, settings.log_level)
    BookingSettings.request_expiry = timedelta(days=settings.request_expiry_days)
    stores = Stores(settings.redis_url, settings.redis_timeout_seconds, settings.redis_breaker_seconds)
    hub = EventHub(
        settings.redis_url,
        timeout=settings.redis_timeout_seconds,
        breaker=stores.breaker,
        publisher=stores.redis,
        streams_per_token=settings.event_streams_per_token,
    )
    access_watch = AccessWatch(hub)
    settlement_runs = RunDispatcher(settings, stores.redis, stores.breaker)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await prepare_database()
        jobs = [dispatcher(hub), access_watch.job(), maintenance(settings.maintenance_interval_seconds)]
        jobs += settlement_runs.background_jobs()
        try:
            # Without a pool each query opens its own connection (slower, but free of any event loop).
            async with connection_pool(settings.database_pool_size):
                hub.start()
                for job in jobs:
                    job.start()
                try:
                    with streams_end_on_stop_signal(hub):
                        yield
                finally:
                    await hub.stop()
                    for job in jobs:
                        await job.stop()
                    await settlement_runs.close()
        finally:
            await stores.close()

    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute),
        exclude=PUBLIC_PATHS,
        exclude_opt_key="exclude_from_rate_limit",
        identifier_for_request=rate_limit_identifier,
        store="rate_limit",
    )
    openapi = OpenAPIConfig(
        title="KOPIT Leistungsaustausch API",
        version="1.0.0",
        description=(
            "The service exchange of KOPIT eG: members offer services to one another, book them and settle "
            "the costs monthly in a double-entry clearing ledger. Errors are RFC 9457 problem details."
        ),
        path="/schema",
        render_plugins=[SwaggerRenderPlugin(path="/"), ScalarRenderPlugin(path="/scalar")],
        components=Components(
            security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="opaque")}
        ),
        security=[{"BearerToken": []}],
        servers=[Server(url="/")],
        use_handler_docstrings=True,
    )
    config = AppConfig(
        route_handlers=[
            health,
            MeController,
            MemberController,
            TokenController,
            UserController,
            AuditController,
            CategoryController,
            OfferController,
            LedgerController,
            EventController,
            RequestController,
            AgreementController,
            *web_routers(),
            SettlementRunController,
            SettlementController,
            BankStatementController,
            OpenItemController,
            SettlementPaymentController,
            NettingRunController,
            reconciliation_controllers.ReconciliationController,
        ],
        middleware=[
            RequestContextMiddleware(),
            DefineMiddleware(TokenAuthenticationMiddleware, exclude=PUBLIC_PATHS),
            rate_limit.middleware,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[stamp_response],
        before_request=reject_nul_characters,
        stores={"rate_limit": stores.rate_limit, "cache": stores.cache},
        state=State({"settings": settings, "stores": stores, "event_hub": hub}),
        lifespan=[lifespan],
        openapi_config=openapi,
        template_config=template_config(),
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
    app = Litestar.from_config(config)
    app.state.settlement_runs = settlement_runs
    finish_openapi(app)
    return app

"""The web pages: server-rendered German pages for members, providers, accountants and admins.

``web_routers()`` gives the router of the pages (session, CSRF, HTML error pages; no bearer token, not in
the OpenAPI document) and the router of the static files; ``template_config()`` the Jinja templates with the
German filters. The pages call the services with the principal of the session's user.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.router import Router as RouterType
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from marketplace.errors import EXCEPTION_HANDLERS
from marketplace.web import admin_pages, auth_pages, booking_pages, catalogue_pages
from marketplace.web.accounting_pages import ACCOUNTING_PAGES
from marketplace.web.context import web_exception_handler
from marketplace.web.formatting import FILTERS
from marketplace.web.offer_pages import OFFER_PAGES
from marketplace.web.reconciliation_pages import RECONCILIATION_PAGES
from marketplace.web.session import WebSessionMiddleware, csrf_guard
from marketplace.web.token_pages import TOKEN_PAGES
from marketplace.web.usage_pages import USAGE_PAGES
from marketplace.web.user_pages import USER_PAGES

HERE = Path(__file__).parent
#: Handlers of the pages skip the bearer-token authentication; sign-ins wait after failures (``passwords``).
WEB_OPT = {"exclude_from_auth": True}


def _engine_callback(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(FILTERS)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The templates under ``web/templates`` with autoescaping and the German filters."""
    return TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_engine_callback)


def web_routers() -> list[RouterType]:
    """The pages and the static files."""
    pages = Router(
        path="/",
        route_handlers=[
            auth_pages.home,
            auth_pages.sign_in_page,
            auth_pages.sign_in,
            auth_pages.sign_out,
            auth_pages.password_page,
            auth_pages.set_password,
            catalogue_pages.catalogue_page,
            catalogue_pages.offer_page,
            catalogue_pages.request_offer,
            booking_pages.my_area,
            booking_pages.withdraw,
            booking_pages.agreement_page,
            booking_pages.terminate_page,
            booking_pages.terminate,
            booking_pages.provider_page,
            booking_pages.new_offer_page,
            booking_pages.create_offer,
            booking_pages.offer_command,
            booking_pages.accept,
            booking_pages.decline,
            *OFFER_PAGES,
            *USAGE_PAGES,
            *USER_PAGES,
            *TOKEN_PAGES,
            admin_pages.accounting_page,
            admin_pages.ledger_download,
            admin_pages.admin_page,
            admin_pages.member_users,
            admin_pages.password_link,
            admin_pages.confirm_bank_details,
            *ACCOUNTING_PAGES,
            *RECONCILIATION_PAGES,
        ],
        middleware=[WebSessionMiddleware()],
        guards=[csrf_guard],
        # Every key of the app's handlers, so that no error of a page becomes a problem document.
        exception_handlers=dict.fromkeys(EXCEPTION_HANDLERS, web_exception_handler),
        include_in_schema=False,
        opt=WEB_OPT,
    )
    static = create_static_files_router(
        path="/static", directories=[HERE / "static"], opt=WEB_OPT, include_in_schema=False, name="web:static"
    )
    return [pages, static]

"""Finishing touches to the generated OpenAPI document."""

from __future__ import annotations

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.spec import OpenAPI, OpenAPIType, Reference

#: The finished document of this process. It depends only on the route handlers and the OpenAPI config, which
#: every app of the process shares; building it takes as long as building the rest of the app.
_finished: OpenAPI | None = None


def finish_openapi(app: Litestar) -> None:
    """Give ``app`` the finished OpenAPI document (see the touches below), built once per process."""
    global _finished
    if _finished is None:
        declare_closed_inputs(app)
        declare_optional_bodies(app)
        _finished = app.openapi_schema
    else:
        # Litestar builds the document on first use and keeps it in this slot; there is no public setter.
        app.plugins.get(OpenAPIPlugin)._openapi = _finished


def _input_structs() -> dict[str, type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}
    pending: list[type[msgspec.Struct]] = [msgspec.Struct]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("marketplace.") and cls.__struct_config__.forbid_unknown_fields:
            found[cls.__name__] = cls
    return found


def declare_closed_inputs(app: Litestar) -> None:
    """Say ``additionalProperties: false`` for every input that rejects unknown fields, as the server does."""
    components = app.openapi_schema.components.schemas or {}
    for name in _input_structs():
        if name in components:
            components[name].additional_properties = False


def declare_optional_bodies(app: Litestar) -> None:
    """A body typed ``X | None = None`` may be left out; Litestar marks every body as required."""
    for path_item in (app.openapi_schema.paths or {}).values():
        for operation in (path_item.post, path_item.put, path_item.patch, path_item.delete):
            body = getattr(operation, "request_body", None)
            if body is None or isinstance(body, Reference):
                continue
            for media in (body.content or {}).values():
                schema = media.schema
                variants = getattr(schema, "one_of", None) or []
                if any(getattr(variant, "type", None) == OpenAPIType.NULL for variant in variants):
                    body.required = False

"""Finishing touches to the generated OpenAPI document."""

from __future__ import annotations

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPIType, Reference


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

"""OpenAPI 3 generated from the code: routes from the URL map, shapes from the response dataclasses.

Nothing here is written by hand per endpoint, so the document cannot drift from what the API does.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask
from werkzeug.routing.converters import NumberConverter

F = TypeVar("F", bound=Callable[..., Any])

_PY_TO_JSON = {str: "string", int: "integer", bool: "boolean", float: "number"}


def constraints(**schema: Any) -> dict[str, Any]:
    """Metadata for a request dataclass's field: JSON Schema keywords (maxLength, enum, pattern,
    minimum, ...) the document adds to the field's schema, `items` to a list's items. Used as
    `title: str = field(metadata=constraints(maxLength=200))`."""
    return {"openapi": schema}


@dataclasses.dataclass(frozen=True)
class QueryParam:
    name: str
    type: type
    description: str
    minimum: int | None = None
    maximum: int | None = None
    # The only values the API accepts (any other answers 400).
    choices: tuple[str, ...] = ()


@dataclasses.dataclass
class Operation:
    summary: str
    description: str
    response: Any
    params: tuple[QueryParam, ...]
    paginated: bool
    request_body: Any = None
    anonymous: bool = False
    status: int = 200
    errors: tuple[int, ...] = ()
    body_optional: bool = False
    path_choices: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)


# Error answers an operation may list beyond the 400 and 401 every operation has.
ERROR_DESCRIPTIONS = {
    403: "Not allowed for this token's account",
    404: "No such resource, or not visible to the caller",
    409: "Refused by the resource's current state",
    422: "Invalid values",
    429: "A limit is reached (e.g. the expert already has as many requests as the caps allow)",
}


def documented(
    response: Any,
    *,
    params: tuple[QueryParam, ...] = (),
    paginated: bool = False,
    request_body: Any = None,
    anonymous: bool = False,
    status: int = 200,
    errors: tuple[int, ...] = (),
    body_optional: bool = False,
    path_choices: dict[str, tuple[str, ...]] | None = None,
):
    """Attach what the spec needs to a view: its response type and status, query parameters,
    request body (optional if `body_optional`), the values a string path parameter may take,
    and the error statuses it may answer besides 400 and 401."""

    def decorator(view: F) -> F:
        doc = inspect.cleandoc(view.__doc__ or "").split("\n\n", 1)
        view.openapi = Operation(  # type: ignore[attr-defined]
            summary=doc[0].strip(),
            description=doc[1].strip() if len(doc) > 1 else "",
            response=response,
            params=params,
            paginated=paginated,
            request_body=request_body,
            anonymous=anonymous,
            status=status,
            errors=errors,
            body_optional=body_optional,
            path_choices=path_choices or {},
        )
        return view

    return decorator


def _schema_for(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) > 1:  # e.g. int | str: a count, or "< 5" when suppressed
            schema = {"oneOf": [_schema_for(a, components) for a in args]}
            nullable = type(None) in typing.get_args(tp)
            return {**schema, "nullable": True} if nullable else schema
        schema = _schema_for(args[0], components)
        return _nullable(schema) if "$ref" not in schema else {"allOf": [schema], "nullable": True}
    if origin is list:
        return {"type": "array", "items": _schema_for(typing.get_args(tp)[0], components)}
    if dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in components:
            components[name] = {}  # reserve: guards against recursion
            hints = typing.get_type_hints(tp)
            fields = dataclasses.fields(tp)
            required = [
                f.name
                for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            ]
            schema: dict[str, Any] = {
                "type": "object",
                "properties": {f.name: _field_schema(f, hints[f.name], components) for f in fields},
            }
            doc = (tp.__doc__ or "").strip()
            if doc and not doc.startswith(f"{name}("):  # dataclass's generated signature
                schema["description"] = doc
            if required:  # OpenAPI 3.0 refuses an empty list
                schema["required"] = required
            components[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"type": "string", "enum": [member.value for member in tp]}
    if tp in _PY_TO_JSON:
        return {"type": _PY_TO_JSON[tp]}
    if tp is dict:
        return {"type": "object", "additionalProperties": True}
    raise TypeError(f"No JSON schema for {tp!r}")


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` or null. OpenAPI 3.0 checks `enum` even when `nullable` is true, so a nullable
    enum lists null among its values."""
    schema = {**schema, "nullable": True}
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema


def _field_schema(
    field: dataclasses.Field, hint: Any, components: dict[str, Any]
) -> dict[str, Any]:
    """A dataclass field's schema, with the `constraints` in its metadata. A nullable field
    still takes null, whatever they say (an `enum` they add lists it)."""
    schema = _schema_for(hint, components)
    extra = dict(field.metadata.get("openapi", {}))
    if not extra:
        return schema
    if "items" in extra:
        schema = {**schema, "items": {**schema["items"], **extra.pop("items")}}
    schema = {**schema, **extra}
    return _nullable(schema) if schema.get("nullable") else schema


def _path_parameter(rule: Any, name: str, choices: tuple[str, ...] | None) -> dict[str, Any]:
    """A path parameter as the URL converter matches it: `<int:...>` within its bounds (beyond
    them the route does not match), a string among `choices` when the view names them."""
    converter = rule._converters[name]
    schema: dict[str, Any] = {"type": "string"}
    if isinstance(converter, NumberConverter):
        schema = {"type": "integer" if converter.num_convert is int else "number"}
        low = converter.min
        if low is None and not converter.signed:
            low = 0
        if low is not None:
            schema["minimum"] = low
        if converter.max is not None:
            schema["maximum"] = converter.max
    elif choices:
        schema["enum"] = list(choices)
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _error_response(components: dict[str, Any]) -> dict[str, Any]:
    components.setdefault(
        "Error",
        {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "title", "message"],
                    "properties": {
                        "code": {"type": "integer"},
                        "title": {"type": "string"},
                        "message": {"type": "string"},
                        "fields": {
                            "type": "array",
                            "description": "With 422: each invalid field and why.",
                            "items": {
                                "type": "object",
                                "required": ["field", "message"],
                                "properties": {
                                    "field": {"type": "string", "nullable": True},
                                    "message": {"type": "string"},
                                },
                            },
                        },
                    },
                }
            },
        },
    )
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def _page_schema(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages"],
        "properties": {
            "items": {"type": "array", "items": item},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
            "pages": {"type": "integer"},
        },
    }


def build_spec(app: Flask, *, blueprint: str = "api", version: str = "1.0.0") -> dict[str, Any]:
    """Walk the app's routes of `blueprint` and describe every documented view."""
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    errors = _error_response(components)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith(f"{blueprint}."):
            continue
        operation: Operation | None = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if operation is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        body = _schema_for(operation.response, components)
        if operation.paginated:
            body = _page_schema(body)
        parameters = [
            _path_parameter(rule, argument, operation.path_choices.get(argument))
            for argument in sorted(rule.arguments)
        ]
        for param in operation.params:
            schema: dict[str, Any] = {"type": _PY_TO_JSON[param.type]}
            if param.minimum is not None:
                schema["minimum"] = param.minimum
            if param.maximum is not None:
                schema["maximum"] = param.maximum
            if param.choices:
                schema["enum"] = list(param.choices)
            parameters.append(
                {
                    "name": param.name,
                    "in": "query",
                    "required": False,
                    "description": param.description,
                    "schema": schema,
                }
            )
        responses: dict[str, Any] = {
            str(operation.status): {
                "description": "Created" if operation.status == 201 else "OK",
                "content": {"application/json": {"schema": body}},
            },
            "400": {
                "description": "Malformed request: not JSON, a wrong type, an unknown field or "
                "parameter value, or a NUL character (never accepted in any text)",
                "content": errors,
            },
        }
        secured = rule.endpoint != f"{blueprint}.openapi"
        if secured:
            unauthorised = (
                "A token that is not valid (none is needed)"
                if operation.anonymous
                else "Missing or invalid token"
            )
            responses["401"] = {"description": unauthorised, "content": errors}
        entry: dict[str, Any] = {
            "operationId": rule.endpoint.split(".", 1)[1],
            "summary": operation.summary,
            "responses": responses,
        }
        if operation.description:
            entry["description"] = operation.description
        if parameters:
            entry["parameters"] = parameters
        if operation.request_body is not None:
            body_schema = _schema_for(operation.request_body, components)
            # The API refuses fields it does not know (400), so the document says so.
            components[operation.request_body.__name__]["additionalProperties"] = False
            entry["requestBody"] = {
                "required": not operation.body_optional,
                "content": {"application/json": {"schema": body_schema}},
            }
            responses["422"] = {"description": ERROR_DESCRIPTIONS[422], "content": errors}
        for code in operation.errors:
            responses[str(code)] = {"description": ERROR_DESCRIPTIONS[code], "content": errors}
        if not secured:
            entry["security"] = []
        elif operation.anonymous:
            entry["security"] = [{}, {"bearerAuth": []}]  # a token is optional
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = entry
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Red Global MX API",
            "version": version,
            "description": "The membership platform of the Global Network of Skilled Mexicans. "
            "Reads of public data (chapters, members, events, needs, search, statistics) need no "
            "token and answer what the public pages show; a token, sent as `Authorization: Bearer "
            "<token>` and created on your account page, adds what its account may see and is "
            "needed for everything else. Messages and labels follow `Accept-Language` (es or en), "
            "else the token's account, else Spanish.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }

"""/api/docs: the OpenAPI document rendered as a page for people, so the two cannot disagree."""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from network.api import openapi_document
from network.markup import render_markdown

# Outside the `api` blueprint: that one is /api/v1 and answers bearer-token JSON only.
docs_bp = Blueprint("api_docs", __name__)

Schema = dict[str, Any]
# A type as pieces of text, each with the anchor of the component schema it links to, if any.
TypeText = tuple[tuple[str, str | None], ...]

# The shape network.errors answers with; 422 adds `fields`.
ERROR_EXAMPLE = {
    "error": {
        "code": 422,
        "title": "Invalid values",
        "message": "title: This field is required.",
        "fields": [{"field": "title", "message": "This field is required."}],
    }
}

_METHOD_ORDER = ("get", "post", "put", "patch", "delete")
_MAX_DEPTH = 4  # nested request-body objects shown inline; deeper ones are left to their link


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    type: TypeText
    required: bool
    description: Markup
    allowed: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    type: TypeText
    description: Markup
    bounds: str = ""


@dataclasses.dataclass(frozen=True)
class Answer:
    status: str
    description: str
    body: TypeText


@dataclasses.dataclass(frozen=True)
class Endpoint:
    anchor: str
    method: str
    path: str
    summary: str
    description: Markup
    auth: str  # "required", "optional" or "none"
    parameters: tuple[Parameter, ...]
    body_type: TypeText
    body_description: Markup
    body_fields: tuple[Field, ...]
    answers: tuple[Answer, ...]
    curl: str


@dataclasses.dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    description: Markup
    endpoints: tuple[Endpoint, ...]


@dataclasses.dataclass(frozen=True)
class SchemaDoc:
    anchor: str
    name: str
    description: Markup
    fields: tuple[Field, ...]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def schema_anchor(name: str) -> str:
    return f"schema-{_slug(name)}"


def _plain(schema: Schema) -> Schema:
    """A nullable reference as apispec writes it for OpenAPI 3.0 (`anyOf` a nullable object and
    the reference) read as the reference, nullable."""
    options = schema.get("anyOf", ())
    refs = [option for option in options if "$ref" in option]
    if len(refs) == 1 and all(
        o == {"type": "object", "nullable": True} for o in options if "$ref" not in o
    ):
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**rest, "allOf": refs, "nullable": True}
    return schema


def _ref_name(schema: Schema) -> str | None:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref.startswith("#/components/schemas/") else None


class _Reader:
    """Turns schemas of one spec into rows and type texts, following `$ref` into its components."""

    def __init__(self, spec: Schema) -> None:
        self.components: dict[str, Schema] = spec.get("components", {}).get("schemas", {})

    def resolve(self, schema: Schema) -> tuple[Schema, str | None]:
        """The schema behind a `$ref` (or a single-member `allOf`, how nullable refs are written)."""
        schema = _plain(schema)
        if len(schema.get("allOf", ())) == 1:
            inner, name = self.resolve(schema["allOf"][0])
            return {**inner, "nullable": schema.get("nullable", inner.get("nullable"))}, name
        name = _ref_name(schema)
        if name is not None:
            return self.components.get(name, {}), name
        return schema, None

    def type_text(self, schema: Schema) -> TypeText:
        schema = _plain(schema)
        if len(schema.get("allOf", ())) == 1:
            inner = self.type_text(schema["allOf"][0])
            return inner + (((" " + _("or null"), None),) if schema.get("nullable") else ())
        name = _ref_name(schema)
        if name is not None:
            return ((name, schema_anchor(name)),)
        pieces: list[tuple[str, str | None]] = []
        if "oneOf" in schema or "anyOf" in schema:
            for index, option in enumerate(schema.get("oneOf") or schema["anyOf"]):
                if index:
                    pieces.append((" " + _("or") + " ", None))
                pieces.extend(self.type_text(option))
        elif schema.get("type") == "array":
            pieces.append((_("array of") + " ", None))
            pieces.extend(self.type_text(schema.get("items", {})))
        elif self._is_page(schema):
            pieces.append((_("page of") + " ", None))
            pieces.extend(self.type_text(schema["properties"]["items"]["items"]))
        else:
            pieces.append((str(schema.get("type", _("any value"))), None))
        if schema.get("nullable"):
            pieces.append((" " + _("or null"), None))
        return tuple(pieces)

    @staticmethod
    def _is_page(schema: Schema) -> bool:
        properties = schema.get("properties", {})
        return {"items", "page", "per_page", "total"} <= properties.keys() and (
            properties["items"].get("type") == "array"
        )

    def _nested_object(self, schema: Schema) -> tuple[Schema, str, str | None] | None:
        """An object a field holds (directly, or as array items): its schema, the path suffix."""
        schema = _plain(schema)
        if "oneOf" in schema or "anyOf" in schema:
            return None  # alternatives are named in the type; their fields would mislead
        resolved, name = self.resolve(schema)
        if resolved.get("type") == "array":
            inner = self._nested_object(resolved.get("items", {}))
            return (inner[0], "[]" + inner[1], inner[2]) if inner else None
        if resolved.get("properties"):
            return resolved, ".", name
        return None

    def fields(
        self,
        schema: Schema,
        *,
        follow_refs: bool,
        prefix: str = "",
        seen: frozenset[str] = frozenset(),
        depth: int = 0,
    ) -> list[Field]:
        """One row per property, nested objects following as `parent.child` rows; objects named in
        components are only linked unless `follow_refs` (request bodies show everything in place)."""
        resolved, name = self.resolve(schema)
        seen = seen | {name} if name else seen
        required = set(resolved.get("required", ()))
        rows: list[Field] = []
        for key, prop in resolved.get("properties", {}).items():
            target = self.resolve(prop)[0]
            if target.get("type") == "array":
                target = self.resolve(target.get("items", {}))[0]
            rows.append(
                Field(
                    name=prefix + key,
                    type=self.type_text(prop),
                    required=key in required,
                    # A nested schema's own description is shown once, where it is listed.
                    description=_text(prop.get("description", "")),
                    allowed=tuple(str(v) for v in target.get("enum", ()) if v is not None),
                )
            )
            nested = self._nested_object(prop) if depth < _MAX_DEPTH else None
            if nested and (nested[2] is None or (follow_refs and nested[2] not in seen)):
                rows.extend(
                    self.fields(
                        nested[0],
                        follow_refs=follow_refs,
                        prefix=f"{prefix}{key}{nested[1]}",
                        seen=seen | ({nested[2]} if nested[2] else set()),
                        depth=depth + 1,
                    )
                )
        return rows

    def example(self, schema: Schema, depth: int = 0) -> Any:
        """A value of the schema's shape, filled with its required fields only, for curl lines."""
        resolved, _name = self.resolve(schema)
        if "oneOf" in resolved:
            return self.example(resolved["oneOf"][0], depth)
        kind = resolved.get("type")
        if resolved.get("enum"):
            return resolved["enum"][0]
        if kind == "object" and depth < _MAX_DEPTH:
            return {
                key: self.example(resolved["properties"][key], depth + 1)
                for key in resolved.get("required", ())
                if key in resolved.get("properties", {})
            }
        return {
            "array": [],
            "boolean": True,
            "integer": 1,
            "number": 1.0,
            "object": {},
        }.get(kind or "", "string")


def _text(text: str) -> Markup:
    """Docstrings are Markdown-ish (`code` spans, paragraphs); render them like member text."""
    return render_markdown(re.sub(r"\n[ \t]+", "\n", text.strip())) if text else Markup("")


def _auth(operation: Schema, spec: Schema) -> str:
    security = operation.get("security", spec.get("security", []))
    if not security:
        return "none"
    return "optional" if {} in security else "required"


def _curl(method: str, path: str, base: str, operation: Schema, body: Any, auth: str) -> str:
    """A runnable first try: path parameters get a sample value, the body its required fields."""
    values: dict[str, str] = {}
    for param in operation.get("parameters", ()):
        if param.get("in") == "path":
            schema = param.get("schema", {})
            sample = schema.get("enum", [1 if schema.get("type") == "integer" else param["name"]])
            values[param["name"]] = str(sample[0])
    url = base + re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), m.group(1)), path)
    lines = ["curl" + ("" if method == "get" else f" -X {method.upper()}")]
    if auth != "none":
        lines.append('-H "Authorization: Bearer $API_TOKEN"')
    if body is not None:
        lines.append('-H "Content-Type: application/json"')
        lines.append("-d '" + json.dumps(body, ensure_ascii=False).replace("'", "'\\''") + "'")
    lines.append(f"'{url}'")
    return " \\\n  ".join(lines)


def _bounds(schema: Schema) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return _("from %(low)s to %(high)s", low=low, high=high)
    if low is not None:
        return _("at least %(low)s", low=low)
    if high is not None:
        return _("at most %(high)s", high=high)
    return ""


def api_prefix(spec: Schema) -> str:
    """The shared start of every path (/api/v1), so groups and the base URL need no constant."""
    paths = list(spec.get("paths", {}))
    if not paths:
        return ""
    return posixpath.commonpath([path.rsplit("/", 1)[0] or "/" for path in paths]).rstrip("/")


def describe(spec: Schema, base: str) -> tuple[list[Section], list[SchemaDoc]]:
    """The spec as sections of endpoints (by tag, else by the path's first segment) and schemas."""
    reader = _Reader(spec)
    prefix = api_prefix(spec)
    tag_texts = {t["name"]: t.get("description", "") for t in spec.get("tags", ())}
    groups: dict[str, list[Endpoint]] = {}
    for path, item in spec.get("paths", {}).items():
        methods = sorted(
            (m for m in item if m in _METHOD_ORDER), key=lambda m: _METHOD_ORDER.index(m)
        )
        for method in methods:
            operation = item[method]
            tags = operation.get("tags") or []
            group = tags[0] if tags else "/" + path[len(prefix) :].strip("/").split("/")[0]
            auth = _auth(operation, spec)
            body_schema = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema")
            )
            answers = tuple(
                Answer(
                    status=status,
                    description=answer.get("description", ""),
                    body=reader.type_text(answer["content"]["application/json"]["schema"])
                    if "application/json" in answer.get("content", {})
                    else (),
                )
                for status, answer in sorted(operation.get("responses", {}).items())
            )
            parameters = tuple(
                Parameter(
                    name=p["name"],
                    location=p.get("in", ""),
                    required=bool(p.get("required")),
                    type=reader.type_text(p.get("schema", {})),
                    description=_text(p.get("description", "")),
                    bounds=_bounds(p.get("schema", {})),
                )
                for p in operation.get("parameters", ())
            )
            groups.setdefault(group, []).append(
                Endpoint(
                    anchor=_slug(f"{method} {path}"),
                    method=method.upper(),
                    path=path,
                    summary=" ".join(operation.get("summary", "").split()),
                    description=_text(operation.get("description", "")),
                    auth=auth,
                    parameters=parameters,
                    body_type=reader.type_text(body_schema) if body_schema else (),
                    body_description=_text(reader.resolve(body_schema)[0].get("description", ""))
                    if body_schema
                    else Markup(""),
                    body_fields=tuple(reader.fields(body_schema, follow_refs=True))
                    if body_schema
                    else (),
                    answers=answers,
                    curl=_curl(
                        method,
                        path,
                        base,
                        operation,
                        reader.example(body_schema) if body_schema else None,
                        auth,
                    ),
                )
            )
    sections = [
        Section(
            anchor="group-" + (_slug(title) or "root"),
            title=title,
            description=_text(tag_texts.get(title, "")),
            endpoints=tuple(endpoints),
        )
        for title, endpoints in sorted(groups.items())
    ]
    schemas = [
        SchemaDoc(
            anchor=schema_anchor(name),
            name=name,
            description=_text(schema.get("description", "")),
            fields=tuple(reader.fields(schema, follow_refs=False)),
        )
        for name, schema in sorted(reader.components.items())
    ]
    return sections, schemas


@docs_bp.get("/api/docs")
def docs() -> str:
    """Built from the app's document on each request (the page takes ~30 ms, mostly rendering)."""
    spec = openapi_document(current_app)
    servers = spec.get("servers") or [{"url": "/"}]
    base = request.host_url.rstrip("/") + servers[0]["url"].rstrip("/")
    sections, schemas = describe(spec, base)
    operations = [
        operation
        for item in spec.get("paths", {}).values()
        for method, operation in item.items()
        if method in _METHOD_ORDER
    ]
    per_page = [
        p.get("schema", {}).get("maximum")
        for operation in operations
        for p in operation.get("parameters", ())
        if p.get("name") == "per_page"
    ]
    return render_template(
        "api/docs.html",
        info=spec.get("info", {}),
        openapi_version=spec.get("openapi", ""),
        description=_text(spec.get("info", {}).get("description", "")),
        base_url=base + api_prefix(spec),
        sections=sections,
        schemas=schemas,
        error_anchor=schema_anchor("Error") if "Error" in {s.name for s in schemas} else None,
        error_example=json.dumps(ERROR_EXAMPLE, indent=2, ensure_ascii=False),
        page_size=current_app.config.get("API_PAGE_SIZE", 50),
        per_page_max=max((m for m in per_page if m is not None), default=100),
        limited=any("429" in operation.get("responses", {}) for operation in operations),
        spec_url=url_for("api.openapi"),
    )

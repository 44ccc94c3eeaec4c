"""flask-smorest, fitted to the API's contract: the Blueprint every resource uses, the request
parser, and the Api that writes the OpenAPI document from the resources' marshmallow schemas.

What is fitted, and why:
- The app keeps its own error handlers (network.errors): the pages' HTML errors and the API's
  JSON body are answered there, so the Api registers none of its own.
- A request webargs refuses is answered by network.api.errors (400 or 422 in the API's shape and
  language), and a body that is not a JSON object is a 400 naming what to send.
- Every operation documents its 400, its 401 and security from the token decorators
  (network.api.auth), its other errors with `answers`, and its operationId (the view's name).
- Schemas are documented with their docstrings; inline ones (pages, the error's parts) are not
  components of their own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NoReturn

import flask_smorest
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask, abort
from flask_babel import gettext as _
from flask_smorest.spec.plugins import FlaskPlugin
from marshmallow import Schema
from webargs import core
from webargs.flaskparser import FlaskParser

from network.api.errors import ANONYMOUS_401, ERROR_DESCRIPTIONS, Error, refuse_invalid_request

DESCRIPTION = (
    "The membership platform of the Global Network of Skilled Mexicans. Reads of public data "
    "(chapters, members, events, needs, search, statistics) need no token and answer what the "
    "public pages show; a token, sent as `Authorization: Bearer <token>` and created on your "
    "account page, adds what its account may see and is needed for everything else. Messages and "
    "labels follow `Accept-Language` (es or en), else the token's account, else Spanish."
)


class Parser(FlaskParser):
    """webargs' Flask parser, answering as the API always has."""

    def load_json(self, req: Any, schema: Schema) -> Any:
        """The body as a JSON object; an optional body may be empty. Anything else (not JSON, not
        an object, not parseable) is a 400 saying what to send."""
        if not req.get_data(cache=True) and getattr(schema, "optional", False):
            return core.missing
        body = req.get_json(silent=True)
        if not isinstance(body, dict):
            abort(400, description=_("Send a JSON object with %(what)s.", what=str(schema.what)))
        return body

    def handle_error(self, error: Any, req: Any, schema: Schema, **kwargs: Any) -> NoReturn:
        refuse_invalid_request(error.messages)


def _error_answer(code: int, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or ERROR_DESCRIPTIONS[code],
        "content": {"application/json": {"schema": Error}},
    }


class Blueprint(flask_smorest.Blueprint):
    """A resource's blueprint: its operations are tagged with its name."""

    ARGUMENTS_PARSER = Parser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_api_doc)

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Any = None,
        *args: Any,
        tags: Any = None,
        **options: Any,
    ) -> None:  # type: ignore[override]
        super().add_url_rule(rule, endpoint, view_func, *args, tags=tags or [self.name], **options)
        name = endpoint or view_func.__name__
        for method, doc in self._docs[name].items():
            if method != "parameters":
                doc.setdefault("manual_doc", {}).setdefault("operationId", name)

    def arguments(
        self, schema: Any, *, location: str = "json", **kwargs: Any
    ) -> Callable[[Any], Any]:  # type: ignore[override]
        """A request body (optional if its schema says so) or query parameters (whose errors are
        all 400s), read and checked by webargs before the view runs."""
        schema = schema() if isinstance(schema, type) else schema
        if location == "json":
            kwargs.setdefault("required", not getattr(schema, "optional", False))
        else:
            kwargs.setdefault("error_status_code", 400)
        return super().arguments(schema, location=location, **kwargs)

    def answers(self, *codes: int) -> Callable[[Any], Any]:
        """Document the error answers an operation may give besides its 400 and 401."""

        def decorator(view: Any) -> Any:
            for code in codes:
                view = self.alt_response(code, schema=Error, description=ERROR_DESCRIPTIONS[code])(
                    view
                )
            return view

        return decorator

    @staticmethod
    def _prepare_api_doc(
        doc: dict[str, Any], doc_info: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        """Every operation answers 400 (malformed), and 401 unless it is public; error answers
        read as the API's error body; a token's security is stated where it differs from the
        document's default (required)."""
        responses = {
            str(code): _error_answer(int(code)) if int(code) >= 400 else answer
            for code, answer in doc.get("responses", {}).items()
        }
        responses["400"] = _error_answer(400)
        token = doc_info.get("token")
        if token == "optional":
            responses["401"] = _error_answer(401, ANONYMOUS_401)
            doc["security"] = [{}, {"bearerAuth": []}]
        elif token == "required":
            responses["401"] = _error_answer(401)
        else:
            doc["security"] = []
        doc["responses"] = dict(sorted(responses.items()))
        return doc


class _Converter(OpenAPIConverter):
    """Schemas are described by their own docstring (not an inherited one)."""

    def schema2jsonschema(self, schema: Any) -> dict[str, Any]:
        jsonschema = super().schema2jsonschema(schema)
        doc = resolve_schema_cls(schema).__dict__.get("__doc__")
        if doc:
            jsonschema.setdefault("description", inspect.cleandoc(doc))
        return jsonschema


class _Plugin(MarshmallowPlugin):
    Converter = _Converter


class _RoutePlugin(FlaskPlugin):
    """Path parameters are stated in each operation, as a reader of one operation expects them
    (flask-smorest states them once for the path)."""

    def path_helper(self, rule: Any, operations: Any, parameters: list[Any], **kwargs: Any) -> str:
        path = super().path_helper(rule, operations, parameters, **kwargs)
        for operation in operations.values():
            operation["parameters"] = [*parameters, *operation.get("parameters", ())]
        parameters.clear()
        return path


def _schema_name(schema: Any) -> str | None:
    """A schema's component name is its class name; inline ones (a page of items, the parts of
    the error body) have none, so the document shows them in place."""
    cls = resolve_schema_cls(schema)
    if getattr(cls, "inline", False):
        return None
    return cls.__name__


class Api(flask_smorest.Api):
    """The API's OpenAPI document, generated from the resources' schemas and decorators."""

    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its own errors
    ERROR_SCHEMA = Error

    def __init__(self, app: Flask) -> None:
        spec = {
            "title": "Red Global MX API",
            "version": "1.0.0",
            "openapi_version": "3.0.3",
            "marshmallow_plugin": _Plugin(schema_name_resolver=_schema_name),
            "flask_plugin": _RoutePlugin(),
            "info": {"description": DESCRIPTION},
            "servers": [{"url": "/"}],
            "security": [{"bearerAuth": []}],
        }
        self._unwritten: list[Any] = []
        self._tags: list[dict[str, str]] = []
        super().__init__(app, spec_kwargs=spec)
        self.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})

    def register_blueprint(self, blp: Any, **options: Any) -> None:  # type: ignore[override]
        """Serve `blp` now; write its part of the document when the document is first read, not
        for every app the tests make (writing it takes ~90 ms)."""
        self._app.extensions["flask-smorest"]["blp_name_to_api"][blp.name] = self
        self._app.register_blueprint(blp, **options)
        self._unwritten.append(blp)

    def tag(self, name: str, description: str) -> None:
        """A group of operations, with what it is about."""
        self._tags.append({"name": name, "description": description})

    def document(self) -> dict[str, Any]:
        """The OpenAPI document, written on first use."""
        while self._unwritten:
            blp = self._unwritten.pop(0)
            blp.register_views_in_doc(self, self._app, self.spec, name=blp.name, parameters=None)
            self.spec.tag({"name": blp.name, "description": blp.description})
        while self._tags:
            self.spec.tag(self._tags.pop(0))
        return self.spec.to_dict()

    def _register_responses(self) -> None:
        """None: each operation states its own error answers (Blueprint._prepare_api_doc), so
        the generic per-status components flask-smorest prepares would go unused."""

    def _register_pagination_header(self) -> None:
        """None: pages are described in their body (network.api.pagination), not a header."""

    def _register_error_handlers(self) -> None:
        """None: network.errors answers every error, as a page or as the API's JSON."""

    def _register_doc_blueprint(self) -> None:
        """None: the API serves its document itself, at /api/v1/openapi.json (network.api)."""

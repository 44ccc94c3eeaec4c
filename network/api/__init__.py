"""The JSON API, /api/v1/, authenticated with bearer tokens: one module per resource, each a
blueprint of its own, declared with flask-smorest so that the marshmallow schemas that check
requests and shape responses are also what the OpenAPI document at /api/v1/openapi.json says."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from marshmallow import fields

from network.api import chapters, dashboard, events, me, members, needs, search, stats
from network.api.blueprint import Api, Blueprint
from network.api.schemas.fields import Response
from network.extensions import csrf

RESOURCES = (me, chapters, members, events, needs, search, stats, dashboard)

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="This document.")
for _resource in RESOURCES:
    bp.register_blueprint(_resource.bp)


class OpenAPIDocument(Response):
    """This document."""

    openapi = fields.String(required=True)


@bp.route("/openapi.json")
@bp.response(200, OpenAPIDocument)
def openapi() -> ResponseReturnValue:
    """This API's OpenAPI 3 description, generated from the code."""
    return jsonify(openapi_document(current_app))


def openapi_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of the API `app` serves (written once, when the app is made)."""
    return app.extensions["flask-smorest"]["apis"][""]["ext_obj"].document()


def register_api(app: Flask) -> None:
    """Serve the API on `app` and write its document. The API authenticates with bearer tokens,
    never cookies, so CSRF does not apply to it."""
    api = Api(app)
    api.register_blueprint(bp)
    for resource in RESOURCES:
        api.tag(resource.bp.name, resource.bp.description)
    csrf.exempt(bp)
    for resource in RESOURCES:
        csrf.exempt(resource.bp)

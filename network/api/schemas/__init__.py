"""The API's request and response shapes, declared once as marshmallow schemas: webargs checks
requests against them, responses are dumped through them, and the OpenAPI document is generated
from them (network.api.blueprint). One module per resource; `fields` holds the shared pieces."""

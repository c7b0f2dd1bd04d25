"""GET /v1/openapi.json: the OpenAPI document of this API. No key, no envelope.

Public on purpose: it describes the API every deployment serves, names nothing of any
workspace, and tools (client generators, schemathesis) load it before they hold a key.
"""

from __future__ import annotations

import json

import falcon

from app.auth import Access
from app.openapi import build_document


class OpenApiDocument:
    access = Access.PUBLIC

    def __init__(self) -> None:
        # Built and serialized once: it changes only with the code.
        self.body = json.dumps(build_document(), ensure_ascii=False).encode("utf-8")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = self.body

"""The typed router: routes declare their body, query and response Structs; the router validates
requests (400 naming the field), encodes responses, and derives /api/openapi.json from the same types.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

import msgspec
from aiohttp import web

from cryb_node.http.scopes import check_scope
from cryb_node.problem_codes import Code
from cryb_node.problem_scan import handler_codes
from cryb_node.problems import Problem, ProblemBody, unauthorized

AuthMode = Literal["none", "optional", "required"]


class Principal(msgspec.Struct, frozen=True):
    """Who is making the request, as an Authenticator established it."""

    user_id: str
    session_id: str | None = None
    admin: bool = False
    # An API token's scopes (read, write, moderate, admin); None for a signed-in session (all of them).
    scopes: frozenset[str] | None = None
    bot: bool = False  # a bot account (plugins/users/bots.py)


PRINCIPAL = web.RequestKey("principal", Principal)


@dataclass
class Call:
    """What a handler receives: the aiohttp request plus the validated inputs."""

    request: web.Request
    body: Any
    query: Any
    principal: Principal | None

    @property
    def user_id(self) -> str:
        if self.principal is None:  # auth="required" routes never get here without one
            raise unauthorized()
        return self.principal.user_id

    @property
    def viewer_id(self) -> str | None:
        """The signed-in caller's id, or None for an anonymous one (routes open to both)."""
        return self.principal.user_id if self.principal is not None else None

    def path(self, name: str) -> str:
        return self.request.match_info[name]


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    handler: Handler
    body: type | None
    query: type | None
    response: type | None
    status: int
    bucket: str | None
    auth: AuthMode
    summary: str
    tag: str
    produces: str | None  # content type of a non-JSON response (HTML, metrics text)
    # This route's own request-body limit in bytes (None: server.max_body_bytes). Only routes that
    # stream their body (uploads) should raise it: request.read() stays capped by client_max_size.
    max_body: int | None = None


_json_encode = msgspec.json.Encoder().encode


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=_json_encode(value), status=status, content_type="application/json", headers=headers
    )


def _field_of(err: msgspec.ValidationError) -> tuple[str | None, str]:
    text = str(err)
    m = re.search(r" - at `\$\.?(.*)`$", text)
    path, detail = (m.group(1) or None, text[: m.start()]) if m else (None, text)
    # An unknown or missing key is the field at fault, not the object holding it (`kinds.telepathy`).
    unknown = re.fullmatch(r"Object (?:contains unknown|missing required) field `(.+)`", detail)
    if unknown:
        path = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
    return path, detail


def decode_body(raw: bytes, type_: type) -> Any:
    if not raw:
        raise Problem("invalid_body", 400, "a JSON request body is required")
    try:
        return msgspec.json.decode(raw, type=type_)
    except msgspec.ValidationError as err:
        fld, detail = _field_of(err)
        raise Problem("invalid_field", 400, detail, field=fld) from None
    except msgspec.DecodeError as err:
        raise Problem("invalid_json", 400, f"body is not valid JSON: {err}") from None


def decode_query(query: Any, type_: type) -> Any:
    try:
        return msgspec.convert(dict(query), type_, strict=False)
    except msgspec.ValidationError as err:
        fld, detail = _field_of(err)
        raise Problem("invalid_query", 400, detail, field=fld) from None


@dataclass
class Api:
    """Collects routes from the core and every plugin, then installs them on the aiohttp app."""

    specs: list[RouteSpec] = field(default_factory=list)
    tag: str = "core"

    def route(
        self,
        method: str,
        path: str,
        *,
        body: type | None = None,
        query: type | None = None,
        response: type | None = None,
        status: int = 200,
        bucket: str | None = "default",
        auth: AuthMode = "optional",
        summary: str = "",
        produces: str | None = None,
        max_body: int | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.specs.append(
                RouteSpec(
                    method.upper(),
                    path,
                    handler,
                    body,
                    query,
                    response,
                    status,
                    bucket,
                    auth,
                    summary or (handler.__doc__ or "").strip().split("\n")[0],
                    self.tag,
                    produces,
                    max_body,
                )
            )
            return handler

        return register

    def for_plugin(self, tag: str) -> Api:
        """A view on the same route list that tags what it registers with a plugin's name."""
        return Api(self.specs, tag)

    def install(self, app: web.Application) -> None:
        seen: set[tuple[str, str]] = set()
        for spec in self.specs:
            if (spec.method, spec.path) in seen:
                raise ValueError(f"route {spec.method} {spec.path} is registered twice")
            seen.add((spec.method, spec.path))
            app.router.add_route(spec.method, spec.path, _wrap(spec))


def _wrap(spec: RouteSpec) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        principal = request.get(PRINCIPAL)
        if spec.auth == "required" and principal is None:
            raise unauthorized()
        if principal is not None and principal.scopes is not None and spec.auth != "none":
            check_scope(spec.method, spec.path, principal.scopes)
        body = decode_body(await request.read(), spec.body) if spec.body is not None else None
        query = decode_query(request.query, spec.query) if spec.query is not None else None
        result = await spec.handler(Call(request, body, query, principal))
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204 if spec.status == 200 else spec.status)
        return json_response(result, spec.status)

    handle.__dict__["cryb_route"] = spec  # read by route_of (and the OpenAPI and problem-code tests)
    handle.__name__ = spec.handler.__name__
    return handle


def route_spec(request: web.Request) -> RouteSpec | None:
    handler = getattr(request.match_info, "handler", None)
    return getattr(handler, "cryb_route", None)


# -- OpenAPI --------------------------------------------------------------------------------

_ERRORS = {
    "400": "Invalid input; `field` names what was wrong",
    "401": "Missing or invalid credentials",
    "403": "Not allowed",
    "404": "Not found",
    "413": "Request body too large",
    "429": "Rate limited; see Retry-After and X-RateLimit-* headers",
}


def route_codes(spec: RouteSpec) -> dict[str, int | None]:
    """The problem codes a route can answer with their status: its handler's (read from the source,
    problem_scan.py) and those of the checks every route of its kind goes through."""
    codes = handler_codes(spec.handler, [c.value for c in Code])
    if spec.body is not None:
        codes.update({Code.INVALID_BODY: 400, Code.INVALID_FIELD: 400, Code.INVALID_JSON: 400})
        codes[Code.PAYLOAD_TOO_LARGE] = 413
    if spec.query is not None:
        codes[Code.INVALID_QUERY] = 400
    if spec.auth != "none":
        codes[Code.INVALID_TOKEN] = 401
        codes[Code.INSUFFICIENT_SCOPE] = 403
    if spec.auth == "required":
        codes[Code.UNAUTHORIZED] = 401
    if spec.bucket is not None:
        codes[Code.RATE_LIMITED] = 429
    return {str(c): st for c, st in codes.items()}


def openapi(
    specs: list[RouteSpec], *, title: str, version: str, extra_paths: dict[str, Any]
) -> dict[str, Any]:
    types: set[type] = {ProblemBody}
    for s in specs:
        types.update(t for t in (s.body, s.query, s.response) if t is not None)
    ordered = sorted(types, key=lambda t: getattr(t, "__name__", str(t)))
    _, components = msgspec.json.schema_components(ordered, ref_template="#/components/schemas/{name}")

    def ref(t: type) -> dict[str, Any]:
        (schema,), _ = msgspec.json.schema_components([t], ref_template="#/components/schemas/{name}")
        return schema

    paths: dict[str, Any] = dict(extra_paths)
    for s in specs:
        op: dict[str, Any] = {
            "operationId": f"{s.tag}_{s.handler.__name__}",
            "summary": s.summary or s.handler.__name__,
            "tags": [s.tag],
            "responses": {},
        }
        params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in re.findall(r"{(\w+)}", s.path)
        ]
        if s.query is not None:
            qschema = components[s.query.__name__]
            required = set(qschema.get("required", []))
            for name, prop in qschema.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
        if params:
            op["parameters"] = params
        if s.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(s.body)}}}
        if s.response is not None:
            op["responses"][str(s.status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": ref(s.response)}},
            }
        elif s.produces is not None:
            op["responses"][str(s.status)] = {
                "description": "OK",
                "content": {s.produces: {"schema": {"type": "string"}}},
            }
        else:
            op["responses"]["204" if s.status == 200 else str(s.status)] = {"description": "Done"}
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemBody"}}}
        for code, text in _ERRORS.items():
            if code == "401" and s.auth == "none":
                continue
            op["responses"][code] = {"description": text, "content": problem}
        codes = route_codes(s)
        op["x-problem-codes"] = sorted(codes)
        for status in sorted({st for st in codes.values() if st is not None}):
            response = op["responses"].setdefault(
                str(status), {"description": HTTPStatus(status).phrase, "content": problem}
            )
            response["x-problem-codes"] = sorted(c for c, st in codes.items() if st == status)
        if s.auth != "none":
            op["security"] = [{"bearer": []}] if s.auth == "required" else [{"bearer": []}, {}]
        path = re.sub(r"{(\w+)(:[^}]*)?}", r"{\1}", s.path)
        paths.setdefault(path, {})[s.method.lower()] = op
    code_schema = components[ProblemBody.__name__]["properties"]["code"]
    code_schema["enum"] = [c.value for c in Code]
    code_schema["description"] = "A stable code from the registry; docs/errors.md says what each means."
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }

"""Errors as values with a stable code, rendered by one middleware as application/problem+json."""

from __future__ import annotations

import msgspec

from cryb_node.problem_codes import Code


class ProblemBody(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details plus our stable ``code`` and the offending ``field``."""

    type: str
    title: str
    status: int
    code: str
    detail: str = ""
    field: str | None = None
    request_id: str | None = None
    moved_to: str | None = None  # extension member (RFC 9457 3.2): account_moved's new home URL


class Problem(Exception):
    """Raise anywhere in request handling; the error middleware turns it into a response."""

    def __init__(
        self,
        code: Code | str,
        status: int,
        detail: str = "",
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        moved_to: str | None = None,
    ) -> None:
        code = str(code)  # a registry member or its text (tests/test_problem_codes.py holds both to it)
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.status = status
        self.detail = detail
        self.field = field
        self.headers = headers or {}
        self.moved_to = moved_to

    def body(self, request_id: str | None = None) -> ProblemBody:
        from http import HTTPStatus

        try:
            title = HTTPStatus(self.status).phrase
        except ValueError:
            title = "Error"
        return ProblemBody(
            type=f"https://cryb.dev/problems/{self.code}",
            title=title,
            status=self.status,
            code=self.code,
            detail=self.detail,
            field=self.field,
            request_id=request_id,
            moved_to=self.moved_to,
        )


def not_found(what: str = "resource") -> Problem:
    return Problem("not_found", 404, f"{what} not found")


def forbidden(detail: str = "you may not do this") -> Problem:
    return Problem("forbidden", 403, detail)


def unauthorized(detail: str = "authentication required") -> Problem:
    return Problem("unauthorized", 401, detail, headers={"WWW-Authenticate": "Bearer"})

"""One registry of problem codes (cryb_node/problem_codes.py): every code the core and the built-in
plugins raise is in it, every code in it is raised somewhere, docs/errors.md is generated from it,
and /api/openapi.json lists the registry in the ProblemBody schema and each route's codes."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path

import msgspec
import pytest

from cryb_node import problem_scan
from cryb_node.app import build_app
from cryb_node.problem_codes import Code, markdown
from cryb_node.problems import Problem
from tests.conftest import make_config
from tests.users_fixtures import FAST_HASHING

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = {c.value for c in Code}


@pytest.fixture(scope="module")
def scanned() -> tuple[list[problem_scan.Use], list[problem_scan.Dynamic]]:
    import cryb_plugins  # noqa: F401 - the scan finds plugin sources through the package

    uses: list[problem_scan.Use] = []
    dynamic: list[problem_scan.Dynamic] = []
    for module in problem_scan.own_modules(ROOT):
        u, d = problem_scan.scan_module(module)
        uses += u
        dynamic += d
    return uses, dynamic


def test_every_code_raised_is_in_the_registry(scanned):
    uses, _ = scanned
    assert len(uses) > 150  # the scan sees the code base (a broken scan must not pass as "no codes")
    unknown = [f"{u.module}:{u.line}: {u.code}" for u in uses if not u.pattern and u.code not in REGISTRY]
    assert not unknown, "codes missing from cryb_node/problem_codes.py:\n" + "\n".join(unknown)
    for u in (u for u in uses if u.pattern):
        assert any(re.fullmatch(u.code, c) for c in REGISTRY), (
            f"{u.module}:{u.line}: {u.code} matches no code"
        )


def test_no_code_is_computed_where_the_scan_cannot_check_it(scanned):
    _, dynamic = scanned
    assert not dynamic, "write the code out, or list the site in problem_scan.DYNAMIC:\n" + "\n".join(
        f"{d.module}:{d.line} in {d.function}: {d.expr}" for d in dynamic
    )


def test_every_code_in_the_registry_is_raised_somewhere(scanned):
    uses, _ = scanned
    used = {u.code for u in uses if not u.pattern}
    patterns = [u.code for u in uses if u.pattern]
    unused = sorted(c for c in REGISTRY if c not in used and not any(re.fullmatch(p, c) for p in patterns))
    assert not unused, f"registry codes nothing raises (remove them): {unused}"


def test_the_scan_reads_literals_f_strings_constants_and_forwarded_codes():
    # Known sites in the code base, one of each kind the scan has to understand.
    uses, _ = problem_scan.scan_module("cryb_plugins.users.twofactor")
    assert {"totp_enabled", "totp_not_enrolling", "invalid_code"} <= {u.code for u in uses}
    assert {u.status for u in uses if u.code == "totp_enabled"} == {409}
    uses, _ = problem_scan.scan_module("cryb_plugins.users.registration_tokens")
    assert any(u.pattern and re.fullmatch(u.code, "invite_expired") for u in uses)
    uses, _ = problem_scan.scan_module("cryb_node.sync.banpolicy")
    assert "node_banned" in {u.code for u in uses}  # Refusal(CODE, ...) with a module constant
    uses, dynamic = problem_scan.scan_module("cryb_plugins.users.signup_defences")
    assert not dynamic and "pow_required" in {u.code for u in uses}  # through _pow_problem(code, ...)


def test_problem_takes_a_registry_member_or_its_text():
    for code in (Code.NOT_FOUND, "not_found"):
        problem = Problem(code, 404, "no such thing")
        assert problem.code == "not_found" and type(problem.code) is str
        assert msgspec.json.decode(msgspec.json.encode(problem.body()))["code"] == "not_found"


def test_docs_errors_md_is_the_generated_list():
    # Regenerate with: python -m cryb_node.problem_codes --markdown > docs/errors.md
    assert (ROOT / "docs" / "errors.md").read_text() == markdown()
    for code in Code:
        assert f"| `{code.value}` | {code.meaning} |" in markdown()
        assert code.meaning and "\n" not in code.meaning


def test_readme_points_to_the_code_list():
    readme = (ROOT / "README.md").read_text()
    assert "docs/errors.md" in readme


# -- /api/openapi.json ------------------------------------------------------------------------

# Callables that carry a code, and where the code is: an independent, simpler reading than the
# scan's, of the handler alone (what a route raises directly).
DIRECT = {"Problem": 0, "Denied": 0, "Refusal": 0, "Invalid": 0, "Refused": 1, "_pow_problem": 0}
HELPERS = {"not_found": "not_found", "forbidden": "forbidden", "unauthorized": "unauthorized"}


def direct_codes(handler) -> set[str]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(handler)))
    except (OSError, TypeError):
        return set()
    out: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name in HELPERS:
            out.add(HELPERS[name])
        index = DIRECT.get(name or "")
        if index is not None and len(node.args) > index:
            arg = node.args[index]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.add(arg.value)
    # signup_defences.Refusal(reason, Problem(...)) carries an audit reason, not a code.
    return out & REGISTRY if "Refusal" in inspect.getsource(handler) else out


@pytest.fixture
async def doc_and_specs(aiohttp_client, tmp_path):
    client = await aiohttp_client(
        build_app(
            make_config(tmp_path / "data", plugin={"users": FAST_HASHING}, rate_limits={"enabled": False})
        )
    )
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    specs = {r.handler.cryb_route for r in client.app.router.routes() if hasattr(r.handler, "cryb_route")}
    return await resp.json(), specs


async def test_openapi_problem_schema_lists_the_registry(doc_and_specs):
    doc, _ = doc_and_specs
    schema = doc["components"]["schemas"]["ProblemBody"]["properties"]["code"]
    assert schema["enum"] == [c.value for c in Code]


async def test_every_route_documents_the_codes_its_handler_raises(doc_and_specs):
    doc, specs = doc_and_specs
    checked = 0
    for spec in specs:
        path = re.sub(r"{(\w+)(:[^}]*)?}", r"{\1}", spec.path)
        op = doc["paths"][path][spec.method.lower()]
        documented = set(op["x-problem-codes"])
        if spec.handler.__module__.startswith(("cryb_node.", "cryb_plugins.")):
            assert documented <= REGISTRY, f"{spec.method} {path}: {documented - REGISTRY}"
        raised = direct_codes(spec.handler)
        assert raised <= documented, f"{spec.method} {path} raises {sorted(raised - documented)} undocumented"
        checked += bool(raised)
        for status, response in op["responses"].items():
            for code in response.get("x-problem-codes", []):
                assert code in documented and status.isdigit()
    assert checked >= 15  # many handlers raise codes of their own: the comparison really ran


async def test_a_route_lists_the_codes_of_the_service_functions_it_calls(doc_and_specs):
    doc, _ = doc_and_specs
    # The handler calls users.twofactor.confirm, which raises these two; the body brings the rest.
    op = doc["paths"]["/api/v1/users/@me/totp/confirm"]["post"]
    assert {"totp_not_enrolling", "invalid_code", "invalid_body", "unauthorized"} <= set(
        op["x-problem-codes"]
    )
    assert "totp_not_enrolling" in op["responses"]["409"]["x-problem-codes"]
    # A route with no auth and no body answers neither unauthorized nor invalid_body.
    health = doc["paths"]["/healthz"]["get"]
    assert "unauthorized" not in health["x-problem-codes"] and "invalid_body" not in health["x-problem-codes"]

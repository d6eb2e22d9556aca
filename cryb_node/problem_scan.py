"""Which problem codes the code can answer, read from the source by an AST walk (nothing is run):
every code passed to ``Problem`` or to a callable that carries a code into one, and per route handler
the codes of the handler and of the module functions it calls. /api/openapi.json lists these per route and
tests/test_problem_codes.py holds them to the registry (problem_codes.py), so neither can drift from
the code. Without source files (the single-file binary ships bytecode) routes list no codes.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

# Callables that carry a problem code, by module and name: (position of the code argument, position
# of the status argument or the fixed status). Named here as text, not imported: the core knows the
# plugins' carriers only as names to look for in source.
CARRIERS: dict[tuple[str, str], tuple[int, int | tuple[int]]] = {
    ("cryb_node.problems", "Problem"): (0, 1),
    # A rule-book refusal: a local write gets it as a 403 Problem (events.py), a peer as a refusal.
    ("cryb_node.refusals", "Refusal"): (0, (403,)),
    ("cryb_plugins.communities.authority", "Denied"): (0, 1),
    ("cryb_plugins.users.validate", "Invalid"): (0, (400,)),
    ("cryb_plugins.media.images", "Refused"): (1, 0),
    ("cryb_plugins.users.signup_defences", "_pow_problem"): (0, (400,)),
}
# Sites that pass a code computed from a table rather than written out, with the codes they can give.
DYNAMIC: dict[tuple[str, str], tuple[str, ...]] = {
    # aiohttp's own HTTP errors, by status (_HTTP_CODES), else aiohttp's reason phrase as a code.
    ("cryb_node.http.middleware", "error_middleware"): (
        "not_found",
        "method_not_allowed",
        "payload_too_large",
    ),
    # Refusals read back from the log: their codes were checked where the refusal was made.
    ("cryb_node.events", "decode_row"): (),
}
MAX_DEPTH = 6  # calls followed from a handler; deeper helpers are rare and make the walk slow


@dataclass(frozen=True)
class Use:
    """One code a carrier is given: a literal, or a pattern (an f-string) for several."""

    code: str
    status: int | None
    module: str
    line: int
    pattern: bool = False


@dataclass(frozen=True)
class Dynamic:
    """A carrier given a computed code at ``module:line`` (inside ``function``)."""

    module: str
    function: str
    line: int
    expr: str


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    defs: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = field(default_factory=dict)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # local name -> (module, name)
    modules: dict[str, str] = field(default_factory=dict)  # local alias -> module
    constants: dict[str, str] = field(default_factory=dict)  # module-level NAME = "text"


def _absolute(module: str, level: int, target: str | None, is_package: bool) -> str:
    if level == 0:
        return target or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _roots() -> dict[str, Path]:
    roots = {"cryb_node": Path(__file__).resolve().parent}
    plugins = sys.modules.get("cryb_plugins")
    if plugins is not None:
        roots["cryb_plugins"] = Path(next(iter(plugins.__path__))).resolve()
    elif (roots["cryb_node"].parent / "plugins").is_dir():
        roots["cryb_plugins"] = roots["cryb_node"].parent / "plugins"
    return roots


def _file_of(name: str) -> Path | None:
    """The source file of one of our modules (found on disk: finding it by import would run it)."""
    top, *rest = name.split(".")
    root = _roots().get(top)
    if root is None:  # another package's plugin: read its module if it is loaded
        file = getattr(sys.modules.get(name), "__file__", None)
        return Path(file) if file and file.endswith(".py") else None
    base = root.joinpath(*rest)
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


@cache
def load(name: str) -> Module | None:
    """One of our modules' parsed source; None if it has none here (or is not ours)."""
    path = _file_of(name)
    if path is None:
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except OSError:
        return None
    mod = Module(name, path, tree)
    is_package = path.name == "__init__.py"
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            mod.defs[node.name] = node
            if isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
                        mod.defs[f"{node.name}.{sub.name}"] = sub
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    mod.constants[target.id] = node.value.value
    # Module-level imports (and those under ``if TYPE_CHECKING:``); a full walk costs more than it finds.
    top = [n for n in tree.body if not isinstance(n, ast.If)]
    top += [n for n in tree.body if isinstance(n, ast.If) for n in n.body]
    for node in top:
        if isinstance(node, ast.ImportFrom):
            source = _absolute(name, node.level, node.module, is_package)
            for alias in node.names:
                local = alias.asname or alias.name
                # ``from . import routes`` names a module; ``from .x import f`` names a function.
                if _file_of(f"{source}.{alias.name}") is not None:
                    mod.modules[local] = f"{source}.{alias.name}"
                mod.names[local] = (source, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                mod.modules[alias.asname or alias.name] = alias.name
    return mod


_OWN = ("cryb_node", "cryb_plugins")


def _is_own(name: str) -> bool:
    return name.split(".")[0] in _OWN


def _resolve(mod: Module, func: ast.expr) -> tuple[str, str] | None:
    """The (module, definition) a call's callee names, if it is one of ours and can be told statically."""
    if isinstance(func, ast.Name):
        if func.id in mod.defs:
            return mod.name, func.id
        if func.id in mod.names:
            return mod.names[func.id]
        return None
    if isinstance(func, ast.Attribute):
        value = func.value
        if isinstance(value, ast.Name) and value.id in mod.modules:
            return mod.modules[value.id], func.attr
        # self.method(): a method of a class of this module, when only one class has that name.
        if isinstance(value, ast.Name) and value.id == "self":
            found = [k for k in mod.defs if k.endswith(f".{func.attr}") and k.count(".") == 1]
            if len(found) == 1:
                return mod.name, found[0]
        # Other obj.method() calls are not followed: telling obj's type needs more than a read of
        # the source, and reading every module to guess it made the first /api/openapi.json slow.
    return None


def _carrier(target: tuple[str, str] | None) -> tuple[int, int | tuple[int]] | None:
    return CARRIERS.get(target) if target is not None else None


def _code_arg(call: ast.Call, index: int) -> ast.expr | None:
    if len(call.args) > index:
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == "code"), None)


def _status_of(call: ast.Call, status: int | tuple[int]) -> int | None:
    if isinstance(status, tuple):
        return status[0]
    arg = call.args[status] if len(call.args) > status else None
    arg = arg or next((k.value for k in call.keywords if k.arg == "status"), None)
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, int) else None


def pattern_of(expr: ast.JoinedStr) -> str:
    """An f-string as a regular expression: its literal parts, a word for each placeholder."""
    parts = []
    for value in expr.values:
        if isinstance(value, ast.Constant):
            parts.append(re.escape(str(value.value)))
        else:
            parts.append(r"\w+")
    return "".join(parts)


def _functions(tree: ast.AST) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function with its qualified name (nested ones included), outermost first."""

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, Any]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                yield name, child
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def _calls(tree: ast.AST) -> Iterator[tuple[ast.Call, str, set[str]]]:
    """Every call with the qualified name and parameters of the function it is written in."""

    def walk(node: ast.AST, qual: str, params: set[str]) -> Iterator[tuple[ast.Call, str, set[str]]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                args = child.args
                inner = {a.arg for a in args.args + args.kwonlyargs + args.posonlyargs}
                name = f"{qual}.{child.name}" if qual != "<module>" else child.name
                yield from walk(child, name, inner)
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, child.name if qual == "<module>" else f"{qual}.{child.name}", params)
            else:
                if isinstance(child, ast.Call):
                    yield child, qual, params
                yield from walk(child, qual, params)

    yield from walk(tree, "<module>", set())


def scan_module(name: str) -> tuple[list[Use], list[Dynamic]]:
    """Every code given to a carrier in one module, and the computed ones that are not forwarded."""
    mod = load(name)
    if mod is None:
        return [], []
    uses: list[Use] = []
    dynamic: list[Dynamic] = []
    for node, function, params in _calls(mod.tree):
        spec = _carrier(_resolve(mod, node.func))
        if spec is None:
            continue
        arg = _code_arg(node, spec[0])
        status = _status_of(node, spec[1])
        if isinstance(arg, ast.Name) and arg.id in mod.constants and arg.id not in params:
            arg = ast.Constant(mod.constants[arg.id])
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            uses.append(Use(arg.value, status, name, node.lineno))
        elif isinstance(arg, ast.JoinedStr):
            uses.append(Use(pattern_of(arg), status, name, node.lineno, pattern=True))
        elif isinstance(arg, ast.Name) and arg.id in params:
            continue  # forwarded: the caller's code is checked where it is written
        elif isinstance(arg, ast.Attribute) and arg.attr == "code":
            continue  # re-raised: an exception's or a refusal's code, checked where it was made
        elif (name, function) in DYNAMIC:
            uses.extend(Use(code, status, name, node.lineno) for code in DYNAMIC[(name, function)])
        else:
            dynamic.append(Dynamic(name, function, node.lineno, ast.unparse(arg) if arg else "?"))
    return uses, dynamic


def own_modules(root: Path) -> Iterator[str]:
    """Module names of the core and the built-in plugins in a source tree."""
    for top, package in (("cryb_node", "cryb_node"), ("plugins", "cryb_plugins")):
        for path in sorted((root / top).rglob("*.py")):
            parts = [p for p in path.relative_to(root / top).with_suffix("").parts if p != "__init__"]
            yield ".".join([package, *parts])


@cache
def _function_codes(module: str, qual: str, depth: int) -> frozenset[tuple[str, int | None, bool]]:
    mod = load(module)
    node = mod.defs.get(qual) if mod is not None else None
    if mod is None or not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return frozenset()
    found: set[tuple[str, int | None, bool]] = set()
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Call):
            continue
        target = _resolve(mod, sub.func)
        spec = _carrier(target)
        if spec is not None:
            arg = _code_arg(sub, spec[0])
            status = _status_of(sub, spec[1])
            if isinstance(arg, ast.Name) and arg.id in mod.constants:
                arg = ast.Constant(mod.constants[arg.id])
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.add((arg.value, status, False))
            elif isinstance(arg, ast.JoinedStr):
                found.add((pattern_of(arg), status, True))
            continue
        if target is not None and depth < MAX_DEPTH and _is_own(target[0]):
            found |= _function_codes(target[0], target[1], depth + 1)
    return frozenset(found)


def handler_codes(handler: Callable[..., Any], registry: list[str]) -> dict[str, int | None]:
    """The codes a route handler (and what it calls, as far as can be told) may answer, with their
    HTTP status where it is written next to them."""
    module = getattr(handler, "__module__", "")
    mod = load(module) if module else None
    if mod is None:
        return {}
    # Handlers are usually nested in a routes(api, node) function: found by their first line (their
    # names may be rewritten).
    line = getattr(getattr(handler, "__code__", None), "co_firstlineno", None)
    key = _by_line(module).get(line or -1)
    if key is None:
        return {}
    out: dict[str, int | None] = {}
    for code, status, is_pattern in sorted(_function_codes(module, key, 0), key=str):
        for c in [r for r in registry if re.fullmatch(code, r)] if is_pattern else [code]:
            if out.get(c) is None:
                out[c] = status
    return out


@cache
def _by_line(module: str) -> dict[int, str]:
    """A module's functions (nested ones too) by first line; each is added to its definitions."""
    mod = load(module)
    out: dict[int, str] = {}
    if mod is None:
        return out
    for qual, fn in _functions(mod.tree):
        out[_starts(fn)] = qual
        mod.defs.setdefault(qual, fn)
    return out


def _starts(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The line Python reports as a function's first: its first decorator's, if it has any."""
    return min([fn.lineno, *(d.lineno for d in fn.decorator_list)])

"""Find and flip the switch literal (``USE_S3`` unless SWITCH_NAME says otherwise) in a Python settings file.

Pure text in, text out: the caller reads the file (decode the bytes yourself,
e.g. ``data.decode("utf-8")``, so CRLF line endings survive) and writes it.
The edit replaces only the ``True``/``False`` token; every other character is
kept.  ``name`` is the switch's name (Settings.switch_name, ``USE_S3`` by
default).  Anything that would make the flip ambiguous is refused with a
:class:`SettingsFileError` naming the file and the lines involved.
"""

from __future__ import annotations

import ast
import difflib
import re
import threading
from dataclasses import dataclass

from deploy.errors import SettingsFileError, SwitchMissing

NAME = "USE_S3"
_BOM = "\ufeff"
# The tokenizer's line breaks; str.splitlines() would also split on \f, \x85,
# \u2028 ... and so disagree with the line numbers ast reports.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_WITH_END = re.compile(r".*?(?:\r\n|\r|\n)|.+\Z", re.S)
_STAMP = re.compile(r"[0-9A-Za-z._-]+")

_BLOCK_NAMES = {
    ast.If: "`if` block", ast.Try: "`try` block", ast.For: "`for` loop",
    ast.AsyncFor: "`for` loop", ast.While: "`while` loop", ast.With: "`with` block",
    ast.AsyncWith: "`with` block", ast.Match: "`match` block",
    ast.FunctionDef: "function", ast.AsyncFunctionDef: "function", ast.ClassDef: "class",
}
if hasattr(ast, "TryStar"):
    _BLOCK_NAMES[ast.TryStar] = "`try` block"


@dataclass(frozen=True)
class UseS3Assignment:
    """The single top-level ``USE_S3 = <literal>`` (or the switch's own name); ``source[start:end]`` is the literal."""

    value: bool
    line: int
    start: int
    end: int


def find_use_s3(source: str, path: str, name: str = NAME) -> UseS3Assignment:
    """Locate the one top-level ``NAME = True|False`` (``USE_S3`` by default) or raise SettingsFileError."""
    if not name.isidentifier():
        raise ValueError(f"the switch's name must be a Python name: {name!r}")
    bom = 1 if source.startswith(_BOM) else 0
    body = source[bom:]
    tree = _parse(body, path)
    candidates = [stmt for stmt in tree.body if _is_plain_assignment(stmt, name)]
    others = _other_bindings(tree, {_target(stmt) for stmt in candidates}, name)
    if others:
        where = "; ".join(f"line {line} ({what})" for line, what in others)
        raise SettingsFileError(
            f"{path}: {name} is rebound in a way the cutover cannot flip safely: {where}; "
            f"keep exactly one plain top-level `{name} = True|False` and remove the others")
    if not candidates:
        raise SwitchMissing(
            f"{path}: expected exactly one top-level `{name} = True|False` assignment, found none; "
            f"add `{name} = False` near the top")
    if len(candidates) > 1:
        lines = ", ".join(str(stmt.lineno) for stmt in candidates)
        raise SettingsFileError(
            f"{path}: expected exactly one top-level `{name} = True|False` assignment, "
            f"found {len(candidates)} at lines {lines}; keep one and delete the rest")
    stmt = candidates[0]
    _refuse_later_star_import(tree, stmt.lineno, path, name)
    literal = stmt.value
    if not (isinstance(literal, ast.Constant) and type(literal.value) is bool):
        shown = _shorten(ast.get_source_segment(body, literal) or "?")
        what = "set to" if isinstance(literal, ast.Constant) else "computed"
        raise SettingsFileError(
            f"{path}: {name} is {what} `{shown}` at line {stmt.lineno}; "
            f"make it a plain True/False literal so the cutover can flip it")
    starts = _line_starts(body)
    start = bom + _char_offset(body, starts, literal.lineno, literal.col_offset)
    end = bom + _char_offset(body, starts, literal.end_lineno, literal.end_col_offset)
    if source[start:end] != repr(literal.value):  # a bug in the offset mapping, never edit blind
        raise SettingsFileError(f"{path}: could not locate the {name} literal at line {stmt.lineno}")
    return UseS3Assignment(literal.value, stmt.lineno, start, end)


def set_use_s3(source: str, path: str, value: bool, name: str = NAME) -> str:
    """Return ``source`` with only the switch's literal changed to ``value``."""
    found = find_use_s3(source, path, name)
    if found.value is value:
        return source
    return source[:found.start] + repr(bool(value)) + source[found.end:]


def settings_diff(old: str, new: str, path: str, context: int = 3) -> str:
    """Unified diff of ``old`` -> ``new`` with ``a/``/``b/`` headers (for --dry-run).

    ``context=0`` shows the changed lines only: an env file's other lines may hold secrets.
    """
    name = path.lstrip("/")
    lines = difflib.unified_diff(
        _LINE_WITH_END.findall(old), _LINE_WITH_END.findall(new),
        fromfile=f"a/{name}", tofile=f"b/{name}", n=context)
    out = []
    for line in lines:
        if line.endswith(("\n", "\r")):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def backup_name(path: str, stamp: str) -> str:
    """The backup's path beside ``path``, e.g. ``x.py.media-cutover-<stamp>.bak``."""
    if not _STAMP.fullmatch(stamp):
        raise ValueError(f"backup stamp must be letters, digits, '.', '_' or '-': {stamp!r}")
    return f"{path}.media-cutover-{stamp}.bak"


def disk_settings(current: str, path: str, backups: list[tuple[str, str]], name: str = NAME) -> tuple[str, str]:
    """What a rollback writes: (new source, how it was chosen).

    The cutover's backup when one is exactly the current file with USE_S3 = False
    (byte-identical to before the cutover); otherwise the minimal edit, which keeps
    whatever was changed in the file since.  ``backups`` are (name, source), any order.
    """
    return choose_disk_settings(current, set_use_s3(current, path, False, name), backups, f"{name} = False")


def choose_disk_settings(current: str, target: str, backups: list[tuple[str, str]], off: str) -> tuple[str, str]:
    """The rollback's choice, whatever the file's format: ``target`` is the minimal edit of ``current``
    to the switch off (spelled ``off``); a backup byte-identical to it is named as its source."""
    for backup, source in sorted(backups, reverse=True):  # names carry a sortable UTC stamp
        if source == target:
            return target, f"restored from its backup {backup}"
    if target == current:
        return current, f"already {off}"
    return target, f"set {off} (no backup matches the current file)"


# CPython 3.11's parser keeps its AST recursion depth per interpreter, not per thread: two hosts' files
# parsed at once (the staged check runs on every host at once) can fail with "SystemError: AST constructor
# recursion depth mismatch".  One parse at a time.
_PARSING = threading.Lock()


def _parse(body: str, path: str) -> ast.Module:
    try:
        with _PARSING:
            return ast.parse(body, filename=path)
    except SyntaxError as exc:
        raise SettingsFileError(
            f"{path}: cannot parse it (line {exc.lineno}: {exc.msg}); "
            f"fix the file before the cutover") from exc
    except ValueError as exc:  # null bytes, lone surrogates
        raise SettingsFileError(f"{path}: cannot parse it ({exc}); fix the file before the cutover") from exc


def _is_plain_assignment(stmt: ast.stmt, name: str) -> bool:
    if isinstance(stmt, ast.Assign):
        return len(stmt.targets) == 1 and _is_our_name(stmt.targets[0], name)
    if isinstance(stmt, ast.AnnAssign):
        return stmt.value is not None and _is_our_name(stmt.target, name)
    return False


def _target(stmt: ast.Assign | ast.AnnAssign) -> ast.expr:
    return stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target


def _is_our_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _other_bindings(tree: ast.Module, allowed: set[ast.AST], name: str) -> list[tuple[int, str]]:
    """Every binding of the switch anywhere except the allowed Name nodes, in line order."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for stmt in tree.body:
        context = _block_context(stmt)
        for node in ast.walk(stmt):
            what = None if node in allowed else _binding_kind(node, parents, name)
            if what:
                found.append((node.lineno, what + (context if node is not stmt else "")))
    return sorted(found)


def _binding_kind(node: ast.AST, parents: dict[ast.AST, ast.AST], name: str) -> str | None:
    if isinstance(node, ast.Name) and node.id == name:
        return _name_binding_kind(node, parents)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        if any((a.asname or a.name.split(".")[0]) == name for a in node.names):
            return "import"
    if isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
        return f"`global {name}`"
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
        return f"def/class named {name}"
    if isinstance(node, ast.ExceptHandler) and node.name == name:
        return f"`except ... as {name}`"
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name == name:
        return "`match` capture"
    if isinstance(node, ast.MatchMapping) and node.rest == name:
        return "`match` capture"
    return None


def _name_binding_kind(node: ast.Name, parents: dict[ast.AST, ast.AST]) -> str | None:
    if isinstance(node.ctx, ast.Del):
        return "`del`"
    if not isinstance(node.ctx, ast.Store):
        return None  # a read such as `if USE_S3:` is fine
    unpacked = False
    parent = parents[node]
    while isinstance(parent, (ast.Tuple, ast.List, ast.Starred)):
        unpacked, node, parent = True, parent, parents[parent]
    if isinstance(parent, ast.AnnAssign):
        return "annotated assignment" if parent.value is not None else None
    if isinstance(parent, ast.Assign):
        if unpacked:
            return "tuple unpacking"
        return "chained assignment" if len(parent.targets) > 1 else "assignment"
    if isinstance(parent, ast.AugAssign):
        return "augmented assignment"
    if isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension)):
        return "`for` target"
    if isinstance(parent, ast.withitem):
        return "`with ... as`"
    if isinstance(parent, ast.NamedExpr):
        return "walrus `:=`"
    return "assignment"


def _block_context(stmt: ast.stmt) -> str:
    for kind, label in _BLOCK_NAMES.items():
        if isinstance(stmt, kind):
            named = f" `{stmt.name}`" if hasattr(stmt, "name") else ""
            return f" inside the {label}{named} starting at line {stmt.lineno}"
    return ""


def _refuse_later_star_import(tree: ast.Module, line: int, path: str, name: str) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            if node.lineno > line:
                module = "." * node.level + (node.module or "")
                raise SettingsFileError(
                    f"{path}: `from {module} import *` at line {node.lineno} comes after "
                    f"{name} at line {line} and may rebind it; move the {name} assignment below it")


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in _LINE_BREAK.finditer(text)]


def _char_offset(text: str, starts: list[int], lineno: int, byte_col: int) -> int:
    """Map ast's (1-based line, UTF-8 byte column) to an index into ``text``."""
    line_start = starts[lineno - 1]
    line_end = starts[lineno] if lineno < len(starts) else len(text)
    line_bytes = text[line_start:line_end].encode("utf-8")
    return line_start + len(line_bytes[:byte_col].decode("utf-8"))


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."

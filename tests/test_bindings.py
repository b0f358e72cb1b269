"""codemods.analysis.bindings answers what libcst's ScopeProvider answers: a differential test.

Each source is parsed by both libcst and ``ast``; nodes are paired by kind and (start, end) position (ast
columns are UTF-8 bytes, libcst's are characters: converted). For each pair the test compares:

* the scope (kind and defining node) of every Name, Attribute, Call, parameter, definition, comprehension
  clause and assignment-like statement;
* ``scope.get_qualified_names_for(node)`` for every Name and Attribute (asked of its own scope, of that
  scope's parent and of the module scope), for every Call and its callee, and for the dotted name of every
  Attribute in Load context as a string;
* ``scope[name]`` (the bindings, as (name, kind, position, scope)), the scope's own bindings of the name and
  ``name in scope`` for every Name.

The default suite runs hand-written cases and every ``input.py`` under ``tests/fixtures``. Over real code, run it as a
script (not part of the suite)::

    python tests/test_bindings.py --async-only ~/.cache/loopsafe-corpus/src
    python tests/test_bindings.py "$(python -c 'import sysconfig;print(sysconfig.get_paths()["stdlib"])')/asyncio"
"""

from __future__ import annotations

import ast
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple, Union

import libcst as cst
import pytest
from libcst.metadata import (
    BuiltinAssignment,
    ClassScope,
    ComprehensionScope,
    ExpressionContext,
    ExpressionContextProvider,
    FunctionScope,
    GlobalScope,
    MetadataWrapper,
    PositionProvider,
    ScopeProvider,
)
from libcst.metadata import Scope as CstScope
from libcst.metadata.scope_provider import AnnotationScope

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codemods.analysis.bindings import Binding, ModuleScopes, QualifiedName, Scope, Source  # noqa: E402

Pos = Tuple[int, int]
Key = Tuple[object, ...]

FIXTURES = Path(__file__).parent / "fixtures"


# -- positions -----------------------------------------------------------------------------------------------


class _Columns:
    """ast (line, UTF-8 byte column) -> libcst (line, character column)."""

    def __init__(self, source: str) -> None:
        self.lines = re.split(r"\r\n|\r|\n", source)

    def __call__(self, line: int, col: int) -> Pos:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return (line, col)
        return (line, len(text.encode("utf-8")[:col].decode("utf-8", errors="replace")))


def _ast_range(node: ast.AST, columns: _Columns) -> Tuple[Pos, Pos]:
    start = columns(node.lineno, node.col_offset)  # type: ignore[attr-defined]
    end = columns(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
    return start, end


def _ast_start(node: ast.AST, columns: _Columns) -> Pos:
    return columns(node.lineno, node.col_offset)  # type: ignore[attr-defined]


# -- canonical keys for scopes and bindings, on each side ------------------------------------------------------

_COMPS = ("ListComp", "SetComp", "DictComp", "GeneratorExp")


class _CstSide:
    def __init__(self, source: str) -> None:
        wrapper = MetadataWrapper(cst.parse_module(source))
        self.module = wrapper.module
        self.positions = wrapper.resolve(PositionProvider)
        self.contexts = wrapper.resolve(ExpressionContextProvider)
        self.scopes = wrapper.resolve(ScopeProvider)
        self.except_names: Dict[int, cst.CSTNode] = {}
        self.in_pattern: Set[int] = set()
        for node in self.positions:
            if isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler)) and node.name is not None:
                self.except_names[id(node.name.name)] = node
            elif isinstance(node, cst.MatchCase):
                for sub in _cst_descendants(node.pattern):
                    self.in_pattern.add(id(sub))

    def start(self, node: cst.CSTNode) -> Pos:
        position = self.positions[node].start
        return (position.line, position.column)

    def target_key(self, target: cst.CSTNode) -> Pos:
        # a target's first name: positions of parenthesized tuples differ (libcst leaves the parentheses out)
        return min((self.start(n) for n in _cst_descendants(target) if isinstance(n, cst.Name)), default=self.start(target))

    def range(self, node: cst.CSTNode) -> Tuple[Pos, Pos]:
        position = self.positions[node]
        return (position.start.line, position.start.column), (position.end.line, position.end.column)

    def node_key(self, node: cst.CSTNode) -> Key:
        if isinstance(node, cst.FunctionDef):
            return ("def", node.name.value, self.start(node))
        if isinstance(node, cst.ClassDef):
            return ("class", node.name.value, self.start(node))
        if isinstance(node, cst.Lambda):
            return ("lambda", self.start(node))
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            return ("comp", type(node).__name__, self.target_key(node.for_in.target))
        if isinstance(node, cst.Module):
            return ("module",)
        return (type(node).__name__, self.start(node))

    def scope_key(self, scope: Optional[CstScope]) -> Key:
        if scope is None:
            return ("none",)
        if isinstance(scope, GlobalScope):
            return ("module",)
        kinds: Dict[type, str] = {
            FunctionScope: "function", ClassScope: "class", ComprehensionScope: "comprehension",
            AnnotationScope: "annotation",
        }
        kind = kinds.get(type(scope), type(scope).__name__)
        return (kind, self.node_key(scope.node))  # type: ignore[attr-defined]

    def binding_key(self, assignment: object) -> Key:
        if isinstance(assignment, BuiltinAssignment):
            return (assignment.name, "builtin")
        node = assignment.node  # type: ignore[attr-defined]
        name = assignment.name  # type: ignore[attr-defined]
        where = self.scope_key(assignment.scope)  # type: ignore[attr-defined]
        if isinstance(node, cst.Name):
            handler = self.except_names.get(id(node))
            if handler is not None:
                return (name, "ExceptHandler", self.start(handler), where)
            return (name, "Name", self.start(node), where)
        if isinstance(node, cst.Param):
            return (name, "arg", self.start(node.name), where)
        if isinstance(node, cst.FunctionDef):
            return (name, "AsyncFunctionDef" if node.asynchronous else "FunctionDef", self.start(node), where)
        return (name, type(node).__name__, self.start(node), where)


def _cst_descendants(node: cst.CSTNode) -> Iterable[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _cst_descendants(child)


class _AstSide:
    def __init__(self, source: str) -> None:
        self.tree = ast.parse(source)
        self.columns = _Columns(source)
        self.scopes = ModuleScopes(self.tree)

    def start(self, node: ast.AST) -> Pos:
        return _ast_start(node, self.columns)

    def target_key(self, target: ast.AST) -> Pos:
        return min((self.start(n) for n in ast.walk(target) if isinstance(n, ast.Name)), default=self.start(target))

    def node_key(self, node: Optional[ast.AST]) -> Key:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return ("def", node.name, self.start(node))
        if isinstance(node, ast.ClassDef):
            return ("class", node.name, self.start(node))
        if isinstance(node, ast.Lambda):
            return ("lambda", self.start(node))
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return ("comp", type(node).__name__, self.target_key(node.generators[0].target))
        if isinstance(node, ast.Module):
            return ("module",)
        assert node is not None
        return (type(node).__name__, self.start(node))

    def scope_key(self, scope: Scope) -> Key:
        if scope.kind == "module":
            return ("module",)
        return (scope.kind, self.node_key(scope.node))

    def binding_key(self, binding: Binding) -> Key:
        if binding.is_builtin:
            return (binding.name, "builtin")
        node = binding.node
        assert node is not None
        return (binding.name, type(node).__name__, self.start(node), self.scope_key(binding.scope))


def _qnames(names: Iterable[object]) -> FrozenSet[Tuple[str, str]]:
    return frozenset((q.name, q.source.name) for q in names)  # type: ignore[attr-defined]


# -- the comparison ----------------------------------------------------------------------------------------------


@dataclass
class Report:
    mismatches: List[str] = field(default_factory=list)
    compared: int = 0
    unpaired_cst: int = 0
    unpaired_ast: int = 0


_PAIRED_STATEMENTS = {
    # libcst type -> ast types, paired by start position
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.For: (ast.For, ast.AsyncFor),
    cst.Assign: (ast.Assign,),
    cst.AugAssign: (ast.AugAssign,),
    cst.AnnAssign: (ast.AnnAssign,),
    cst.ExceptHandler: (ast.ExceptHandler,),
    cst.Lambda: (ast.Lambda,),
    cst.ListComp: (ast.ListComp,),
    cst.SetComp: (ast.SetComp,),
    cst.DictComp: (ast.DictComp,),
    cst.GeneratorExp: (ast.GeneratorExp,),
}


def compare(source: str) -> Report:
    """Compare libcst's and our answers on ``source``; raises SyntaxError / ParserSyntaxError if unparsable."""
    ours = _AstSide(source)
    theirs = _CstSide(source)
    report = Report()
    columns = ours.columns

    by_range: Dict[Tuple[str, Pos, Pos], ast.AST] = {}
    by_start: Dict[Tuple[str, Pos], ast.AST] = {}
    params: Dict[Pos, ast.arg] = {}
    comp_clauses: Dict[Pos, ast.comprehension] = {}
    for node in ast.walk(ours.tree):
        kind = type(node).__name__
        if isinstance(node, (ast.Name, ast.Attribute, ast.Call)):
            start, end = _ast_range(node, columns)
            by_range[(kind, start, end)] = node
        elif isinstance(node, ast.arg):
            params[ours.start(node)] = node
        elif isinstance(node, ast.comprehension):
            comp_clauses[ours.target_key(node.target)] = node
        elif isinstance(node, (ast.stmt, ast.excepthandler, ast.expr)):
            by_start[(kind, ours.start(node))] = node
    seen: Set[int] = set()

    def fail(what: str, lnode: cst.CSTNode, expected: object, got: object) -> None:
        line, col = theirs.start(lnode)
        code = theirs.module.code_for_node(lnode).strip().splitlines()[0][:60]
        report.mismatches.append(f"{line}:{col} {what} of {code!r}: libcst {expected!r} != ours {got!r}")

    def check_scope(lnode: cst.CSTNode, anode: ast.AST) -> Tuple[Optional[CstScope], Optional[Scope]]:
        lscope = theirs.scopes.get(lnode)
        try:
            oscope: Optional[Scope] = ours.scopes.scope_of(anode)
        except KeyError:
            oscope = None
        report.compared += 1
        expected = theirs.scope_key(lscope)
        got = ours.scope_key(oscope) if oscope is not None else ("none",)
        if expected != got:
            fail("scope", lnode, expected, got)
        return lscope, oscope

    def check_qnames(what: str, lnode: cst.CSTNode, lscope: CstScope, oscope: Scope,
                     lquery: Union[cst.CSTNode, str], oquery: Union[ast.AST, str]) -> None:
        expected = _qnames(lscope.get_qualified_names_for(lquery))
        got = _qnames(oscope.qualified_names(oquery))
        if expected != got:
            fail(what, lnode, sorted(expected), sorted(got))

    def check_all_qnames(what: str, lnode: cst.CSTNode, lscope: CstScope, oscope: Scope,
                         lquery: Union[cst.CSTNode, str], oquery: Union[ast.AST, str]) -> None:
        # in the node's own scope, in its parent scope and in the module scope
        check_qnames(what, lnode, lscope, oscope, lquery, oquery)
        check_qnames(f"{what} (parent scope)", lnode, lscope.parent, oscope.parent, lquery, oquery)
        check_qnames(f"{what} (module scope)", lnode, lscope.globals, ours.scopes.module, lquery, oquery)

    for lnode in list(theirs.positions):
        if isinstance(lnode, (cst.Name, cst.Attribute, cst.Call)):
            start, end = theirs.range(lnode)
            anode = by_range.get((type(lnode).__name__, start, end))
            if anode is None or (isinstance(lnode, cst.Name) and anode.id != lnode.value):  # type: ignore[attr-defined]
                if (
                    isinstance(lnode, cst.Name)
                    and lnode.value not in ("True", "False", "None")
                    and id(lnode) not in theirs.in_pattern
                    and theirs.contexts.get(lnode) in (ExpressionContext.LOAD, ExpressionContext.DEL)
                    and lnode in theirs.scopes
                ):
                    report.unpaired_cst += 1
                continue
            seen.add(id(anode))
            lscope, oscope = check_scope(lnode, anode)
            if lscope is None or oscope is None:
                continue
            context = theirs.contexts.get(lnode)
            if isinstance(lnode, (cst.Name, cst.Attribute)):
                check_all_qnames("qualified names", lnode, lscope, oscope, lnode, anode)
            if isinstance(lnode, cst.Attribute) and context is ExpressionContext.LOAD:
                dotted = cst.helpers.get_full_name_for_node(lnode)
                assert dotted is not None
                check_all_qnames(f"qualified names of {dotted!r}", lnode, lscope, oscope, dotted, dotted)
            if isinstance(lnode, cst.Call):
                assert isinstance(anode, ast.Call)
                check_qnames("qualified names of the call", lnode, lscope, oscope, lnode, anode)
                fscope = theirs.scopes.get(lnode.func)
                if fscope is not None:
                    check_qnames("qualified names of the callee", lnode, fscope, ours.scopes.scope_of(anode.func),
                                 lnode.func, anode.func)
            if isinstance(lnode, cst.Name):
                name = lnode.value
                expected_bindings = sorted(map(repr, map(theirs.binding_key, lscope[name])))
                got_bindings = sorted(map(repr, map(ours.binding_key, oscope[name])))
                if expected_bindings != got_bindings:
                    fail(f"scope[{name!r}]", lnode, expected_bindings, got_bindings)
                expected_own = sorted(map(repr, map(theirs.binding_key, lscope.assignments[name])))
                got_own = sorted(map(repr, map(ours.binding_key, oscope.bindings_of(name))))
                if expected_own != got_own:
                    fail(f"own bindings of {name!r}", lnode, expected_own, got_own)
                if (name in lscope) != (name in oscope):
                    fail(f"{name!r} in scope", lnode, name in lscope, name in oscope)
        elif isinstance(lnode, cst.Param):
            arg = params.get(theirs.start(lnode.name))
            if arg is not None:
                check_scope(lnode, arg)
        elif isinstance(lnode, cst.CompFor):
            clause = comp_clauses.get(theirs.target_key(lnode.target))
            if clause is not None:
                check_scope(lnode, clause)
        else:
            kinds = _PAIRED_STATEMENTS.get(type(lnode))
            if kinds is not None:
                start = theirs.start(lnode)
                for ast_kind in kinds:
                    anode = by_start.get((ast_kind.__name__, start))
                    if anode is not None:
                        check_scope(lnode, anode)
                        break

    for node in ast.walk(ours.tree):
        if isinstance(node, ast.Name) and id(node) not in seen:
            report.unpaired_ast += 1
    return report


# -- hand-written cases ----------------------------------------------------------------------------------------

CASES: Dict[str, str] = {
    "aliases": """
import os
import os.path
import os.path as osp
import a.b.c
import a.b.c as abc_, x.y
from a import b as bb, c
from . import sibling
from .. import parent as pp
from .pkg.mod import thing as other, thing2
from ... import far
from .pkg import *
os.path.join(1)
os.getcwd()
osp.exists(1)
a.b.c.d(1)
a.b.x()
a.zz
abc_.q()
bb.c()
c()
sibling.f()
pp.g()
other.h()
thing2
far.x.y
x.y.z()
x.w
os.path
os
""",
    "dotted_in_functions": """
import os.path
def f(os):
    os.path.join(1)
def g():
    os.path.join(1)
    import os
    os.path.join(2)
def h():
    import os.path
    os.path.exists(1)
class K:
    import os
    os.path.exists(1)
    def m(self):
        os.path.exists(1)
""",
    "shadowing": """
import time
def a(time):
    time.sleep(1)
def b():
    time.sleep(1)
    time = 3
    time.sleep(1)
def c():
    time.sleep(1)
    import time
def d():
    for time in range(3):
        time.sleep(1)
def e():
    x = x + 1
    y += 1
    z: int
    z = z
time = time
sleep = time.sleep
sleep(1)
""",
    "class_scopes": """
import requests
class C:
    requests = None
    x = requests
    def m(self, a=requests):
        requests.get(a)
        return x
    def n(self):
        print(x)
        x = 2
    y = [requests for _ in range(3)]
    z = [q for q in requests]
    w = lambda: requests
    class D:
        requests = 1
        def k(self):
            return requests
""",
    "nested_functions": """
import open as op
def outer():
    v = 1
    def inner():
        return v
    def inner2():
        nonlocal v
        v = 2
        return v
    def inner3():
        global v
        v = 3
        return v
    return inner
def outer2():
    open = op
    def inner():
        open('x')
    class K:
        open = 1
        def m(self):
            open('y')
            nonlocal_free = 1
    return inner
""",
    "global_nonlocal": """
x = 1
def f():
    x = 0
    global x
    x = 2
    print(x)
def g():
    global y
    y = 1
    y.append(1)
def h():
    z = 1
    class C:
        z = 2
        def m(self):
            nonlocal z
            z = 3
            return z
    def k():
        nonlocal z
        print(z)
print(y)
""",
    "comprehensions": """
import os
xs = [os for os in range(3)]
ys = [os.path for x in os.listdir()]
zs = [y for x in xs for y in x if y]
ws = {k: v for k, v in os.environ.items() if k if v}
gs = (a for a in (b for b in xs))
nested = [[c for c in d] for d in xs]
first = [x for x in x]
second = [y for x in xs for y in y]
async def f():
    return [i async for i in aiter() if await i]
walrus = [last := v for v in xs]
print(last)
walrus2 = [(n := v) for v in xs if n]
def g():
    return [h for h in h]
""",
    "lambdas": """
import os
f = lambda a, b=os, *c, d=os.sep, **e: (a, b, c, d, e, os)
g = lambda: lambda x=f: x
h = (lambda os: os.path)(os)
k = lambda: [os for os in os]
""",
    "decorators": """
import functools
import contextlib as ctx
@functools.wraps(print)
def wrapped(): pass
@ctx.contextmanager
def cm(): yield
@dec
def dec(): pass
@functools.lru_cache()
class C:
    @staticmethod
    def s(x: C) -> C: return x
    @property
    def p(self): return self
    @p.setter
    def p(self, value): pass
def annotated(a: functools.partial = functools.partial(print)) -> ctx.AbstractContextManager:
    def inner(b: a = a) -> a: return b
    return inner
""",
    "match": """
import enum
class Color(enum.Enum):
    RED = 1
def f(v, Point):
    match v:
        case Color.RED:
            pass
        case Point(x=a, y=[b, *rest]) | {"k": a, **rest}:
            a.foo()
        case [1, 2, *others] if others:
            others.pop()
        case str() as s:
            s.upper()
        case d:
            d.foo()
        case None:
            pass
""",
    "except_as": """
import logging
try:
    pass
except (ValueError, logging.Error) as e:
    e.args
    logging.exception(e)
except Exception:
    raise
else:
    pass
finally:
    logging.shutdown()
def f():
    try:
        pass
    except OSError as err:
        err.errno
    err
def g():
    global gerr
    try:
        pass
    except OSError as gerr:
        pass
""",
    "loops_and_with": """
import asyncio, time, threading
for i in range(3):
    time.sleep(i)
else:
    i.x
while time.time():
    break
else:
    pass
async def f(lock: threading.Lock):
    async for item in aiter():
        await asyncio.sleep(item)
    with open('x') as fh, lock as (a, b), time as t:
        fh.read()
        a.b()
        t.sleep(1)
    with (open('y') as g, open('z')):
        g.read()
    async with lock:
        pass
    for time in range(2):
        pass
    for x in x:
        pass
""",
    "star_and_builtins": """
from os import *
from time import sleep
open = open
print(len([]))
def f():
    return open('x'), sleep(1), path.join(1), list, __name__, __file__, __builtins__, __debug__
def g(list):
    return list, dict
del open
del sleep
def h():
    del print
""",
    "del_and_targets": """
import os
a, (b, *c) = os.sep, (1, 2, 3)
[d, e] = 1, 2
os.environ['x'] = a
os.x.y = b
del os.environ['x'], a
del os.x.y
f = g = os
f.path, g.path
x = y = z = 0
x += y
(w := z)
w.real
""",
    "attributes_and_calls": """
import os
import os.path
os.path.join(1).strip().split()
(os.path if True else os).sep
os.path.join(os.path.basename(os.sep), os.getcwd())[0].upper()
f(os.path)[os.path]
[os.path for _ in ()].count
os.environ.get('x').lower
"x".join
True.real
None.__class__
(1).real
...
print.__name__
os.path.join(*[1], key=os.sep, **{})
f(a=1, *args, b=2)
f(a=(v := 1), *[v], b=v)
v
""",
    "try_finally_return": """
import socket
def f():
    sock = socket.socket()
    try:
        return sock.recv(1)
    finally:
        sock.close()
async def g():
    try:
        s = socket.create_connection(('x', 1))
    except socket.error:
        s = None
    return s
""",
    "async_defaults": """
import asyncio, time
async def f(delay=time.time(), *, loop=asyncio.get_event_loop(), cb: time.struct_time = None):
    await asyncio.sleep(delay)
    time.sleep(delay)
async def g(time=time):
    time.sleep(1)
class A:
    time = time
    async def m(self, t=time):
        time.sleep(t)
""",
    "walrus_order": """
import os
def f():
    if (os := 1):
        pass
    os.path
def g():
    print(os.path)
    (os := os)
def h(a=(b := 1), c=b):
    return b
h(b)
""",
    "fstrings": """
import os
name = 'x'
width = 3
s = f"{os.path.join(name)!r:>{width}} {name=} {os.sep}"
t = f'''{
    os.getcwd()
}'''
""",
    "class_bases_and_keywords": """
import abc
class Meta(type): pass
class A(abc.ABC, metaclass=abc.ABCMeta): pass
class B(A, metaclass=Meta, flag=A): pass
class B(B): pass
class C(*[A], **{'metaclass': Meta}): pass
""",
    "string_annotations": """
from typing import List, Optional, TYPE_CHECKING, cast
if TYPE_CHECKING:
    import os
def f(a: "os.PathLike", b: List["os.PathLike"]) -> "Optional[os.PathLike]":
    x: "os.PathLike" = cast("os.PathLike", a)
    return os.fspath(x)
""",
    "redefinitions": """
import json
def json(): pass
class json: pass
json.dumps(1)
def f():
    import json
    json.dumps(1)
    def json(): pass
    json.dumps(2)
""",
    "unicode": """
import os
def f(名前):
    s = "ü"; os.path.join(名前, s)
    return [名前 for 名前 in os.listdir()]
""",
    "conditional_imports": """
try:
    import ujson as json
except ImportError:
    import json
json.loads('1')
if json:
    from os import path as p
else:
    import posixpath as p
p.join(1)
""",
    "type_comments_and_misc": """
import os
x = []  # type: List[os.PathLike]
def f(a,  # type: int
      ):
    # type: (...) -> None
    assert os.sep, os.getcwd()
    raise ValueError(os.sep) from os.error
    yield os
    yield from os.walk('.')
    await os
    return not os
""",
    "nested_classes_methods": """
import threading
class Outer:
    lock = threading.Lock()
    class Inner:
        lock = None
        def m(self):
            return lock, Outer.lock, self.lock
    def n(self):
        return [lock for _ in range(1)]
def fn():
    lock = threading.Lock()
    class K:
        def m(self):
            return lock
        lock = 1
    return K
""",
    "dict_and_slices": """
import os
d = {os.sep: os.getcwd(), **os.environ, 'k': [x for x in os.listdir()]}
s = os.listdir()[os.sep:os.getcwd():1]
t = os.environ[os.sep, os.getcwd()]
u = {*os.listdir(), os.sep}
""",
    "class_comprehension_fallback": """
class C:
    x = 1
    a = [x for _ in range(3) if x if (x := 2)]
    b = [x for x in range(3)]
    c = (lambda: x)()
    def m(self):
        x.bit_length()
        x = 2
        return x
    class D:
        y = x
""",
    "type_factories": """
import typing
from typing import TypeVar, NewType as NT
name = "T"
T = TypeVar(name, bound=int)
U = NT(name, int)
V = TypeVar(bound=name)
W = typing.TypeVar((q := name), covariant=q)
X = typing.NewType(name.upper(), str)
def f():
    return TypeVar(name)
TypeVar = lambda x, **k: x
Y = TypeVar(name)
Z = typing.cast(name, name)
""",
    "with_forms": """
import contextlib
a = b = c = None
with (a, b) as c:
    c.x
with (a, b):
    pass
with a as (x, y), b as [z, *w]:
    x, y, z, w
with a as c.attr, b as c[0]:
    pass
""",
    "global_nonlocal_chains": """
def f():
    global x
    def g():
        nonlocal x
        x = 1
        return x
    return g
def h():
    print(y)
    global y
    y = 2
def k():
    z = 1
    global z
    z = 2
    return z
global m
m = 1
""",
    "if_expression_order": """
def f():
    a = (x if (x := 1) else 2)
    b = (y if True else (y := 3))
    return a, b
c = [u for u in range(2) if (u2 := u)]
d = {(k := 1): k for _ in range(2)}
e = (lambda: (l := 1))
""",
    "later_bindings_across_scopes": """
def f():
    def g():
        return x, y
    x = 1
    return g
y = 2
def h():
    del q
    q = 1
    return q
async def a():
    await b()
async def b():
    return a
""",
    "methods_and_decorators_in_classes": """
import functools
class C:
    cache = functools.lru_cache
    @cache
    def m(self): pass
    @functools.cached_property
    def n(self): return C.m, self.m, m
    @staticmethod
    def s(x=cache): return x
""",
    "dotted_attribute_frames": """
import a.b
import c.d.e
a.b().c.d
a.b.c().d.e
(a.b).c
(a).b.c
a.b[0].c
x = a.b.c if a.b else c.d.e.f
c.d.e.f.g(a.b.c)
c.d.x.y
c.q
[a.b for _ in ()].count
(lambda: a.b.c).__call__
f"{a.b.c}"
def g():
    a = 1
    return a.b.c, c.d.e
class K:
    c = 2
    v = c.d.e
    def m(self):
        return c.d.e
""",
    "builtins_edge": """
__class__
__name__
__file__
__spec__
__build_class__
_
print = print
def f():
    return print, len, __class__
class K:
    len = len
    def m(self):
        return len
""",
    "try_star": """
import logging
try:
    pass
except* ValueError as eg:
    logging.error(eg)
except* (TypeError, OSError):
    pass
""",}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hand_written_case(name: str) -> None:
    report = compare(CASES[name])
    assert report.compared > 0
    assert report.mismatches == []


# PEP 695 (annotation scopes) on 3.12+, type parameter defaults on 3.13+: the ast cannot parse them before.
NEW_SYNTAX: Dict[str, Tuple[Tuple[int, int], str]] = {
    "generic_function": ((3, 12), """
import typing
class Base: pass
def f[T: Base, *Ts, **P](x: T, *args: *Ts, **kw: P.kwargs) -> T:
    return x
@decorator
def g[T](x: T = T) -> list[T]:
    y: T = x
    return [y, T, Base]
"""),
    "generic_class": ((3, 12), """
import typing
class C[T](list[T], metaclass=type):
    X = 1
    def m[U](self, a: X, b: U) -> T:
        return a, X, T, U
    type Alias[V] = dict[V, X]
    @staticmethod
    def n[W: X](w: W) -> W: return w
"""),
    "type_alias": ((3, 12), """
type A = int
type B[T] = list[T] | A
type C = C
def f():
    type D = D | A
    return D
"""),
    "type_param_defaults": ((3, 13), """
class K[T = int, *Ts = *tuple[int], **P = [int]]:
    def m[U = T](self) -> U: ...
"""),
}


@pytest.mark.parametrize("name", sorted(NEW_SYNTAX))
def test_new_syntax_case(name: str) -> None:
    version, source = NEW_SYNTAX[name]
    if sys.version_info < version:
        pytest.skip(f"the ast of Python {sys.version_info[:2]} cannot parse it")
    report = compare(source)
    assert report.compared > 0
    assert report.mismatches == []


def _fixture_sources() -> List[Path]:
    return sorted(FIXTURES.rglob("input.py"))  # tests/fixtures/*/input.py, or one level deeper


def test_there_are_fixtures() -> None:
    assert len(_fixture_sources()) >= 50


def test_fixture_inputs() -> None:
    mismatches: List[str] = []
    compared = 0
    for path in _fixture_sources():
        try:
            report = compare(path.read_text(encoding="utf-8"))
        except (SyntaxError, cst.ParserSyntaxError, UnicodeDecodeError):
            continue
        compared += report.compared
        mismatches += [f"{path.parent.name}: {m}" for m in report.mismatches]
    assert compared > 1000
    assert mismatches == []


# -- a few direct API checks ---------------------------------------------------------------------------------------


def test_api_basics() -> None:
    tree = ast.parse("import os.path as p\nimport a.b\ndef f(x):\n    return p.join(x), a.b.c\n")
    scopes = ModuleScopes(tree)
    module = scopes.module
    function = tree.body[2]
    assert isinstance(function, ast.FunctionDef)
    ret = function.body[0]
    assert isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple)
    call, attr = ret.value.elts
    assert isinstance(call, ast.Call)
    inner = scopes.scope_of(call)
    assert inner.kind == "function" and inner.node is function and inner.parent is module
    assert scopes.scope_of(function) is module
    assert scopes.scope_of(function.args.args[0]) is inner
    assert inner.qualified_names(call.func) == {QualifiedName("os.path.join", Source.IMPORT)}
    assert inner.qualified_names(attr) == {QualifiedName("a.b.c", Source.IMPORT)}
    assert {b.name for b in module.bindings_of("a")} == {"a"}
    assert [b.name for b in module["a.b"]] == ["a.b"]
    assert module["p"][0].is_import and not module["p"][0].is_builtin
    assert module["len"][0].is_builtin and module["len"][0].node is None
    assert "x" in inner and "x" not in module and "len" in module
    assert inner.qualified_names("x") == {QualifiedName("f.<locals>.x", Source.LOCAL)}
    assert module.parent.kind == "builtin" and module.parent.parent is module.parent


# -- script mode: the same comparison over directories of real code -------------------------------------------------


def _main(argv: List[str]) -> int:
    async_only = "--async-only" in argv
    roots = [Path(a).expanduser() for a in argv if not a.startswith("--")]
    files = sorted(p for root in roots for p in ([root] if root.is_file() else root.rglob("*.py")))
    checked = skipped = total_mismatches = compared = unpaired_cst = unpaired_ast = 0
    ours_time = theirs_time = parse_time = 0.0
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            skipped += 1
            continue
        if async_only and "async def" not in source:
            continue
        try:
            t0 = time.perf_counter()
            tree = ast.parse(source)
            t1 = time.perf_counter()
            ModuleScopes(tree)
            t2 = time.perf_counter()
            wrapper = MetadataWrapper(cst.parse_module(source))
            wrapper.resolve(ScopeProvider)
            t3 = time.perf_counter()
        except (SyntaxError, cst.ParserSyntaxError, ValueError, RecursionError, NotImplementedError) as error:
            skipped += 1
            print(f"skip {path}: {type(error).__name__}", file=sys.stderr)
            continue
        parse_time += t1 - t0
        ours_time += t2 - t1
        theirs_time += t3 - t2
        report = compare(source)
        checked += 1
        compared += report.compared
        unpaired_cst += report.unpaired_cst
        unpaired_ast += report.unpaired_ast
        total_mismatches += len(report.mismatches)
        for mismatch in report.mismatches:
            print(f"{path}:{mismatch}")
    print(
        f"{checked} files ({skipped} skipped), {compared} comparisons, {total_mismatches} mismatches, "
        f"unpaired nodes: libcst {unpaired_cst}, ast {unpaired_ast}"
    )
    print(
        f"time: ast.parse {parse_time:.2f}s + bindings {ours_time:.2f}s = {parse_time + ours_time:.2f}s; "
        f"libcst parse + ScopeProvider {theirs_time:.2f}s ({theirs_time / max(ours_time, 1e-9):.0f}x the bindings)"
    )
    return 1 if total_mismatches else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

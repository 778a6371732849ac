"""Nodes to Python closures: a program is evaluated by calling closures, never by walking
the tree at run time. Each closure takes the activation (a dict of names to CEL values,
with comprehension variables added to a copy) and returns a value or raises ``CelError``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ledgerflow.cel import arith, literals, macros, nodes
from ledgerflow.cel.errors import CelError, syntax_error
from ledgerflow.cel.functions import GLOBAL, MEMBER, TYPE_NAMES
from ledgerflow.cel.macros import BUDGET, Evaluator
from ledgerflow.cel.values import (
    Uint,
    check_key,
    compare,
    contains,
    equal,
    lookup,
    no_overload,
    type_name,
)

Scope = frozenset[str]
_GROWING = (str, bytes, list)


def compile_node(node: nodes.Node, scope: Scope = frozenset()) -> Evaluator:
    """The closure evaluating ``node``; ``scope`` holds comprehension variables in reach."""
    if isinstance(node, nodes.Literal):
        return _literal(node.value)
    if isinstance(node, nodes.Ident):
        return _ident(node.name, scope)
    if isinstance(node, nodes.Select):
        return _select(node, scope)
    if isinstance(node, nodes.Index):
        return _binary(_index, compile_node(node.operand, scope), compile_node(node.index, scope))
    if isinstance(node, nodes.ListLit):
        return _list([compile_node(item, scope) for item in node.items])
    if isinstance(node, nodes.MapLit):
        return _map([(compile_node(k, scope), compile_node(v, scope)) for k, v in node.entries])
    assert isinstance(node, nodes.Call)
    return _call(node, scope)


def _literal(value: Any) -> Evaluator:
    if type(value) is int:
        literals.check_integer(value)
    return lambda act: value


def _ident(name: str, scope: Scope) -> Evaluator:
    if name in scope:
        return lambda act: act[name]

    def run(act: dict[str, Any]) -> Any:
        try:
            return act[name]
        except KeyError:
            if name in TYPE_NAMES:
                return TYPE_NAMES[name]
            raise CelError(f"undeclared reference to '{name}'") from None
    return run


def _path(node: nodes.Node) -> list[str] | None:
    """``a.b.c`` as names, when the chain starts at an identifier."""
    names: list[str] = []
    while isinstance(node, nodes.Select):
        names.append(node.field)
        node = node.operand
    if not isinstance(node, nodes.Ident):
        return None
    names.append(node.name)
    return names[::-1]


def _select(node: nodes.Select, scope: Scope) -> Evaluator:
    path = _path(node)
    if path is None or path[0] in scope:
        return _binary(select, compile_node(node.operand, scope), _literal(node.field))
    # a qualified name ``a.b.c`` may be a variable itself: the longest bound prefix wins
    candidates = [(".".join(path[:n]), tuple(path[n:])) for n in range(len(path), 1, -1)]
    root = _ident(path[0], scope)
    fields = tuple(path[1:])

    def run(act: dict[str, Any]) -> Any:
        for name, rest in candidates:
            if name in act:
                value, remaining = act[name], rest
                break
        else:
            value, remaining = root(act), fields
        for field in remaining:
            value = select(value, field)
        return value
    return run


def select(value: Any, field: str) -> Any:
    if type(value) is dict:
        if field in value:
            return value[field]
        raise CelError(f"no such key: '{field}'")
    raise CelError(f"type '{type_name(value)}' does not support field selection")


def _has(node: nodes.Node, scope: Scope) -> Evaluator:
    if not isinstance(node, nodes.Select):
        raise syntax_error("has() takes a field selection, like has(input.name)")
    operand, field = compile_node(node.operand, scope), node.field

    def run(act: dict[str, Any]) -> bool:
        value = operand(act)
        if type(value) is dict:
            return field in value
        raise CelError(f"type '{type_name(value)}' does not support field selection")
    return run


def _index(value: Any, key: Any) -> Any:
    kind = type(value)
    if kind is list:
        if type(key) is float and key.is_integer():
            key = int(key)
        if type(key) not in (int, Uint):
            raise CelError(f"invalid_argument: list index of type {type_name(key)}")
        if not 0 <= key < len(value):
            raise CelError(f"invalid_argument: index {key} out of range for a list of "
                           f"{len(value)}")
        return value[key]
    if kind is dict:
        found, item = lookup(value, key)
        if found:
            return item
        raise CelError(f"no such key: {key!r}")
    raise no_overload("_[_]", value, key)


def _binary(function: Callable[[Any, Any], Any], left: Evaluator, right: Evaluator) -> Evaluator:
    return lambda act: function(left(act), right(act))


def _list(items: list[Evaluator]) -> Evaluator:
    def run(act: dict[str, Any]) -> list[Any]:
        act[BUDGET].step(len(items))
        return [item(act) for item in items]
    return run


def _map(entries: list[tuple[Evaluator, Evaluator]]) -> Evaluator:
    def run(act: dict[str, Any]) -> dict[Any, Any]:
        act[BUDGET].step(len(entries))
        out: dict[Any, Any] = {}
        for key_of, value_of in entries:
            key = check_key(key_of(act))
            if lookup(out, key)[0]:
                raise CelError(f"Failed with repeated key: {key!r}")
            if key in out:  # a bool and a number equal in Python: true and 1, false and 0
                raise CelError(f"a map cannot hold both {key!r} and a key equal to it here")
            out[key] = value_of(act)
        return out
    return run


def _grown(function: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def run(act: dict[str, Any], a: Any, b: Any) -> Any:
        result = function(a, b)
        if type(result) in _GROWING:
            act[BUDGET].grow(len(result))
        return result
    return run


def _compare(name: str, accept: tuple[int, ...]) -> Callable[[Any, Any], bool]:
    return lambda a, b: compare(name, a, b) in accept


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "_-_": arith.subtract, "_*_": arith.multiply, "_/_": arith.divide, "_%_": arith.modulo,
    "_==_": equal, "_!=_": lambda a, b: not equal(a, b), "@in": lambda a, b: contains(b, a),
    "_<_": _compare("_<_", (-1,)), "_<=_": _compare("_<=_", (-1, 0)),
    "_>_": _compare("_>_", (1,)), "_>=_": _compare("_>=_", (1, 0)),
}


def _call(node: nodes.Call, scope: Scope) -> Evaluator:
    name, target, args = node.function, node.target, node.args
    if target is not None and name in _MACROS and args and isinstance(args[0], nodes.Ident):
        return _MACROS[name](target, args, scope)
    if name == "has" and target is None and len(args) == 1:
        return _has(args[0], scope)
    compiled = [compile_node(arg, scope) for arg in args]
    if name in _OPERATORS:
        return _binary(_OPERATORS[name], *compiled)
    if name == "_+_":
        add = _grown(arith.add)
        left, right = compiled
        return lambda act: add(act, left(act), right(act))
    if name in ("_&&_", "_||_"):
        return _logical(*compiled, decisive=name == "_||_")
    if name == "_?_:_":
        return _conditional(*compiled)
    if name == "!_":
        (operand,) = compiled
        return lambda act: arith.logical_not(operand(act))
    if name == "-_":
        (operand,) = compiled
        return lambda act: arith.negate(operand(act))
    if target is not None:
        compiled.insert(0, compile_node(target, scope))
    function = (MEMBER if target is not None else GLOBAL).get(name)
    return _function(name, function, compiled, member=target is not None)


def _function(name: str, function: Callable[..., Any] | None,
              args: list[Evaluator], *, member: bool = False) -> Evaluator:
    if function is None:
        def unknown(act: dict[str, Any]) -> Any:
            raise CelError(f"unknown function '{name}'")
        return unknown
    if not _takes(function, len(args)):
        given = len(args) - member  # a member call's target is not one of its arguments
        def mismatch(act: dict[str, Any]) -> Any:
            raise CelError(f"no such overload: '{name}' does not take {given} "
                           f"argument{'s' if given != 1 else ''}")
        return mismatch
    if len(args) == 1:
        (only,) = args
        return lambda act: function(only(act))
    if len(args) == 2:
        first, second = args
        return lambda act: function(first(act), second(act))
    return lambda act: function(*(arg(act) for arg in args))


def _takes(function: Callable[..., Any], count: int) -> bool:
    """Whether ``function`` can be called with ``count`` positional arguments."""
    try:
        inspect.signature(function).bind(*range(count))
    except TypeError:
        return False
    except ValueError:  # no signature to read: let the call decide
        return True
    return True


def _logical(left: Evaluator, right: Evaluator, *, decisive: bool) -> Evaluator:
    """``&&`` (decisive False) and ``||`` (decisive True): commutative, a decisive operand
    wins over an error or a non-bool on the other side."""
    name = "_||_" if decisive else "_&&_"

    def run(act: dict[str, Any]) -> bool:
        try:
            a: Any = left(act)
        except CelError as exc:
            a = exc
        if a is decisive:
            return bool(decisive)
        b = right(act)  # an error here wins over an error on the left, as in cel-go
        if b is decisive:
            return bool(decisive)
        if isinstance(a, CelError):
            raise a
        if type(a) is bool and type(b) is bool:
            return not decisive
        raise no_overload(name, a, b)
    return run


def _conditional(test: Evaluator, yes: Evaluator, no: Evaluator) -> Evaluator:
    def run(act: dict[str, Any]) -> Any:
        chosen = test(act)
        if chosen is True:
            return yes(act)
        if chosen is False:
            return no(act)
        raise no_overload("_?_:_", chosen)
    return run


def _variable(args: tuple[nodes.Node, ...]) -> str:
    variable = args[0]
    assert isinstance(variable, nodes.Ident)
    return variable.name


def _quantifier(decisive: bool) -> Callable[..., Evaluator]:
    def build(target: nodes.Node, args: tuple[nodes.Node, ...], scope: Scope) -> Evaluator:
        _arity(args, 2)
        var = _variable(args)
        return macros.quantifier(compile_node(target, scope), var,
                                 compile_node(args[1], scope | {var}), decisive=decisive)
    return build


def _exists_one(target: nodes.Node, args: tuple[nodes.Node, ...], scope: Scope) -> Evaluator:
    _arity(args, 2)
    var = _variable(args)
    return macros.exists_one(compile_node(target, scope), var, compile_node(args[1], scope | {var}))


def _map_macro(target: nodes.Node, args: tuple[nodes.Node, ...], scope: Scope) -> Evaluator:
    if len(args) not in (2, 3):
        raise syntax_error("map() takes a variable and one or two expressions")
    var = _variable(args)
    inner = scope | {var}
    keep = compile_node(args[1], inner) if len(args) == 3 else None
    return macros.transform(compile_node(target, scope), var, keep, compile_node(args[-1], inner))


def _filter(target: nodes.Node, args: tuple[nodes.Node, ...], scope: Scope) -> Evaluator:
    _arity(args, 2)
    var = _variable(args)
    return macros.transform(compile_node(target, scope), var,
                            compile_node(args[1], scope | {var}), None)


def _arity(args: tuple[nodes.Node, ...], count: int) -> None:
    if len(args) != count:
        raise syntax_error(f"this macro takes {count} arguments, got {len(args)}")


_MACROS: dict[str, Callable[[nodes.Node, tuple[nodes.Node, ...], Scope], Evaluator]] = {
    "all": _quantifier(False), "exists": _quantifier(True), "exists_one": _exists_one,
    "map": _map_macro, "filter": _filter,
}
MACRO_NAMES = frozenset(_MACROS)  # the member calls expanded as macros

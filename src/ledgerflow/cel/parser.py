"""CEL source to ``nodes``: a LALR grammar written from the spec's syntax (langdef.md).

Parsing builds nodes directly (no parse tree), so it never recurses; an expression nested
deeper than ``MAX_DEPTH`` is refused with a clear error before anything evaluates it.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import lark

from ledgerflow.cel import literals, nodes
from ledgerflow.cel.errors import syntax_error

MAX_DEPTH = 120
RESERVED = frozenset({
    "as", "break", "const", "continue", "else", "for", "function", "if", "import", "let",
    "loop", "package", "namespace", "return", "var", "void", "while",
})

# a string or bytes literal after its prefix: triple quotes may hold lone quotes and
# newlines; a backslash takes the next character with it, except in raw literals
QUOTED = (r"""('''(\\.|[^\\])*?'''|\"\"\"(\\.|[^\\])*?\"\"\""""
          r"""|'(\\.|[^\\'\r\n])*'|"(\\.|[^\\"\r\n])*")""")
RAW = r"""('''.*?'''|\"\"\".*?\"\"\"|'[^'\r\n]*'|"[^"\r\n]*")"""
_QUOTED = re.compile(QUOTED, re.S)
_RAW = re.compile(RAW, re.S)

GRAMMAR = r"""
?start: expr

?expr: or_expr
     | or_expr "?" or_expr ":" expr          -> conditional

?or_expr: and_expr
        | or_expr "||" and_expr              -> or_
?and_expr: relation
         | and_expr "&&" relation            -> and_
?relation: addition
         | relation "<" addition             -> lt
         | relation "<=" addition            -> le
         | relation ">=" addition            -> ge
         | relation ">" addition             -> gt
         | relation "==" addition            -> eq
         | relation "!=" addition            -> ne
         | relation "in" addition            -> in_
?addition: multiplication
         | addition "+" multiplication       -> add
         | addition "-" multiplication       -> sub
?multiplication: unary
         | multiplication "*" unary          -> mul
         | multiplication "/" unary          -> div
         | multiplication "%" unary          -> mod
?unary: member
      | "!" unary                            -> not_
      | "-" unary                            -> neg

?member: primary
       | member "." selector                  -> select
       | member "." selector "(" ")"         -> method
       | member "." selector "(" args ")"    -> method
       | member "[" expr "]"                 -> index

?primary: IDENT                              -> ident
        | "." IDENT                          -> ident
        | IDENT "(" ")"                      -> call
        | IDENT "(" args ")"                 -> call
        | "." IDENT "(" ")"                  -> call
        | "." IDENT "(" args ")"             -> call
        | "(" expr ")"
        | "[" "]"                            -> list_
        | "[" args "]"                       -> list_
        | "[" args "," "]"                   -> list_
        | "{" "}"                            -> map_
        | "{" entries "}"                    -> map_
        | "{" entries "," "}"                -> map_
        | FLOAT                              -> float_
        | UINT                               -> uint_
        | INT                                -> int_
        | STRING                             -> string_
        | "true"                             -> true_
        | "false"                            -> false_
        | "null"                             -> null_

args: expr
    | args "," expr
entries: entry
       | entries "," entry
entry: expr ":" expr
selector: IDENT | QUOTED_IDENT

IDENT: /[_a-zA-Z][_a-zA-Z0-9]*/
QUOTED_IDENT: /`[_a-zA-Z0-9.\-\/ ]+`/
FLOAT.3: /[0-9]*\.[0-9]+([eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+/
UINT.2: /(0[xX][0-9a-fA-F]+|[0-9]+)[uU]/
INT.1: /0[xX][0-9a-fA-F]+|[0-9]+/
STRING.4: /([bB][rR]|[rR][bB]?)""" + RAW + r"""|[bB]?""" + QUOTED + r"""/s

%ignore /[ \t\n\r\f]+/
%ignore /\/\/[^\n]*/
"""

_BINARY = {"lt": "_<_", "le": "_<=_", "ge": "_>=_", "gt": "_>_", "eq": "_==_", "ne": "_!=_",
           "in_": "@in", "add": "_+_", "sub": "_-_", "mul": "_*_", "div": "_/_",
           "mod": "_%_", "and_": "_&&_", "or_": "_||_"}


def _checked(node: nodes.Node) -> nodes.Node:
    if node.depth > MAX_DEPTH:
        raise syntax_error(f"expression nests deeper than {MAX_DEPTH} levels; split it up")
    return node


def _operator(function: str) -> Any:
    def build(self: _Builder, children: list[nodes.Node]) -> nodes.Node:
        return _checked(nodes.Call(nodes.depth_of(*children), function, None, tuple(children)))
    return build


def _literal(convert: Any) -> Any:
    def build(self: _Builder, children: list[lark.Token]) -> nodes.Node:
        return nodes.Literal(1, convert(str(children[0])) if children else convert(""))
    return build


def _identifier(token: lark.Token) -> str:
    name = str(token)
    if name in RESERVED:
        raise syntax_error(f"{name!r} is a reserved word and cannot name a variable or "
                             f"function", token.line, token.column)
    return name


class _Builder(lark.Transformer[lark.Token, nodes.Node]):
    """Callbacks the LALR parser runs as it reduces each rule."""

    conditional = _operator("_?_:_")
    not_ = _operator("!_")
    float_ = _literal(float)
    uint_ = _literal(literals.unsigned)
    int_ = _literal(literals.integer)
    string_ = _literal(literals.quoted)
    true_ = _literal(lambda _: True)
    false_ = _literal(lambda _: False)
    null_ = _literal(lambda _: None)

    def neg(self, children: list[nodes.Node]) -> nodes.Node:
        (operand,) = children
        if isinstance(operand, nodes.Literal) and type(operand.value) in (int, float):
            return nodes.Literal(operand.depth, -operand.value)  # -9223372036854775808
        return _checked(nodes.Call(nodes.depth_of(operand), "-_", None, (operand,)))

    def ident(self, children: list[lark.Token]) -> nodes.Node:
        return nodes.Ident(1, _identifier(children[0]))

    def call(self, children: list[Any]) -> nodes.Node:
        args = tuple(children[1]) if len(children) > 1 else ()
        return _checked(nodes.Call(nodes.depth_of(*args), _identifier(children[0]), None, args))

    def selector(self, children: list[lark.Token]) -> lark.Token:
        return children[0]

    def select(self, children: list[Any]) -> nodes.Node:
        operand, token = children
        field = str(token)[1:-1] if token.type == "QUOTED_IDENT" else str(token)
        return _checked(nodes.Select(nodes.depth_of(operand), operand, field))

    def method(self, children: list[Any]) -> nodes.Node:
        target, name = children[0], str(children[1])
        if children[1].type == "QUOTED_IDENT":
            raise syntax_error(f"{name} names a field, not a function", children[1].line,
                                 children[1].column)
        args = tuple(children[2]) if len(children) > 2 else ()
        return _checked(nodes.Call(nodes.depth_of(target, *args), name, target, args))

    def index(self, children: list[nodes.Node]) -> nodes.Node:
        operand, key = children
        return _checked(nodes.Index(nodes.depth_of(operand, key), operand, key))

    def args(self, children: list[Any]) -> list[nodes.Node]:
        return [*children[0], children[1]] if len(children) == 2 else [children[0]]

    entries = args

    def entry(self, children: list[nodes.Node]) -> tuple[nodes.Node, nodes.Node]:
        return children[0], children[1]

    def list_(self, children: list[Any]) -> nodes.Node:
        items = tuple(children[0]) if children else ()
        return _checked(nodes.ListLit(nodes.depth_of(*items), items))

    def map_(self, children: list[Any]) -> nodes.Node:
        entries = tuple(children[0]) if children else ()
        flat = [part for entry in entries for part in entry]
        return _checked(nodes.MapLit(nodes.depth_of(*flat), entries))


for _rule, _function in _BINARY.items():
    setattr(_Builder, _rule, _operator(_function))

_LOCAL = threading.local()
# Building a parser compiles the grammar's literals with ``ast``, which CPython 3.11 before
# 3.11.8 cannot do in two threads at once ("AST constructor recursion depth mismatch"):
# parsers are built one at a time.
_BUILDING = threading.Lock()


def _parser() -> lark.Lark:
    # One parser per thread: the LALR parser holds its transformer, which is stateless,
    # but lark does not promise its parser objects are safe to share.
    parser: lark.Lark | None = getattr(_LOCAL, "parser", None)
    if parser is None:
        with _BUILDING:
            parser = lark.Lark(GRAMMAR, parser="lalr", lexer="contextual",
                               transformer=_Builder(), propagate_positions=False,
                               maybe_placeholders=False)
        _LOCAL.parser = parser
    return parser


def literal_end(text: str, start: int) -> int | None:
    """Where the string literal whose opening quote is at ``start`` ends (the index after
    its closing quote), or None when it is not closed. A raw prefix before ``start``
    (``r'...'``, ``br'...'``) is honoured: there a backslash escapes nothing."""
    prefix = start
    while prefix > 0 and start - prefix < 2 and text[prefix - 1] in "rRbB":
        prefix -= 1
    in_name = prefix > 0 and (text[prefix - 1].isalnum() or text[prefix - 1] == "_")
    raw = not in_name and "r" in text[prefix:start].lower()
    match = (_RAW if raw else _QUOTED).match(text, start)
    return match.end() if match else None


def parse(source: str) -> nodes.Node:
    """Parse ``source``; raises ``CelSyntaxError`` with the reason and position."""
    try:
        result = _parser().parse(source)
    except lark.exceptions.UnexpectedToken as exc:
        token = exc.token
        reason = ("unexpected end of expression" if token.type == "$END"
                  else f"unexpected {str(token)!r}")
        raise syntax_error(reason, exc.line, exc.column) from None
    except lark.exceptions.UnexpectedCharacters as exc:
        raise syntax_error(f"unexpected character {exc.char!r}", exc.line,
                             exc.column) from None
    assert isinstance(result, nodes.Node)
    return result

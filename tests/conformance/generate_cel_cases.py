"""Regenerate cel_cases.json from a checkout of google/cel-spec (Apache-2.0).

    python tests/conformance/generate_cel_cases.py CEL-SPEC-CHECKOUT \
        > tests/conformance/cel_cases.json

Reads the core files of tests/simple/testdata (protobuf text format) and keeps the cases
whose bindings and results are JSON values, bytes, uints, timestamps or durations, that
need no protobuf messages, containers or optional types, and that expect a value or an
error (not a check-only or unknown result). Values are written typed: ``["int", 1]``,
``["uint", 1]``, ``["double", "nan"]``, ``["bytes", "<hex>"]``, ``["timestamp", s, ns]``,
``["list", [...]]``, ``["map", [[key, value], ...]]``.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<punct>[{}\[\]:,<>;])
  | (?P<word>[-+]?[A-Za-z0-9_.+\-/]+)
""", re.X | re.S)


def tokens(text):
    pos = 0
    out = []
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"bad token at {text[pos:pos+40]!r}")
        pos = m.end()
        if m.lastgroup == "ws":
            continue
        out.append((m.lastgroup, m.group()))
    return out


ESC = {"n": 10, "t": 9, "r": 13, '"': 34, "'": 39, "\\": 92, "a": 7, "b": 8, "f": 12,
       "v": 11, "?": 63}


def unquote(s):
    body = s[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        n = body[i + 1]
        if n in ESC:
            out.append(ESC[n])
            i += 2
        elif n in "01234567":
            j = i + 1
            while j < len(body) and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(int(body[i + 1:j], 8))
            i = j
        elif n in "xX":
            j = i + 2
            while j < len(body) and j < i + 4 and body[j] in "0123456789abcdefABCDEF":
                j += 1
            out.append(int(body[i + 2:j], 16))
            i = j
        elif n == "u":
            out += chr(int(body[i + 2:i + 6], 16)).encode()
            i += 6
        elif n == "U":
            out += chr(int(body[i + 2:i + 10], 16)).encode()
            i += 10
        else:
            raise ValueError(f"escape {n!r} in {s}")
    return bytes(out)


class Parser:
    def __init__(self, text):
        self.t = tokens(text)
        self.i = 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self):
        tok = self.t[self.i]
        self.i += 1
        return tok

    def message(self, end=None):
        fields = []
        while True:
            kind, val = self.peek()
            if kind is None or val == end:
                if end:
                    self.take()
                return fields
            if val in (",", ";"):
                self.take()
                continue
            if val == "[":
                self.take()
                name = ""
                while self.peek()[1] != "]":
                    name += self.take()[1]
                self.take()
                name = "[" + name + "]"
            else:
                name = self.take()[1]
            if self.peek()[1] == ":":
                self.take()
            kind, val = self.peek()
            if val in ("{", "<"):
                self.take()
                fields.append((name, self.message("}" if val == "{" else ">")))
            elif val == "[":  # list of scalars/messages
                self.take()
                while self.peek()[1] != "]":
                    if self.peek()[1] == ",":
                        self.take()
                        continue
                    if self.peek()[1] in ("{", "<"):
                        o = self.take()[1]
                        fields.append((name, self.message("}" if o == "{" else ">")))
                    else:
                        fields.append((name, self.scalar()))
                self.take()
            else:
                fields.append((name, self.scalar()))

    def scalar(self):
        kind, val = self.take()
        if kind == "str":
            data = unquote(val)
            while self.peek()[0] == "str":
                data += unquote(self.take()[1])
            return ("bytes", data)
        return ("word", val)


def parse(text):
    return Parser(text).message()


def get(msg, name):
    return [v for k, v in msg if k == name]


def one(msg, name, default=None):
    vals = get(msg, name)
    return vals[0] if vals else default


class Unsupported(Exception):
    pass


def word(v):
    assert v[0] == "word", v
    return v[1]


def text_of(v):
    return v[1].decode() if v[0] == "bytes" else v[1]


def value(msg):
    """cel.expr.Value -> typed JSON."""
    (k, v), = msg if len(msg) == 1 else [(None, None)] if not msg else [msg[0]]
    if k is None:
        raise Unsupported("empty value")
    if k == "null_value":
        return ["null"]
    if k == "bool_value":
        return ["bool", word(v) == "true"]
    if k == "int64_value":
        return ["int", int(word(v))]
    if k == "uint64_value":
        return ["uint", int(word(v))]
    if k == "double_value":
        w = word(v).lower()
        if w in ("inf", "infinity", "+inf"):
            return ["double", "inf"]
        if w in ("-inf", "-infinity"):
            return ["double", "-inf"]
        if w == "nan":
            return ["double", "nan"]
        return ["double", float(w)]
    if k == "string_value":
        return ["string", v[1].decode("utf-8")]
    if k == "bytes_value":
        return ["bytes", v[1].hex()]
    if k == "list_value":
        return ["list", [value(x) for x in get(v, "values")]]
    if k == "map_value":
        return ["map", [[value(one(e, "key")), value(one(e, "value"))]
                        for e in get(v, "entries")]]
    if k == "object_value":
        (tk, tv), = v
        if tk == "[type.googleapis.com/google.protobuf.Timestamp]":
            return ["timestamp", int(word(one(tv, "seconds", ("word", "0")))),
                    int(word(one(tv, "nanos", ("word", "0"))))]
        if tk == "[type.googleapis.com/google.protobuf.Duration]":
            return ["duration", int(word(one(tv, "seconds", ("word", "0")))),
                    int(word(one(tv, "nanos", ("word", "0"))))]
        raise Unsupported(f"object {tk}")
    raise Unsupported(k)


def case(file, section, test):
    c = {"file": file, "section": section, "name": text_of(one(test, "name")),
         "expr": text_of(one(test, "expr"))}
    for flag in ("disable_check", "disable_macros", "check_only"):
        if one(test, flag) is not None and word(one(test, flag)) == "true":
            c[flag] = True
    if one(test, "container") is not None:
        c["container"] = text_of(one(test, "container"))
    env = []
    for d in get(test, "type_env"):
        env.append(text_of(one(d, "name")))
    try:
        bindings = {}
        for b in get(test, "bindings"):
            key = text_of(one(b, "key"))
            ev = one(b, "value")
            inner = one(ev, "value")
            if inner is None:
                raise Unsupported("binding not a value")
            bindings[key] = value(inner)
        c["bindings"] = bindings
        if one(test, "value") is not None:
            c["value"] = value(one(test, "value"))
        elif one(test, "typed_result") is not None:
            r = one(one(test, "typed_result"), "result")
            if r is None:
                raise Unsupported("typed_result without result")
            c["value"] = value(r)
        elif one(test, "eval_error") is not None:
            errs = [text_of(one(e, "message")) for s in get(one(test, "eval_error"), "errors")
                    for e in [s] if one(e, "message") is not None]
            c["error"] = errs[0] if errs else ""
        elif one(test, "any_eval_errors") is not None:
            c["error"] = ""
        elif one(test, "unknown") is not None or one(test, "any_unknowns") is not None:
            raise Unsupported("unknowns")
        else:
            c["value"] = ["bool", True]  # default result is true
    except Unsupported as exc:
        c["unsupported"] = str(exc)
    return c



FILES = ["basic", "comparisons", "conversions", "fields", "fp_math", "integer_math", "lists",
         "logic", "macros", "namespace", "parse", "plumbing", "string", "timestamps"]
NEEDS_PROTOBUF = ("TestAllTypes", "google.protobuf", "proto2", "proto3", "NestedMessage",
                  "GlobalEnum", "NestedEnum", "cel.expr", "optional", ".?", "?.")


def applicable(c):
    if "unsupported" in c or c.get("check_only") or c.get("container") or \
            c.get("disable_macros"):
        return False
    return not any(word in c["expr"] for word in NEEDS_PROTOBUF)


def main():
    spec = Path(sys.argv[1])
    commit = subprocess.run(["git", "-C", str(spec), "rev-parse", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    cases = []
    for name in FILES:
        path = f"tests/simple/testdata/{name}.textproto"
        text = subprocess.run(["git", "-C", str(spec), "show", f"HEAD:{path}"], check=True,
                              capture_output=True, text=True).stdout
        msg = parse(text)
        for section in get(msg, "section"):
            sname = text_of(one(section, "name"))
            for test in get(section, "test"):
                c = case(name, sname, test)
                if applicable(c):
                    for flag in ("disable_check", "check_only"):
                        c.pop(flag, None)
                    cases.append(c)
    source = {
        "repository": "https://github.com/google/cel-spec",
        "commit": commit,
        "paths": [f"tests/simple/testdata/{name}.textproto" for name in FILES],
        "license": "Apache-2.0 (Copyright Google LLC); cases copied unchanged in meaning",
        "generator": "tests/conformance/generate_cel_cases.py",
    }
    json.dump({"source": source, "cases": cases}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


main()

"""The condition language: a small, safe expression parser and evaluator. Never Python `eval`.

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := operand (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") operand)?
    operand    := number | string | true | false | null | list | path | "(" expr ")"

A path that names nothing is null; a bare path is judged by truthiness (`{}` and `[]` are false).

As in Stevora, an expression with none of these operators is a dot path split on `.` whose
segments may hold any other character (`review-result.approved`, `my key.ok`).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any

from actors.steps.paths import MISSING, resolve


class ExpressionError(ValueError):
    """The expression does not parse, or compares values that cannot be compared."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>-?\d+(?:\.\d+)?)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
    )""",
    re.VERBOSE,
)

_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
#: A Stevora dot path: segments of letters, digits, `_`, `-`, `$` and spaces, split on `.`.
_STEVORA_PATH = re.compile(r"[\w$\- ]+(?:\.[\w$\- ]+)*")
#: A keyword standing alone makes an expression ours, not a path.
_KEYWORD_WORD = re.compile(r"(?:^|\s)(?:and|or|not|in)(?:\s|$)")
_COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
#: Longest expression accepted, and deepest nesting: bounds the work of one evaluation.
MAX_LENGTH = 2000
MAX_DEPTH = 32


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokenize(source: str) -> list[_Token]:
    tokens, position = [], 0
    source = source.rstrip()
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"unexpected character at {position}: {source[position:][:10]!r}")
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "name" and text in _KEYWORDS:
            kind = "keyword"
        tokens.append(_Token(kind, text))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def peek(self, offset: int = 0) -> _Token | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        self.index += 1
        return token

    def accept(self, text: str) -> bool:
        token = self.peek()
        if token is not None and token.text == text and token.kind in ("op", "keyword"):
            self.index += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            found = self.peek()
            raise ExpressionError(
                f"expected {text!r}, found {found.text if found else 'the end'!r}"
            )

    def parse(self) -> tuple:
        node = self.parse_or()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek().text!r}")
        return node

    def parse_or(self) -> tuple:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError("the expression is nested too deeply")
        node = self.parse_and()
        while self.accept("or"):
            node = ("or", node, self.parse_and())
        self.depth -= 1
        return node

    def parse_and(self) -> tuple:
        node = self.parse_not()
        while self.accept("and"):
            node = ("and", node, self.parse_not())
        return node

    def parse_not(self) -> tuple:
        if self.accept("not"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError("the expression is nested too deeply")
            node = ("not", self.parse_not())
            self.depth -= 1
            return node
        return self.parse_comparison()

    def parse_comparison(self) -> tuple:
        left = self.parse_operand()
        token = self.peek()
        if token is None:
            return left
        if token.kind == "op" and token.text in _COMPARE:
            self.index += 1
            return ("compare", token.text, left, self.parse_operand())
        if token.text == "in" and token.kind == "keyword":
            self.index += 1
            return ("in", left, self.parse_operand())
        nxt = self.peek(1)
        if token.text == "not" and nxt is not None and nxt.text == "in":
            self.index += 2
            return ("not", ("in", left, self.parse_operand()))
        return left

    def parse_operand(self) -> tuple:
        token = self.take()
        if token.kind == "number":
            number = float(token.text) if "." in token.text else int(token.text)
            return ("literal", number)
        if token.kind == "string":
            return ("literal", _unquote(token.text))
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            return ("literal", {"true": True, "false": False, "null": None}[token.text])
        if token.kind == "name":
            return ("path", token.text)
        if token.text == "(":
            node = self.parse_or()
            self.expect(")")
            return node
        if token.text == "[":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ExpressionError("the expression is nested too deeply")
            items = []
            if not self.accept("]"):
                items.append(self.parse_operand())
                while self.accept(","):
                    items.append(self.parse_operand())
                self.expect("]")
            self.depth -= 1
            return ("list", items)
        raise ExpressionError(f"unexpected {token.text!r}")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse(source: str) -> tuple:
    """Parse an expression into a tree; raise `ExpressionError` when it is not valid."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("the expression is empty")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    try:
        return _Parser(_tokenize(source)).parse()
    except ExpressionError:
        path = source.strip()
        if not _STEVORA_PATH.fullmatch(path) or _KEYWORD_WORD.search(path):
            raise
        return ("path", path)


def evaluate(source: str, input: dict, state: dict) -> bool:
    """Judge an expression over a run's input and state."""
    return _truthy(_value(parse(source), input, state))


def _value(node: tuple, input: dict, state: dict) -> Any:
    kind = node[0]
    if kind == "literal":
        return node[1]
    if kind == "path":
        found = resolve(node[1], input, state)
        return None if found is MISSING else found
    if kind == "list":
        return [_value(item, input, state) for item in node[1]]
    if kind == "not":
        return not _truthy(_value(node[1], input, state))
    if kind == "and":
        return _truthy(_value(node[1], input, state)) and _truthy(_value(node[2], input, state))
    if kind == "or":
        return _truthy(_value(node[1], input, state)) or _truthy(_value(node[2], input, state))
    if kind == "in":
        item, container = _value(node[1], input, state), _value(node[2], input, state)
        if isinstance(container, str) and isinstance(item, str):
            return item in container
        if isinstance(container, list | dict):
            return item in container
        return False
    if kind == "compare":
        symbol, left, right = node[1], _value(node[2], input, state), _value(node[3], input, state)
        if symbol in ("==", "!="):
            return _COMPARE[symbol](left, right)
        if _orderable(left, right):
            return _COMPARE[symbol](left, right)
        return False
    raise ExpressionError(f"unknown node {kind!r}")


def _orderable(left: Any, right: Any) -> bool:
    numbers = (int, float)
    if isinstance(left, bool) or isinstance(right, bool):
        return False
    return (isinstance(left, numbers) and isinstance(right, numbers)) or (
        isinstance(left, str) and isinstance(right, str)
    )


def _truthy(value: Any) -> bool:
    return bool(value)

"""What a call costs: the shipped price table (`prices.json`), overridable by the operator.

Prices are USD per million tokens. `STEVORA_LLM_PRICES` names a JSON file of the same shape
(`{"models": {"name": {"input": 2.5, "output": 10}}}`) whose models replace or add to the
shipped ones. A name prices itself and its dated snapshots: `gpt-4o` prices
`gpt-4o-2024-08-06`; the longest matching name wins (`gpt-4o-mini` over `gpt-4o`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

from models import config

#: Costs are kept to this precision (the `llm_call.cost_usd` column's).
COST_QUANTUM = Decimal("0.00000001")
MILLION = Decimal(1_000_000)
PRICE_KEYS = ("input", "output")


class PriceTableError(ValueError):
    """The operator's price file cannot be read or has the wrong shape."""


@dataclass(frozen=True)
class Price:
    #: USD per million tokens.
    input: Decimal
    output: Decimal

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        total = input_tokens * self.input + output_tokens * self.output
        return (total / MILLION).quantize(COST_QUANTUM)


def price_table() -> dict[str, Price]:
    """The prices in force: shipped, then the operator's file over them.

    Raises:
      PriceTableError: `STEVORA_LLM_PRICES` names a file that is missing or malformed.
    """
    return _table(config.current().llm_prices_path)


def price_of(model: str, table: dict[str, Price]) -> Price | None:
    """The price of `model`: its own, else the longest name it is a snapshot of."""
    if model in table:
        return table[model]
    names = [name for name in table if model.startswith(f"{name}-")]
    return table[max(names, key=len)] if names else None


@functools.cache
def _table(override_path: str | None) -> dict[str, Price]:
    shipped = resources.files(__package__).joinpath("prices.json").read_text(encoding="utf-8")
    table = _parse(json.loads(shipped), "prices.json")
    if override_path:
        try:
            with open(override_path, encoding="utf-8") as file:
                override = json.load(file)
        except (OSError, json.JSONDecodeError) as exc:
            raise PriceTableError(f"STEVORA_LLM_PRICES {override_path}: {exc}") from None
        table.update(_parse(override, override_path))
    return table


def _parse(document: Any, source: str) -> dict[str, Price]:
    models = document.get("models") if isinstance(document, dict) else None
    if not isinstance(models, dict):
        raise PriceTableError(f"{source}: must be an object with a `models` object")
    table = {}
    for name, price in models.items():
        valid = isinstance(price, dict) and all(_is_price(price.get(k)) for k in PRICE_KEYS)
        if not valid:
            raise PriceTableError(
                f"{source}: models.{name} must be {{input, output}}, USD per million tokens >= 0"
            )
        table[name] = Price(Decimal(str(price["input"])), Decimal(str(price["output"])))
    return table


def _is_price(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0

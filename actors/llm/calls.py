"""A step's calls to its models, in fallback order, each one kept as an `LlmCall` record.

A call goes to the model in use (the step's `model` at first). A retryable failure (429, 5xx,
a timeout, a lost connection) is recorded and the next of `fallbackModels` is asked the same
thing; that model stays in use for the rest of the step. A failure that is not retryable is
recorded and ends the step.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from actors.llm import http
from actors.llm.conversation import Prompt, Reply
from actors.llm.errors import ProviderError
from actors.llm.pricing import Price, price_of
from actors.llm.providers import Provider
from actors.steps.outcomes import LlmCall

logger = logging.getLogger(__name__)


class ModelsExhausted(Exception):
    """Every model of the step failed with a retryable error."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"all {len(errors)} models failed")
        self.errors = errors


class CallRefused(Exception):
    """A model failed in a way another try will not mend (a 4xx the provider means)."""

    def __init__(self, model: str, error: ProviderError) -> None:
        super().__init__(f"{model}: {error.message}")
        self.model = model
        self.error = error


class CallLog:
    """The models a step may use, the one in use, and every call made so far."""

    def __init__(
        self,
        models: list[tuple[str, Provider]],
        prices: dict[str, Price],
        read_s: float,
        step_name: str,
    ) -> None:
        self.models = models
        self.prices = prices
        self.read_s = read_s
        self.step_name = step_name
        self.current = 0
        self.calls: list[LlmCall] = []
        self.failures: list[dict[str, Any]] = []

    @property
    def model(self) -> str:
        return self.models[min(self.current, len(self.models) - 1)][0]

    @property
    def provider(self) -> str:
        return self.models[min(self.current, len(self.models) - 1)][1].name

    def ask(self, prompt: Prompt) -> Reply:
        """The first answer from the model in use or the ones after it.

        Raises:
          CallRefused: a model failed for good.
          ModelsExhausted: the last model failed too, retryably.
        """
        http.client()  # Made once per process (TLS set-up): no part of any call's duration.
        while self.current < len(self.models):
            model, provider = self.models[self.current]
            started = time.monotonic()
            try:
                reply = provider.complete(dataclasses.replace(prompt, model=model), self.read_s)
            except ProviderError as exc:
                self._failed(model, provider, exc, _ms_since(started))
                if not exc.retryable:
                    raise CallRefused(model, exc) from exc
                self.current += 1
                continue
            self._completed(model, provider, reply, _ms_since(started))
            return reply
        raise ModelsExhausted(self.failures)

    def trace_tools(self, traces: list[dict[str, Any]]) -> None:
        """Add the tool calls the last answer asked for (and their results) to its record."""
        last = self.calls[-1]
        self.calls[-1] = dataclasses.replace(last, details={**last.details, "toolCalls": traces})

    def _completed(self, model: str, provider: Provider, reply: Reply, duration_ms: int) -> None:
        details = self._details()
        details["finishReason"] = reply.finish_reason
        price = price_of(model, self.prices)
        if price is None:
            cost = 0.0
            details["warning"] = f"no price for model {model!r}: its cost is counted as 0"
        else:
            cost = float(price.cost(reply.input_tokens, reply.output_tokens))
        self.calls.append(
            LlmCall(
                provider=provider.name,
                model=model,
                input_tokens=reply.input_tokens,
                output_tokens=reply.output_tokens,
                cost_usd=cost,
                duration_ms=duration_ms,
                outcome="completed",
                details=details,
            )
        )

    def _failed(self, model: str, provider: Provider, exc: ProviderError, duration_ms: int) -> None:
        logger.info("llm call to %s (%s) failed: %s", model, provider.name, exc.message)
        error = exc.as_record()
        self.failures.append({"model": model, **error})
        self.calls.append(
            LlmCall(
                provider=provider.name,
                model=model,
                input_tokens=0,
                output_tokens=0,
                cost_usd=0.0,
                duration_ms=duration_ms,
                outcome="failed",
                error=error,
                details=self._details(),
            )
        )

    def _details(self) -> dict[str, Any]:
        return {
            "stepName": self.step_name,
            "callIndex": len(self.calls),
            "fallbackIndex": self.current,
        }


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)

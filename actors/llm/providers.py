"""Which provider serves a model, and with what URL and key (read when a step runs).

`claude-*` goes to Anthropic. `gpt-*`, `o1*`, `o3*` and `o4*` go to OpenAI; when
`OPENAI_BASE_URL` points somewhere other than OpenAI itself (a local model server), every
other model name goes there too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from actors.llm import anthropic, openai
from actors.llm.conversation import Prompt, Reply
from actors.llm.errors import ProviderNotConfigured
from models import config

#: Model names OpenAI's own API serves.
OPENAI_PREFIXES = ("gpt-", "o1", "o3", "o4")
ANTHROPIC_PREFIX = "claude-"

#: (prompt, base URL, API key, connect timeout s, read timeout s) -> reply
Send = Callable[[Prompt, str, str | None, float, float], Reply]


@dataclass(frozen=True)
class Provider:
    name: str
    base_url: str
    api_key: str | None = field(repr=False)
    send: Send = field(repr=False)

    def complete(self, prompt: Prompt, read_s: float) -> Reply:
        """Ask the model; raises `ProviderError` (or a subclass) when no answer comes."""
        connect_s = config.current().llm_connect_timeout_ms / 1000
        return self.send(prompt, self.base_url, self.api_key, connect_s, read_s)


def provider_for(model: str) -> Provider:
    """The provider that serves `model`.

    Raises:
      ProviderNotConfigured: no provider takes the name, or the provider's own API would be
        called without a key.
    """
    settings = config.current()
    if model.startswith(ANTHROPIC_PREFIX):
        own_api = settings.anthropic_base_url == config.ANTHROPIC_DEFAULT_BASE_URL
        if own_api and not settings.anthropic_api_key:
            raise ProviderNotConfigured(f"model {model!r} needs ANTHROPIC_API_KEY")
        return Provider(
            "anthropic", settings.anthropic_base_url, settings.anthropic_api_key, anthropic.complete
        )
    own_api = settings.openai_base_url == config.OPENAI_DEFAULT_BASE_URL
    if own_api and not model.startswith(OPENAI_PREFIXES):
        raise ProviderNotConfigured(
            f"no provider serves model {model!r}: names start with claude-, gpt-, o1, o3 or o4"
            " unless OPENAI_BASE_URL points at a compatible server"
        )
    if own_api and not settings.openai_api_key:
        raise ProviderNotConfigured(f"model {model!r} needs OPENAI_API_KEY")
    return Provider("openai", settings.openai_base_url, settings.openai_api_key, openai.complete)

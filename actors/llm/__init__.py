"""Calling model providers for llm steps: wire formats, prices, guardrails, answers.

`actors.steps.llm` is the step; the modules here each do one part of it.
"""

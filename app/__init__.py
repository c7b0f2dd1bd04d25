"""Stevora's HTTP API (Falcon, WSGI)."""

from app.factory import create_app

__all__ = ["create_app"]

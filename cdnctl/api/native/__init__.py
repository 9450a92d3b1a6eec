"""The native REST API (``/v1``), its reference (``/openapi.json``, ``/docs``) and ``/ui``."""

from __future__ import annotations

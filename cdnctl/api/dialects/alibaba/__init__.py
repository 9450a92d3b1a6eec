"""Alibaba Cloud dialects: CDN (API 2018-05-10) and ESA (API 2024-09-10).

Both are RPC-style APIs on ``/`` sharing one transport, dispatcher, pair of signature
schemes and error envelope (:mod:`._rpc`); the operations live in :mod:`.cdn`,
:mod:`.cdn_query` (CDN) and :mod:`.esa`, :mod:`.esa_query`, :mod:`.esa_upload` (ESA).
Compatibility notes: ``docs/dialects/alibaba-cdn.md`` and ``docs/dialects/alibaba-esa.md``.
"""

from __future__ import annotations

from cdnctl.api.dialects.alibaba._operations import OPERATIONS, start_background
from cdnctl.api.dialects.alibaba._rpc import AlibabaDialect

__all__ = ["DIALECT", "AlibabaDialect"]

DIALECT = AlibabaDialect(OPERATIONS)
DIALECT.background.append(start_background)

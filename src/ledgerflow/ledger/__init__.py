"""The ledger: canonical JSON, the hash chain and its verification (pure, no I/O).

See DESIGN.md section 6 for the body fields, the hash and the test vectors.
"""

from __future__ import annotations

from ledgerflow.ledger.canonical import (
    canonical_json,
    encode_string,
    format_timestamp,
    payload_sha256,
    sha256_hex,
)
from ledgerflow.ledger.chain import (
    BODY_FIELDS,
    BODY_VERSION,
    DOMAIN_PREFIX,
    GENESIS_HASH,
    Actor,
    ChainHeader,
    EventSpec,
    LedgerEntry,
    append,
    build_body,
    entry_hash,
)
from ledgerflow.ledger.verify import (
    ExecutionHead,
    Problem,
    StoredEntry,
    VerifyResult,
    verify_execution,
)

__all__ = [
    "BODY_FIELDS",
    "BODY_VERSION",
    "DOMAIN_PREFIX",
    "GENESIS_HASH",
    "Actor",
    "ChainHeader",
    "EventSpec",
    "ExecutionHead",
    "LedgerEntry",
    "Problem",
    "StoredEntry",
    "VerifyResult",
    "append",
    "build_body",
    "canonical_json",
    "encode_string",
    "entry_hash",
    "format_timestamp",
    "payload_sha256",
    "sha256_hex",
    "verify_execution",
]

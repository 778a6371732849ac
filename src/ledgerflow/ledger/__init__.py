"""The ledger: canonical JSON, the hash chain and its verification (pure, no I/O).

See DESIGN.md section 6 for the body fields, the hash and the test vectors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# name -> the module it lives in: each loads on first use (PEP 562), so a module that needs
# only ``canonical`` (timestamps, for a status) defines none of the chain's or verifier's types
_EXPORTS = {
    "canonical_json": "ledgerflow.ledger.canonical",
    "encode_string": "ledgerflow.ledger.canonical",
    "format_timestamp": "ledgerflow.ledger.canonical",
    "payload_sha256": "ledgerflow.ledger.canonical",
    "sha256_hex": "ledgerflow.ledger.canonical",
    "BODY_FIELDS": "ledgerflow.ledger.chain",
    "BODY_VERSION": "ledgerflow.ledger.chain",
    "DOMAIN_PREFIX": "ledgerflow.ledger.chain",
    "GENESIS_HASH": "ledgerflow.ledger.chain",
    "Actor": "ledgerflow.ledger.chain",
    "ChainHeader": "ledgerflow.ledger.chain",
    "EventSpec": "ledgerflow.ledger.chain",
    "LedgerEntry": "ledgerflow.ledger.chain",
    "append": "ledgerflow.ledger.chain",
    "build_body": "ledgerflow.ledger.chain",
    "entry_hash": "ledgerflow.ledger.chain",
    "ExecutionHead": "ledgerflow.ledger.verify",
    "Problem": "ledgerflow.ledger.verify",
    "StoredEntry": "ledgerflow.ledger.verify",
    "VerifyResult": "ledgerflow.ledger.verify",
    "verify_execution": "ledgerflow.ledger.verify",
}

if TYPE_CHECKING:  # the same names, for type checkers and readers (a test holds them equal)
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
else:
    from ledgerflow import _lazy

    __getattr__, __dir__ = _lazy.exports(__name__, _EXPORTS)

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

"""Domain agents of the onboarding demo. Each appends an S-expression fragment to the case.

``ubo.discover`` fails its first attempt (a flaky registry), so the demo shows a retry.
"""

from __future__ import annotations

import time
from typing import Any

import ledgerflow
from ledgerflow.engine.worker.context import StepContext

WORK_SECONDS = 0.05  # a little work, so the live progress has something to show


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _work() -> None:
    time.sleep(WORK_SECONDS)


@ledgerflow.agent("onboarding.open_case", name="onboarding")
def open_case(ctx: StepContext, data: dict[str, Any]) -> str:
    _work()
    products = " ".join(p.lower().replace("_", "-") for p in data["products"])
    return (f"(onboarding.create (entity {_quote(data['entity'])}) "
            f"(type {data['entity_type'].lower()}) (jurisdiction {data['jurisdiction']}) "
            f"(products {products}))")


@ledgerflow.agent("kyc.verify", name="kyc")
def kyc(ctx: StepContext, data: dict[str, Any]) -> str:
    _work()
    documents = "passport" if data["entity_type"] == "INDIVIDUAL" else "passport incorporation"
    ctx.log("documents requested", documents=documents.split())
    return f"(kyc.start (entity {_quote(data['entity'])}) (documents {documents}))"


@ledgerflow.agent("kyc.trust", name="trust-kyc")
def trust_kyc(ctx: StepContext, data: dict[str, Any]) -> str:
    _work()
    entity = _quote(data["entity"])
    return f"(trust-kyc.start (trust {entity}) (parties settlor trustee beneficiary))"


@ledgerflow.agent("ubo.discover", name="ubo")
def ubo(ctx: StepContext, data: dict[str, Any]) -> str:
    _work()
    if ctx.attempt == 1:
        ctx.log("registry lookup timed out", registry="beneficial-ownership")
        raise TimeoutError("beneficial-ownership registry did not answer")
    entity = _quote(data["entity"])
    return f"(ubo.discover (entity {entity}) (threshold 25) (attempt {ctx.attempt}))"


@ledgerflow.agent("custody.setup", name="custody")
def custody(ctx: StepContext, data: dict[str, Any]) -> str:
    _work()
    return f"(custody.open-account (entity {_quote(data['entity'])}) (segregated true))"


@ledgerflow.agent("trading.setup", name="trading")
def trading(ctx: StepContext, data: dict[str, Any]) -> str:
    _work()
    return f"(trading.enable (entity {_quote(data['entity'])}) (markets equities fixed-income))"


@ledgerflow.agent("fund_accounting.setup", name="fund-accounting")
def fund_accounting(ctx: StepContext, data: dict[str, Any]) -> str:
    _work()
    return f"(fund-accounting.setup (entity {_quote(data['entity'])}) (nav daily))"


@ledgerflow.agent("compliance.us", name="us-compliance")
def us_compliance(ctx: StepContext, data: dict[str, Any]) -> str:
    _work()
    return f"(us-compliance.screen (entity {_quote(data['entity'])}) (lists ofac fincen))"


@ledgerflow.agent("compliance.eu", name="eu-compliance")
def eu_compliance(ctx: StepContext, data: dict[str, Any]) -> str:
    _work()
    return (f"(eu-compliance.screen (entity {_quote(data['entity'])}) "
            f"(jurisdiction {data['jurisdiction']}) (directive amld6))")


@ledgerflow.agent("onboarding.review", name="review")
def review(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    _work()
    document = ctx.state.get("document", [])
    domains = [fragment.split(" ", 1)[0].lstrip("(").split(".")[0] for fragment in document]
    return {"entity": data["entity"], "status": "approved", "domains": domains,
            "fragments": len(document)}


# instructions (signal handlers): each matching domain records what it was asked to do
def _instruction(domain: str) -> Any:
    def handle(ctx: StepContext, data: dict[str, Any]) -> str:
        return f"({domain}.instruction (text {_quote(str(data.get('text', '')))}))"
    handle.__name__ = f"{domain.replace('-', '_')}_instruction"
    return handle


for _capability, _domain in (("kyc.instruct", "kyc"), ("ubo.instruct", "ubo"),
                             ("custody.instruct", "custody"), ("trading.instruct", "trading"),
                             ("compliance.instruct", "compliance")):
    ledgerflow.agent(_capability, name=f"{_domain}-instructions")(_instruction(_domain))

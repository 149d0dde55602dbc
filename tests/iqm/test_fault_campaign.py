"""The fault campaign, bounded for CI (issue 9): jobs under every fault kind the server injects.

Each kind gets a fresh ``LocalServer`` with a random fault rule on every request and one fault
of that kind on the first submit; a few jobs with certain outcomes run through client threads.
Every result must be exactly right, none lost, none duplicated, and the server must hold no job
the client does not know about (its job count equals the submissions). The full figure (40 jobs
per kind at 20%) is ``scripts/fault_campaign.py``; this test uses the same code.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from shotpack.iqm.transport import RetryPolicy

_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fault_campaign.py"


def _campaign():
    name = "shotpack_fault_campaign_script"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


campaign = _campaign()

JOBS = 5
# Quick backoff: the campaign is about outcomes, not about waiting politely.
RETRY = RetryPolicy(max_attempts=8, backoff_base=0.005, backoff_max=0.1)


@pytest.mark.parametrize("kind", campaign.KINDS)
def test_no_job_lost_wrong_duplicated_or_orphaned(kind):
    report = campaign.run_kind(
        kind,
        jobs=JOBS,
        rate=0.25,
        workers=3,
        client_timeout=0.5,
        delay=1.0,
        retry_after=0.05,
        job_timeout=60.0,
        seed=7,
        retry=RETRY,
    )
    assert report.errors == []
    assert report.correct == JOBS and report.wrong == 0 and report.lost == 0
    assert report.duplicated == 0 and report.orphaned == 0
    assert report.faults >= 1  # the targeted fault on the first submit, at least


def test_fault_plan_rate_is_per_request():
    # The rules of a kind share the rate: over many requests the faulted fraction is the rate.
    plan = campaign.fault_plan("mix", 0.2, delay=1.0, retry_after=0.0, seed=3)
    hits = sum(plan.pick("GET", "/api/v1/jobs/x") is not None for _ in range(20000))
    assert 0.18 < hits / 20000 < 0.22
    kinds = {f.kind for _, _, f in plan.injected}
    assert kinds == {"status", "drop", "reset", "truncate", "delay"}


def test_job_circuits_have_distinct_certain_outcomes():
    seen = {campaign.job_circuit(i)[1] for i in range(31)}
    assert len(seen) == 31 and "00000" not in seen

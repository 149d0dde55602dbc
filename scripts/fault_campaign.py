"""Fault campaign: jobs through ``shotpack.IQMClient`` against a ``LocalServer`` that injects
faults, counting correct, lost, duplicated and orphaned jobs.

For each fault kind a fresh server (5 qubits, no readout error) gets a random fault rule on
every request at the given rate (plus, with ``--targeted``, one fault of that kind on the first
submit, so the submit path is always exercised), and ``--jobs`` jobs run through a few client
threads. Each job is one circuit whose outcome is certain (an X pattern derived from the job's
index, then a measurement of every qubit), with a job-specific number of shots, so a result is
correct only if it is exactly ``{pattern: shots}``: a lost, mixed-up or duplicated shot shows.

Counted per kind:

- correct: the client returned exactly the expected counts;
- wrong: the client returned other counts (a corrupted or mixed-up result);
- lost: the client raised instead of returning a result (listed with the error);
- duplicated: jobs on the server beyond one per submission (each submission sends its own
  ``Idempotency-Key``, and the server's key map says which job a key created);
- orphaned: the server has a job for a submission the client reported as failed;
- max s: the longest time from submit to verified result;
- faults (POST): faults injected in all (on submits).

``--no-keys`` runs the same against a server that ignores ``Idempotency-Key`` (as a server
without the feature): the client then repeats no submit that may have arrived, and reports
those as errors that say the job may exist; the jobs such submits created are counted as
orphaned (the server's jobs beyond those the client knows).

Kinds: ``503``, ``429`` (``Retry-After``), ``502``, ``504``, ``drop`` and ``reset`` (half before the
request is processed, half after: the job exists and only the answer is lost), ``truncate``,
``delay`` (longer than the client's read timeout), and ``mix`` (all of them, the rate split
between them).

Usage (the issue's figure: 20% of each kind, 40 jobs per kind, 360 jobs)::

    python scripts/fault_campaign.py --rate 0.2 --jobs 40

Exit status 1 if any job was wrong, lost, duplicated or orphaned.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from shotpack.iqm.client import IQMClient
from shotpack.iqm.errors import ShotpackError
from shotpack.iqm.models import Circuit, Instruction, ServerJobStatus
from shotpack.iqm.transport import RetryPolicy
from shotpack.server.faults import Fault, FaultPlan
from shotpack.server.local import LocalServer

KINDS = ("503", "429", "502", "504", "drop", "reset", "truncate", "delay", "mix")
"""Every kind of the campaign, in report order."""

QUBITS = 5


def kind_faults(kind: str, *, delay: float, retry_after: float) -> list[tuple[Fault, float]]:
    """The faults of one kind with their share of the rate (shares sum to 1)."""
    if kind == "mix":
        parts = [
            f for k in KINDS[:-1] for f in kind_faults(k, delay=delay, retry_after=retry_after)
        ]
        return [(f, share / (len(KINDS) - 1)) for f, share in parts]
    if kind == "429":
        return [(Fault("status", status=429, retry_after=retry_after), 1.0)]
    if kind.isdigit():
        return [(Fault("status", status=int(kind)), 1.0)]
    if kind in ("drop", "reset"):
        return [(Fault(kind), 0.5), (Fault(kind, after=True), 0.5)]
    if kind == "truncate":
        return [(Fault("truncate"), 1.0)]
    if kind == "delay":
        return [(Fault("delay", delay=delay), 1.0)]
    raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")


def fault_plan(kind: str, rate: float, *, delay: float, retry_after: float, seed: int) -> FaultPlan:
    """A plan that gives each request a fault of ``kind`` with probability ``rate``.

    Rules are consulted in order and each takes its conditional share, so the chance that a
    request gets some fault is exactly ``rate``.
    """
    plan = FaultPlan(seed)
    left = 1.0
    for fault, share in kind_faults(kind, delay=delay, retry_after=retry_after):
        # P(rule fires | earlier rules did not) so that P(rule fires) = rate * share.
        p = rate * share / (1.0 - rate * (1.0 - left))
        plan.add(fault, probability=min(1.0, p))
        left -= share
    return plan


def job_circuit(index: int) -> tuple[Circuit, str]:
    """A circuit with a certain outcome for job ``index`` and that outcome as a bitstring
    (Qiskit order: qubit 1 rightmost)."""
    pattern = index % (2**QUBITS - 1) + 1
    bits = [(pattern >> q) & 1 for q in range(QUBITS)]
    names = [f"QB{q + 1}" for q in range(QUBITS)]
    instructions = [
        Instruction(name="prx", locus=(name,), args={"angle": math.pi, "phase": 0.0})
        for name, bit in zip(names, bits, strict=True)
        if bit
    ]
    instructions.append(Instruction(name="measure", locus=tuple(names), args={"key": "m"}))
    return Circuit(name=f"job{index}", instructions=instructions), "".join(
        str(b) for b in reversed(bits)
    )


@dataclass
class JobRecord:
    """What happened to one job."""

    index: int
    key: str
    shots: int
    expected: str
    job_id: uuid.UUID | None = None
    counts: dict[str, int] | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def correct(self) -> bool:
        return self.counts == {self.expected: self.shots}


@dataclass
class KindReport:
    """The figures of one kind."""

    kind: str
    jobs: int
    correct: int
    wrong: int
    lost: int
    duplicated: int
    orphaned: int
    faults: int
    max_seconds: float
    post_faults: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.correct == self.jobs and not (self.duplicated or self.orphaned)


def run_job(client: IQMClient, index: int, job_timeout: float) -> JobRecord:
    """Submit, wait for and check one job; never raises for a client error."""
    circuit, expected = job_circuit(index)
    record = JobRecord(index, str(uuid.uuid4()), shots=8 + index % 7, expected=expected)
    start = time.monotonic()
    try:
        job = client.submit_circuits([circuit], shots=record.shots, idempotency_key=record.key)
        record.job_id = job.job_id
        status = job.wait_for_completion(timeout_secs=job_timeout)
        if status != ServerJobStatus.COMPLETED:
            record.error = f"job {job.job_id} ended {status.value}: {job.errors}"
        else:
            bins = job.data_bins()
            assert bins is not None
            record.counts = bins[0]["m"].get_counts()
    except ShotpackError as exc:
        record.error = f"{type(exc).__name__}: {exc}"
    record.seconds = time.monotonic() - start
    return record


def run_kind(
    kind: str,
    *,
    jobs: int,
    rate: float,
    workers: int = 4,
    client_timeout: float = 1.5,
    delay: float = 2.5,
    retry_after: float = 0.5,
    job_timeout: float = 60.0,
    seed: int = 1,
    targeted: bool = True,
    retry: RetryPolicy | None = None,
    keys: bool = True,
) -> KindReport:
    """Run ``jobs`` jobs under faults of ``kind`` and count the outcomes.

    Args:
        kind: one of :data:`KINDS`.
        jobs: number of jobs.
        rate: chance that a request gets a fault.
        workers: client threads (each with its own ``IQMClient``).
        client_timeout: the clients' read timeout in seconds.
        delay: seconds of a ``delay`` fault (longer than ``client_timeout``).
        retry_after: ``Retry-After`` seconds of 429 faults.
        job_timeout: ``wait_for_completion`` timeout per job.
        seed: seed of the server and of its fault choices.
        targeted: also fault the first submit with every fault of the kind, in turn.
        retry: the clients' retry policy (default: the client's).
        keys: whether the server honours ``Idempotency-Key``.

    Returns:
        The kind's figures.
    """
    plan = fault_plan(kind, rate, delay=delay, retry_after=retry_after, seed=seed)
    if targeted:
        for fault, _ in kind_faults(kind, delay=delay, retry_after=retry_after):
            plan.add(fault, times=1, path="/circuit$", method="POST")
    server = LocalServer(qubits=QUBITS, seed=seed, faults=plan)
    server.jobs.idempotency_keys.enabled = keys
    server.start()
    local = threading.local()
    clients: list[IQMClient] = []
    lock = threading.Lock()

    def job(index: int) -> JobRecord:
        client = getattr(local, "client", None)
        if client is None:
            try:
                client = IQMClient(server.url + "/", timeout=client_timeout, retry=retry)
            except ShotpackError as exc:  # the listing failed after every retry
                _, expected = job_circuit(index)
                return JobRecord(index, "", 0, expected, error=f"client: {exc}")
            local.client = client
            with lock:
                clients.append(client)
        return run_job(client, index, job_timeout)

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            records = list(pool.map(job, range(jobs)))
        if any(f.kind == "delay" for _, _, f in plan.injected):
            # A delayed request the client gave up on is still being served; let it finish,
            # so a job it creates is counted.
            time.sleep(delay + 0.5)
        on_server = sum(server.jobs.counts().values())
        known = {r.job_id for r in records if r.job_id is not None}
        if keys:
            key_map = server.jobs.idempotency_keys
            by_key = {r.key: key_map.job_for(r.key) for r in records if r.key}
            ours = {jid for jid in by_key.values() if jid is not None}
            mismatched = sum(
                1 for r in records if r.job_id is not None and by_key.get(r.key) != r.job_id
            )
            orphaned = sum(1 for r in records if r.job_id is None and by_key.get(r.key) is not None)
            duplicated = on_server - len(ours) + mismatched
        else:
            # No key map: the client never repeats a submit that may have arrived, so every
            # job it does not know is one it reported as failed.
            duplicated = 0
            orphaned = on_server - len(known)
        faults = len(plan.injected)
        post_faults = sum(1 for method, _, _ in plan.injected if method == "POST")
    finally:
        for client in clients:
            client.close()
        server.stop()
    return KindReport(
        kind=kind,
        jobs=jobs,
        correct=sum(r.correct for r in records),
        wrong=sum(1 for r in records if r.counts is not None and not r.correct),
        lost=sum(1 for r in records if r.counts is None),
        duplicated=duplicated,
        orphaned=orphaned,
        faults=faults,
        max_seconds=max((r.seconds for r in records), default=0.0),
        post_faults=post_faults,
        errors=[f"job {r.index}: {r.error}" for r in records if r.error],
    )


def _row(r: KindReport) -> str:
    return (
        f"{r.kind:>9} {r.jobs:>5} {r.faults:>6} ({r.post_faults:>4}) {r.correct:>7} "
        f"{r.wrong:>5} {r.lost:>5} {r.duplicated:>4} {r.orphaned:>6} {r.max_seconds:>6.1f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=0.2, help="fault rate per request")
    parser.add_argument("--jobs", type=int, default=40, help="jobs per kind")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds")
    parser.add_argument("--workers", type=int, default=8, help="client threads per kind")
    parser.add_argument("--timeout", type=float, default=1.5, help="client read timeout (s)")
    parser.add_argument("--delay", type=float, default=2.5, help="delay fault (s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-keys", action="store_true", help="the server ignores Idempotency-Key")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    print(
        f"fault rate {args.rate:.0%}, {args.jobs} jobs per kind, client timeout "
        f"{args.timeout:g} s, delay faults {args.delay:g} s"
        + (", server IGNORES Idempotency-Key" if args.no_keys else "")
    )
    print(
        f"{'kind':>9} {'jobs':>5} {'faults (POST)':>13} {'correct':>7} {'wrong':>5} {'lost':>5} "
        f"{'dup':>4} {'orphan':>6} {'max s':>6}"
    )
    total = KindReport("total", 0, 0, 0, 0, 0, 0, 0, 0.0)
    for kind in kinds:
        r = run_kind(
            kind,
            jobs=args.jobs,
            rate=args.rate,
            workers=args.workers,
            client_timeout=args.timeout,
            delay=args.delay,
            seed=args.seed,
            keys=not args.no_keys,
        )
        for e in r.errors:
            print(f"    {kind}: {e}", file=sys.stderr)
        print(_row(r), flush=True)
        for name in ("jobs", "correct", "wrong", "lost", "duplicated", "orphaned"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.faults += r.faults
        total.post_faults += r.post_faults
        total.max_seconds = max(total.max_seconds, r.max_seconds)
    print(_row(total))
    return 0 if total.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""``shotpack demo``: the seed's Estimator and Sampler example, end to end, offline.

It starts the local IQM-compatible server in-process on loopback, builds the seed's 2-qubit
circuit (``h, cx, ry(a), rz(b), cx, h``) in IQM's native gates with two :class:`Parameter` s,
and runs

* an Estimator job: observables of shape ``(3, 1)`` (``0.5 XX + 0.5 IY``, ``XX``, ``IY``) against
  100 parameter sets, giving ``evs`` of shape ``(3, 100)``;
* a Sampler job: the same circuit measured, over the 100 parameter sets, 100k shots each
  (10M shots, a 60 MB measurements body).

It checks every value against the exact ones (an independent NumPy statevector of the seed
circuit in standard gates), prints shapes, values, counts and the time of every stage, writes
``demo.png`` when matplotlib is installed, and returns a non-zero status if anything is wrong.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from shotpack.circuit.parameters import Parameter
from shotpack.iqm.backend import IQMBackend
from shotpack.iqm.client import IQMClient
from shotpack.iqm.models.circuit import Circuit, Instruction
from shotpack.primitives.estimator import Estimator
from shotpack.primitives.sampler import Sampler
from shotpack.server.local import LocalServer

__all__ = ["DemoReport", "exact_expectations", "exact_probabilities", "run_demo", "seed_circuit"]

NUM_SETS = 100
SAMPLER_SHOTS = 100_000
#: A value passes when it is within this many standard errors of the exact one.
TOLERANCE_SIGMAS = 5.0
OBSERVABLES: list[list[Any]] = [[{"XX": 0.5, "IY": 0.5}], ["XX"], ["IY"]]


def seed_parameters() -> NDArray[np.float64]:
    """The seed's sweep: ``a`` over ``[-pi, pi]``, ``b`` over ``[-4 pi, 4 pi]``, 100 sets."""
    return np.vstack(
        [np.linspace(-np.pi, np.pi, NUM_SETS), np.linspace(-4 * np.pi, 4 * np.pi, NUM_SETS)]
    ).T


def seed_circuit(measure: bool = False) -> Any:
    """The seed circuit on ``QB1`` (qubit 0) and ``QB2`` (qubit 1) in ``prx`` and ``cz`` gates.

    ``H = X * Ry(pi/2)``, ``CX = H_t CZ H_t`` and ``Rz(b) = Rx(pi/2) Ry(b) Rx(-pi/2)``, with
    ``prx(t, 0) = Rx(t)`` and ``prx(t, pi/2) = Ry(t)``.

    Args:
        measure: append one ``measure`` of both qubits with key ``meas``.
    """
    a, b = Parameter("a"), Parameter("b")
    half = math.pi / 2

    def prx(q: str, angle: Any, phase: float) -> Instruction:
        return Instruction(name="prx", locus=(q,), args={"angle": angle, "phase": phase})

    def h(q: str) -> list[Instruction]:
        return [prx(q, half, half), prx(q, math.pi, 0.0)]

    def cx(c: str, t: str) -> list[Instruction]:
        return [*h(t), Instruction(name="cz", locus=(c, t)), *h(t)]

    q0, q1 = "QB1", "QB2"
    body = [
        *h(q0),
        *cx(q0, q1),
        prx(q0, a, half),
        prx(q0, -half, 0.0),
        prx(q0, b, half),
        prx(q0, half, 0.0),
        *cx(q0, q1),
        *h(q0),
    ]
    if measure:
        body.append(Instruction(name="measure", locus=(q0, q1), args={"key": "meas"}))
    return Circuit(name="seed", instructions=body)


def _seed_states(params: NDArray[np.float64]) -> NDArray[np.complex128]:
    """Final states ``(sets, 4)`` of the seed circuit, index ``2 * q1 + q0``, standard gates."""
    hgate = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    eye = np.eye(2)
    # Qiskit's little-endian order: the matrix of a gate on qubit 0 is kron(I, G).
    h0 = np.kron(eye, hgate)
    cx01 = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]], dtype=complex)
    out = np.empty((len(params), 4), dtype=complex)
    for k, (a, b) in enumerate(params):
        ry = np.array([[np.cos(a / 2), -np.sin(a / 2)], [np.sin(a / 2), np.cos(a / 2)]])
        rz = np.diag([np.exp(-0.5j * b), np.exp(0.5j * b)])
        u = h0 @ cx01 @ np.kron(eye, rz @ ry) @ cx01 @ h0
        out[k] = u[:, 0]
    return out


def exact_expectations(params: NDArray[np.float64]) -> NDArray[np.float64]:
    """Exact values of the demo's observables, shape ``(3, sets)``."""
    x = np.array([[0, 1], [1, 0]], dtype=complex)
    y = np.array([[0, -1j], [1j, 0]])
    xx = np.kron(x, x)
    iy = np.kron(np.eye(2), y)  # label "IY": Y on qubit 0 (rightmost character)
    states = _seed_states(params)

    def ev(op: NDArray[np.complex128]) -> NDArray[np.float64]:
        return np.einsum("ki,ij,kj->k", states.conj(), op, states).real

    ev_xx, ev_iy = ev(xx), ev(iy)
    return np.stack([0.5 * ev_xx + 0.5 * ev_iy, ev_xx, ev_iy])


def exact_probabilities(params: NDArray[np.float64]) -> NDArray[np.float64]:
    """Exact outcome probabilities ``(sets, 4)``, outcome index = the measured integer
    (bit 0 = QB1)."""
    return np.abs(_seed_states(params)) ** 2


@dataclass
class DemoReport:
    """What the demo measured and found."""

    timings: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    evs: NDArray[np.float64] | None = None
    stds: NDArray[np.float64] | None = None
    exact: NDArray[np.float64] | None = None

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return not self.failures


def _check_estimator(report: DemoReport, data: Any, shots: int, exact: NDArray[np.float64]) -> None:
    for name in ("evs", "stds", "ensemble_standard_error"):
        shape = getattr(data, name).shape
        if shape != (3, NUM_SETS):
            report.failures.append(f"estimator {name} has shape {shape}, expected (3, 100)")
    if report.failures:
        return
    # A cell whose shots all agree has a sample std of 0 although its exact value may be a little
    # off +-1 (all n shots agree with probability 1e-4 once the minority outcome has p = 20/n).
    tol = TOLERANCE_SIGMAS * data.stds + 20.0 / shots
    dev = np.abs(data.evs - exact)
    bad = np.argwhere(dev > tol)
    for i, j in bad[:5]:
        report.failures.append(
            f"evs[{i}, {j}] = {data.evs[i, j]:.4f} +- {data.stds[i, j]:.4f}, exact "
            f"{exact[i, j]:.4f}: more than {TOLERANCE_SIGMAS:g} standard errors apart"
        )
    if len(bad) > 5:
        report.failures.append(f"... {len(bad) - 5} more values off")


def _check_sampler(report: DemoReport, bits: Any, probs: NDArray[np.float64]) -> None:
    if bits.shape != (NUM_SETS,) or bits.num_shots != SAMPLER_SHOTS or bits.num_bits != 2:
        report.failures.append(
            f"sampler BitArray is {bits!r}, expected shape (100,), {SAMPLER_SHOTS} shots, 2 bits"
        )
        return
    # Outcome histograms of every parameter set at once: the packed byte is the outcome.
    outcomes = bits.array[..., 0] & 3
    counts = np.stack([(outcomes == v).sum(axis=-1) for v in range(4)], axis=-1)
    n = SAMPLER_SHOTS
    sigma = np.sqrt(n * probs * (1 - probs))
    bad = np.argwhere(np.abs(counts - n * probs) > TOLERANCE_SIGMAS * sigma + 1)
    for k, v in bad[:5]:
        report.failures.append(
            f"sampler set {k}: outcome {v:02b} counted {counts[k, v]} times, expected "
            f"{n * probs[k, v]:.1f} +- {sigma[k, v]:.1f}"
        )


def _plot(path: str, params: NDArray[np.float64], data: Any, exact: NDArray[np.float64]) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    labels = ["0.5 XX + 0.5 IY", "XX", "IY"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    fine = np.linspace(0, 1, 600)
    fine_params = np.vstack([-np.pi + 2 * np.pi * fine, -4 * np.pi + 8 * np.pi * fine]).T
    curves = exact_expectations(fine_params)
    for i, label in enumerate(labels):
        color = f"C{i}"
        ax.plot(fine_params[:, 0], curves[i], color=color, lw=1, alpha=0.6)
        ax.errorbar(
            params[:, 0], data.evs[i], yerr=data.stds[i], fmt=".", ms=3, color=color, label=label
        )
    ax.set_xlabel("a  (b = 4 a)")
    ax.set_ylabel("expectation value")
    ax.set_title("shotpack Estimator on the local IQM server (dots) vs exact (lines)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def run_demo(
    *,
    plot: str | None = "demo.png",
    seed: int | None = 1234,
    readout_error: float = 0.0,
    out: IO[str] | None = None,
) -> DemoReport:
    """Runs the demo (see the module docstring) and returns its report.

    Args:
        plot: path of the figure (written only when matplotlib is installed); None skips it.
        seed: seed of the local server's simulator.
        readout_error: readout bit-flip probability of the simulated device; anything but 0
            biases the values, and the checks must then fail (used to test the checks).
        out: where to print (default stdout).

    Returns:
        The report; ``report.ok`` tells whether every check passed.
    """
    stream = out if out is not None else sys.stdout

    def say(text: str = "") -> None:
        print(text, file=stream, flush=True)

    report = DemoReport()
    t_start = time.perf_counter()

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        value = fn()
        report.timings[name] = time.perf_counter() - t0
        return value

    report.timings["import"] = time.perf_counter() - t_start
    server = stage(
        "server start",
        lambda: LocalServer(qubits=2, seed=seed, readout_error=readout_error).start(),
    )
    try:
        backend = stage("connect", lambda: IQMBackend(IQMClient(server.url)))
        say(f"local IQM server on {server.url} (2 qubits, statevector simulator)")
        params = seed_parameters()
        circuit = seed_circuit()

        estimator = Estimator(backend)
        job = estimator.run([(circuit, OBSERVABLES, params)])
        result = job.result()
        _record(report, "estimator", job.timings)
        data = result[0].data
        shots = int(result[0].metadata["shots"])
        exact = exact_expectations(params)
        report.evs, report.stds, report.exact = data.evs, data.stds, exact
        say()
        say(f"Estimator: 1 PUB, observables (3, 1) x parameter values {params.shape}")
        say(f"  evs {data.evs.shape}, stds {data.stds.shape}, {shots} shots per circuit,")
        say(f"  {len(job.server_jobs)} server job(s), {_num_circuits(job)} circuits")
        say("  observable          a       b        ev   +- std      exact")
        for i, label in enumerate(["0.5 XX + 0.5 IY", "XX", "IY"]):
            for j in (0, 37, 74):
                say(
                    f"  {label:<15} {params[j, 0]:6.3f} {params[j, 1]:7.3f} {data.evs[i, j]:9.4f}"
                    f" +- {data.stds[i, j]:.4f} {exact[i, j]:9.4f}"
                )
        _check_estimator(report, data, shots, exact)

        sampler = Sampler(backend)
        sjob = sampler.run([(seed_circuit(measure=True), params)], shots=SAMPLER_SHOTS)
        sresult = sjob.result()
        _record(report, "sampler", sjob.timings)
        bits = sresult[0].data["meas"]
        say()
        say(f"Sampler: 1 PUB, parameter values {params.shape}, {SAMPLER_SHOTS} shots each")
        say(f"  data: {sresult[0].data}")
        say(f"  counts of PUB 0 (all parameter sets): {_sorted_counts(bits.get_counts())}")
        say(f"  counts of PUB 0 at a = {params[0, 0]:.3f}: {_sorted_counts(bits.get_counts(0))}")
        _check_sampler(report, bits, exact_probabilities(params))

        if plot is not None and report.evs is not None and not report.failures:
            say()
            try:
                written = stage("plot", lambda: _plot(plot, params, data, exact))
            except OSError as exc:
                report.failures.append(f"could not write {plot}: {exc.strerror or exc}")
            else:
                say(
                    f"wrote {plot}"
                    if written
                    else "matplotlib is not installed: no plot (pip install 'shotpack[plot]')"
                )
    finally:
        stage("server stop", server.stop)
    if not report.failures:
        stage("mitigation", lambda: _mitigation_section(say, report, seed))
    report.timings["total"] = time.perf_counter() - t_start
    _print_timings(say, report)
    say()
    if report.failures:
        say("FAILED:")
        for failure in report.failures:
            say(f"  {failure}")
    else:
        say(
            f"OK: all 300 evs within {TOLERANCE_SIGMAS:g} standard errors of the exact values; "
            "sampler counts match the exact probabilities"
        )
    return report


#: Readout errors ``(P(1|0), P(0|1))`` of the noisy device of the mitigation section.
NOISY_READOUT = {"QB1": (0.03, 0.08), "QB2": (0.02, 0.06)}
#: Parameter sets shown in the mitigation section.
MITIGATION_SETS = (0, 20, 37, 60, 74)


def _mitigation_section(say: Callable[[str], None], report: DemoReport, seed: int | None) -> None:
    """The same Estimator PUB on a device with readout error, without and with TREX."""
    params = seed_parameters()[list(MITIGATION_SETS)]
    exact = exact_expectations(params)
    with LocalServer(qubits=2, seed=seed, readout_error=NOISY_READOUT) as noisy:
        backend = IQMBackend(IQMClient(noisy.url))
        pub = [(seed_circuit(), OBSERVABLES, params)]
        raw = Estimator(backend, seed=seed).run(pub, precision=0.01).result()[0].data
        mitigated = (
            Estimator(backend, measure_mitigation=True, seed=seed)
            .run(pub, precision=0.01)
            .result()[0]
            .data
        )
    say("")
    say(f"Readout mitigation (TREX) on a noisy device, readout errors {NOISY_READOUT}:")
    say("  observable          a      exact   raw ev +- std    (z)  TREX ev +- std    (z)")
    for i, label in enumerate(["0.5 XX + 0.5 IY", "XX", "IY"]):
        for j in range(len(params)):
            e = exact[i, j]
            r, rs = raw.evs[i, j], max(raw.stds[i, j], 1e-12)
            m, ms = mitigated.evs[i, j], mitigated.stds[i, j]
            say(
                f"  {label:<15} {params[j, 0]:6.3f} {e:9.4f} {r:8.4f} +- {rs:.4f} "
                f"{abs(r - e) / rs:5.1f} {m:8.4f} +- {ms:.4f} {abs(m - e) / ms:5.1f}"
            )
    far = np.abs(mitigated.evs - exact) > TOLERANCE_SIGMAS * mitigated.stds
    if far.any():
        report.failures.append(
            f"{int(far.sum())} TREX-mitigated evs are more than {TOLERANCE_SIGMAS:g} standard "
            "errors from the exact values"
        )


def _num_circuits(job: Any) -> int:
    return sum(len(j.payload().circuits) for j in job.server_jobs)


def _sorted_counts(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items()))


def _record(report: DemoReport, name: str, timings: dict[str, float]) -> None:
    for key, value in timings.items():
        report.timings[f"{name} {key}"] = value


def _print_timings(say: Callable[[str], None], report: DemoReport) -> None:
    t = report.timings
    total = t["total"]
    post = sum(
        t.get(f"{p} {s}", 0.0) for p in ("estimator", "sampler") for s in ("parse", "assemble")
    )
    say("")
    say("time per stage (s):")
    rows = [
        ("imports", t.get("import", 0.0)),
        ("server start + connect", t.get("server start", 0.0) + t.get("connect", 0.0)),
    ]
    for p in ("estimator", "sampler"):
        rows += [
            (f"{p}: prepare (bind, plan, circuits)", t.get(f"{p} prepare", 0.0)),
            (f"{p}: submit (validate, POST)", t.get(f"{p} submit", 0.0)),
            (f"{p}: execute (server)", t.get(f"{p} execute", 0.0)),
            (f"{p}: download", t.get(f"{p} download", 0.0)),
            (
                f"{p}: post-processing (parse + assemble)",
                t.get(f"{p} parse", 0.0) + t.get(f"{p} assemble", 0.0),
            ),
        ]
    if "plot" in t:
        rows.append(("plot", t["plot"]))
    rows.append(("server stop", t.get("server stop", 0.0)))
    for label, value in rows:
        say(f"  {label:<46} {value:8.3f}")
    say(f"  {'total':<46} {total:8.3f}")
    say(f"  post-processing share of the total: {100 * post / total:.1f}%")


def main(plot: str | None = "demo.png", seed: int | None = 1234) -> int:
    """Runs the demo; returns 0 when every check passed, else 1."""
    return 0 if run_demo(plot=plot, seed=seed).ok else 1

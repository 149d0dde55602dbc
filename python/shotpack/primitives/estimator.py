"""``Estimator``: Qiskit ``EstimatorV2``-style expectation values on an IQM server."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shotpack.containers.bit_array import BitArray
from shotpack.containers.data_bin import DataBin
from shotpack.containers.estimator_pub import EstimatorPub
from shotpack.containers.primitive_result import PrimitiveResult
from shotpack.containers.pub_result import PubResult
from shotpack.expval.evaluate import evaluate_estimator
from shotpack.expval.plan import plan_measurements
from shotpack.iqm.models.circuit import Circuit, Instruction
from shotpack.iqm.models.compilation import CircuitCompilationOptions
from shotpack.mitigation.trex import TrexCalibration, evaluate_mitigated, random_flips
from shotpack.primitives.batching import _as_list, _bind, _metadata, _Primitive, _stack
from shotpack.primitives.job import Batch, ExecutionSpan, PrimitiveJob
from shotpack.qiskit.conversion import coerce_circuit

__all__ = ["Estimator"]

#: Measurement key of the TREX calibration circuits (they measure nothing else).
_TREX_KEY = "shotpack_trex"
#: Randomizations when ``measure_mitigation`` is on and none are given.
DEFAULT_TREX_RANDOMIZATIONS = 32


def _free_key(circ: Circuit, base: str) -> str:
    used = {inst.args.get("key") for inst in circ.instructions if inst.name == "measure"}
    key, n = base, 0
    while key in used:
        n += 1
        key = f"{base}_{n}"
    return key


class Estimator(_Primitive):
    """Estimates expectation values of observables on an IQM server, Qiskit ``EstimatorV2``-style.

    For each PUB, the Pauli terms broadcast onto each parameter set are grouped into qubit-wise
    commuting sets (:func:`shotpack.expval.plan.plan_measurements`); each group is one circuit: the
    bound circuit, ``prx`` basis rotations, and one ``measure`` of the group's qubits. Values and
    standard errors come from :func:`shotpack.expval.evaluate.evaluate_estimator` (Rust).

    Measurement twirling (``num_randomizations > 1``): every group is run as that many circuits,
    each flipping a random subset of the measured qubits with ``prx(pi, 0)`` just before the
    measurement; the flips are XORed out of the bits, so readout bias averages out, and
    ``stds`` becomes the spread of the per-randomization estimates.

    Readout mitigation (``measure_mitigation=True``, TREX, :mod:`shotpack.mitigation.trex`):
    measurement twirling as above plus twirled calibration circuits on every measured qubit
    (random flips of ``|0...0>``, then a measurement): each Pauli term's value is divided by
    its calibration factor, and ``stds`` include the calibration's own uncertainty. Shot
    budget: the calibration is ``num_randomizations`` more circuits of the job's
    ``shots_per_randomization`` shots (as many shots as the largest single group of the run),
    shared by every PUB of the run; the PUBs' circuits keep their shots.

    Args:
        backend: a :class:`shotpack.iqm.IQMBackend` or :class:`shotpack.iqm.IQMClient`.
        default_precision: target standard error of PUBs that give none; shots per group are
            ``ceil(1 / precision**2)``.
        num_randomizations: measurement-twirling randomizations (1: no twirling; default 1,
            or 32 with ``measure_mitigation``).
        measure_mitigation: TREX readout mitigation (twirled measurements and calibration).
        seed: seed of the twirling flips.
        options: compilation options sent with the job.
        max_circuits: most circuits per server job (default: the backend's ``max_circuits``).
        max_total_shots: most ``circuits x shots`` per server job.

    Raises:
        TypeError: wrong argument types.
        ValueError: a non-positive precision or number of randomizations, or fewer than 2
            randomizations with ``measure_mitigation``.

    Example:
        >>> est = Estimator(IQMBackend(client))  # doctest: +SKIP
        >>> res = est.run([(circuit, [["XX"], ["IY"]], values)]).result()  # doctest: +SKIP
        >>> res[0].data.evs.shape  # doctest: +SKIP
        (2, 100)
    """

    def __init__(
        self,
        backend: Any,
        *,
        default_precision: float = 1 / 64,
        num_randomizations: int | None = None,
        measure_mitigation: bool = False,
        seed: int | None = None,
        options: CircuitCompilationOptions | None = None,
        max_circuits: int | None = None,
        max_total_shots: int | None = None,
    ) -> None:
        super().__init__(backend, options, max_circuits, max_total_shots)
        _check_precision(default_precision, "default_precision")
        if num_randomizations is None:
            num_randomizations = DEFAULT_TREX_RANDOMIZATIONS if measure_mitigation else 1
        if isinstance(num_randomizations, bool) or not isinstance(num_randomizations, int):
            raise TypeError("num_randomizations must be an integer")
        if num_randomizations < 1:
            raise ValueError("num_randomizations must be at least 1")
        if measure_mitigation and num_randomizations < 2:
            raise ValueError(
                "measure_mitigation needs num_randomizations >= 2 (the calibration's error "
                "comes from the spread over the randomizations)"
            )
        self.default_precision = float(default_precision)
        self.num_randomizations = num_randomizations
        self.measure_mitigation = bool(measure_mitigation)
        self._rng = np.random.default_rng(seed)

    def run(
        self, pubs: Iterable[Any], *, precision: float | None = None
    ) -> PrimitiveJob[PubResult]:
        """Submits the PUBs as one server job and returns its :class:`PrimitiveJob`.

        Args:
            pubs: ``EstimatorPub`` s or tuples ``(circuit, observables[, parameter_values[,
                precision]])``; ``observables`` broadcast against the parameter values.
            precision: target precision of PUBs that give none (default
                ``default_precision``).

        Returns:
            The job; ``job.result()[i].data`` holds ``evs``, ``stds`` and
            ``ensemble_standard_error`` of shape ``pub.shape``.

        Raises:
            TypeError, ValueError: invalid PUBs (see :class:`~shotpack.EstimatorPub`),
                shapes that do not broadcast, a precision that is not positive, a parameter
                missing or unknown.
            CircuitValidationError: a circuit is not valid for the backend.
        """
        t0 = time.perf_counter()
        if precision is not None:
            _check_precision(precision, "precision")
        default = self.default_precision if precision is None else precision
        coerced = [EstimatorPub.coerce(pub, default) for pub in _as_list(pubs)]
        num_rand = self.num_randomizations
        mitigate = self.measure_mitigation
        twirl = num_rand > 1 or mitigate
        measured: dict[str, None] = {}  # every measured qubit, in first-use order
        circuits: list[Circuit] = []
        plans: list[dict[str, Any]] = []
        for i, pub in enumerate(coerced):
            where = f"pub {i}"
            prec = pub.precision
            _check_precision(prec, f"{where}: precision")
            circ = coerce_circuit(pub.circuit, where, qubit_names=self._qubit_names)
            qubits = circ.qubits
            used = circ.all_locus_components()
            undeclared = sorted(used - set(qubits) - _resonators(circ))
            if undeclared:
                raise ValueError(
                    f"{where}: circuit {circ.name!r} acts on {undeclared}, which its declared "
                    f"qubit list {list(qubits)} does not contain"
                )
            shots = math.ceil(1.0 / float(prec) ** 2)  # type: ignore[arg-type]
            per_rand = math.ceil(shots / num_rand)
            bound = _bind(circ, pub.parameter_values, where)
            plan = plan_measurements(pub)
            key = _free_key(circ, "shotpack_estimator")
            first = len(circuits)
            flips: list[NDArray[np.uint8] | None] = []
            loci: list[tuple[str, ...]] = []
            for g in plan.groups:
                flat = (
                    int(np.ravel_multi_index(g.parameter_index, plan.parameter_shape))
                    if (plan.parameter_shape)
                    else 0
                )
                base = bound[flat]
                locus = tuple(qubits[q] for q in g.qubits)
                loci.append(locus)
                measured.update(dict.fromkeys(locus))
                rotations = [
                    Instruction.model_construct(
                        name="prx",
                        locus=(qubits[q],),
                        args={"angle": angle, "phase": phase},
                        implementation=None,
                    )
                    for q, angle, phase in g.rotations
                ]
                if twirl:
                    mask = random_flips(self._rng, num_rand, len(locus))
                    flips.append(BitArray.from_bool_array(mask, order="little").array)
                else:
                    mask = np.zeros((1, len(locus)), dtype=np.uint8)
                    flips.append(None)
                for r in range(num_rand):
                    flipped = [
                        Instruction.model_construct(
                            name="prx",
                            locus=(locus[j],),
                            args={"angle": math.pi, "phase": 0.0},
                            implementation=None,
                        )
                        for j in np.flatnonzero(mask[r]).tolist()
                    ]
                    measure = Instruction.model_construct(
                        name="measure", locus=locus, args={"key": key}, implementation=None
                    )
                    circuits.append(
                        Circuit.model_construct(
                            name=base.name,
                            instructions=[*base.instructions, *rotations, *flipped, measure],
                            metadata=base.metadata,
                        )
                    )
            plans.append(
                {
                    "plan": plan,
                    "first": first,
                    "count": len(circuits) - first,
                    "shots": per_rand,
                    "key": key,
                    "flips": flips,
                    "precision": float(prec),  # type: ignore[arg-type]
                    "circuit": circ,
                    "loci": loci,
                }
            )
        # No circuits when every observable is the identity: nothing to measure, values exact.
        job_shots = max((p["shots"] for p in plans if p["count"]), default=0)
        cal_qubits = tuple(measured)
        cal_first = len(circuits)
        cal_flips: NDArray[np.uint8] | None = None
        if mitigate and cal_qubits:
            # Twirled calibration: random flips of |0...0> on every measured qubit.
            cal_mask = random_flips(self._rng, num_rand, len(cal_qubits))
            cal_flips = BitArray.from_bool_array(cal_mask, order="little").array
            for r in range(num_rand):
                circuits.append(
                    Circuit.model_construct(
                        name="trex_calibration",
                        instructions=[
                            *(
                                Instruction.model_construct(
                                    name="prx",
                                    locus=(cal_qubits[j],),
                                    args={"angle": math.pi, "phase": 0.0},
                                    implementation=None,
                                )
                                for j in np.flatnonzero(cal_mask[r]).tolist()
                            ),
                            Instruction.model_construct(
                                name="measure",
                                locus=cal_qubits,
                                args={"key": _TREX_KEY},
                                implementation=None,
                            ),
                        ],
                        metadata=None,
                    )
                )
        options: dict[str, dict[str, Any]] = {
            "twirling": {
                "enable_gates": False,
                "enable_measure": twirl,
                "num_randomizations": num_rand,
                "shots_per_randomization": job_shots,
            },
            "resilience": {
                "measure_mitigation": mitigate,
                "zne_mitigation": False,
                "pec_mitigation": False,
            },
        }
        if mitigate:
            options["resilience"]["measure_noise_learning"] = {
                "num_randomizations": num_rand,
                "shots_per_randomization": job_shots,
                "qubits": list(cal_qubits),
            }

        def finish(bins: list[DataBin], spans: list[ExecutionSpan]) -> PrimitiveResult[Any]:
            calibration = None
            if cal_flips is not None:
                arrays = [bins[cal_first + r][_TREX_KEY].array for r in range(num_rand)]
                bits = BitArray(_stack(arrays, (num_rand,), job_shots), len(cal_qubits))
                calibration = TrexCalibration(cal_qubits, bits, cal_flips)
            metadata = {**_metadata(spans), **options}
            return PrimitiveResult(
                [_estimator_pub_result(p, bins, num_rand, twirl, calibration) for p in plans],
                metadata,
            )

        ranges: list[tuple[int, int, tuple[int, ...]]] = [
            (p["first"], p["count"], (p["count"], p["shots"])) for p in plans
        ]
        return self._submit(Batch(circuits, job_shots, finish, ranges), t0)


def _resonators(circ: Circuit) -> set[str]:
    return {i.locus[1] for i in circ.instructions if i.name == "move" and len(i.locus) == 2}


def _check_precision(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{what} must be a real number, not {type(value).__name__}")
    if not value > 0 or not math.isfinite(float(value)):
        raise ValueError(f"{what} must be positive and finite, got {value}")


def _estimator_pub_result(
    p: dict[str, Any],
    bins: list[DataBin],
    num_rand: int,
    twirl: bool,
    calibration: TrexCalibration | None,
) -> PubResult:
    plan = p["plan"]
    shots, key = p["shots"], p["key"]
    data = []
    for g_index, group in enumerate(plan.groups):
        start = p["first"] + g_index * num_rand
        arrays = []
        for r in range(num_rand):
            ba = bins[start + r][key]
            if ba.num_shots < shots:
                raise ValueError(
                    f"group {g_index} (basis {group.basis}): {ba.num_shots} shots came back, "
                    f"expected {shots} (heralding drops shots; the Estimator needs all of them)"
                )
            arrays.append(ba.array)
        shape = (num_rand,) if twirl else ()
        data.append(BitArray(_stack(arrays, shape, shots), group.num_bits))
    resilience: dict[str, Any] = {}
    if calibration is not None and plan.groups:
        dbin, factors = evaluate_mitigated(plan, data, p["flips"], p["loci"], calibration)
        resilience["measure_mitigation_factors"] = factors
    else:
        dbin = evaluate_estimator(plan, data, p["flips"] if twirl else None)
    metadata = {
        "target_precision": p["precision"],
        "shots": shots * num_rand,
        "circuit_metadata": p["circuit"].user_metadata,
        "resilience": resilience,
        "num_randomizations": num_rand,
    }
    return PubResult(dbin, metadata)

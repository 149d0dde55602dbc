"""Draws docs/images/mitigation.png: raw, mitigated and exact distributions of a 4-qubit GHZ
state on the noisy local device.

    python docs/mitigation_plot.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shotpack.iqm.client import IQMClient
from shotpack.iqm.models.circuit import Circuit, Instruction
from shotpack.measurements.parse import parse_measurements
from shotpack.mitigation import ReadoutCalibration
from shotpack.server import LocalServer

PI = float(np.pi)
QUBITS = ["QB1", "QB2", "QB3", "QB4"]


def ghz() -> list[Instruction]:
    def ins(name: str, *locus: str, **args: object) -> Instruction:
        return Instruction(name=name, locus=locus, args=args)

    out = [ins("prx", "QB1", angle=PI / 2, phase=PI / 2)]
    for a, b in (("QB1", "QB2"), ("QB2", "QB4"), ("QB1", "QB3")):
        out += [
            ins("prx", b, angle=PI / 2, phase=PI / 2),
            ins("cz", a, b),
            ins("prx", b, angle=-PI / 2, phase=PI / 2),
        ]
    return [*out, ins("measure", *QUBITS, key="m")]


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shots = 20_000
    with LocalServer(qubits=4, seed=2, random_readout_error=0.05, noise_seed=3) as server:
        client = IQMClient(server.url)
        cal = ReadoutCalibration.measure(client, QUBITS, shots=20_000)
        job = client.submit_circuits([Circuit(name="ghz", instructions=ghz())], shots=shots)
        job.wait_for_completion(60)
        (data,) = parse_measurements(client.get_job_measurements_body(job.job_id))
    counts = data.m.get_counts()
    quasi = cal.apply(counts)
    keys = [format(i, "04b") for i in range(16)]
    raw = [counts.get(k, 0) / shots for k in keys]
    mitigated = [quasi.get(k, 0.0) for k in keys]
    exact = [0.5 if k in ("0000", "1111") else 0.0 for k in keys]
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=90)
    ax.bar(x - 0.27, raw, 0.27, label="raw")
    ax.bar(x, mitigated, 0.27, label="mitigated (quasi-probabilities)")
    ax.bar(x + 0.27, exact, 0.27, label="exact")
    ax.set_xticks(x, keys, rotation=90, fontsize=8)
    ax.set_ylabel("probability")
    ax.set_title("4-qubit GHZ on the noisy local device (readout error about 5-10%)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(__file__).parent / "images" / "mitigation.png"
    fig.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

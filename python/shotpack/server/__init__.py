"""Local IQM-compatible server with a statevector simulator (``shotpack serve``).

It speaks the IQM Server API v1 as iqm-client 36 uses it, so both the official client and
:class:`shotpack.iqm.IQMClient` can run against it unchanged. Start it from Python::

    from shotpack.server import LocalServer

    with LocalServer(qubits=5, seed=1, readout_error=0.01) as server:
        print(server.url)           # http://127.0.0.1:<free port>
        server.faults.fail_next(2, status=503, path="/jobs/")   # inject real failures
        with server.paused():       # jobs submitted here stay 'waiting'
            ...

or from the command line: ``shotpack serve --port 8000 --qubits 5``.
"""

from shotpack.server.architecture import Architecture, square_lattice
from shotpack.server.faults import Fault, FaultPlan, FaultRule
from shotpack.server.local import LocalServer
from shotpack.server.simulator import NativeOp, SimulationError, simulate_circuit

__all__ = [
    "Architecture",
    "Fault",
    "FaultPlan",
    "FaultRule",
    "LocalServer",
    "NativeOp",
    "SimulationError",
    "simulate_circuit",
    "square_lattice",
]

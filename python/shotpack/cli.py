"""The ``shotpack`` command (also ``python -m shotpack``).

One function per subcommand: ``_add_<name>(subparsers)`` declares its arguments and
``_run_<name>(args)`` runs it and returns the exit status.

Example:
    shotpack serve --port 8000 --qubits 5 --readout-error 0.02 --seed 1
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sys
from collections.abc import Callable, Sequence

from shotpack._version import __version__
from shotpack.demo import main as demo_main
from shotpack.io import save
from shotpack.measurements.parse import parse_measurements
from shotpack.server.local import LocalServer, return_freed_memory_promptly
from shotpack.server.simulator import ReadoutError

__all__ = ["build_parser", "main"]

_Runner = Callable[[argparse.Namespace], int]


def _readout_error(text: str) -> ReadoutError | dict[str, ReadoutError]:
    """``0.02`` for every qubit, ``QB1=0.01,QB2=0.03`` per qubit; ``p01/p10`` is asymmetric."""

    def one(value: str) -> ReadoutError:
        if "/" in value:
            p01, _, p10 = value.partition("/")
            return float(p01), float(p10)
        return float(value)

    try:
        if "=" not in text:
            return one(text)
        out: dict[str, ReadoutError] = {}
        for item in text.split(","):
            name, _, value = item.partition("=")
            out[name.strip()] = one(value)
        return out
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a probability, P10/P01 or QB1=p,QB2=p01/p10,..., got {text!r}"
        ) from None


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {value}")
    return value


def _int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in ``[low, high]`` (no upper bound if ``high`` is None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"at least {low}" if high is None else f"in {low}..{high}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse


def _seconds(text: str) -> float:
    """An argparse type: a finite, non-negative number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be finite and >= 0, got {text!r}")
    return value


def _add_serve(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the local IQM-compatible server with a statevector simulator",
        description="Serve the IQM Server API v1 on HTTP, backed by a statevector simulator of "
        "the native operations. The official iqm-client and shotpack's client both work "
        "against it.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=_int_in(0, 65535), default=8000, help="TCP port; 0 picks a free one"
    )
    p.add_argument("--qubits", type=int, default=5, help="qubits QB1..QBn on a square lattice")
    p.add_argument(
        "--token",
        default=None,
        help="require 'Authorization: Bearer TOKEN' on every request (default: env "
        "SHOTPACK_SERVER_TOKEN, else no auth)",
    )
    p.add_argument(
        "--readout-error",
        type=_readout_error,
        default=0.0,
        metavar="P",
        help="readout bit-flip probability: one value, or QB1=p,QB2=p,...; a value P01/P10 "
        "is asymmetric (P(1|0)/P(0|1))",
    )
    p.add_argument(
        "--random-readout-error",
        type=_probability,
        default=None,
        metavar="M",
        help="draw each qubit's P(1|0) in [M/2, M] and P(0|1) in [M, 2M] from --noise-seed",
    )
    p.add_argument(
        "--noise-seed", type=_int_in(0), default=None, help="seed of the drawn readout errors"
    )
    p.add_argument(
        "--gate-error",
        type=_probability,
        default=0.0,
        metavar="P",
        help="depolarizing probability after each single-qubit gate",
    )
    p.add_argument(
        "--cz-error",
        type=_probability,
        default=0.0,
        metavar="P",
        help="depolarizing probability after each cz",
    )
    p.add_argument("--seed", type=_int_in(0), default=None, help="seed for reproducible results")
    p.add_argument(
        "--faults",
        default=None,
        metavar="SPEC",
        help="inject random faults, e.g. '503:0.2,delay:0.1:0.5,drop:0.1,truncate:0.05' "
        "(KIND:PROBABILITY[:ARG]; KIND is a status code, delay, drop, reset or truncate)",
    )
    p.add_argument(
        "--job-delay", type=_seconds, default=0.0, help="extra seconds each job spends processing"
    )
    p.add_argument("--quantum-computer", default="sim", help="alias of the quantum computer")
    p.add_argument(
        "--max-body-bytes",
        type=_int_in(1),
        default=2 << 20,
        help="largest request body accepted (default 2 MiB)",
    )
    p.add_argument("--max-shots", type=_int_in(1), default=10_000_000, help="largest shots per job")
    p.add_argument(
        "--max-qubits", type=_int_in(1), default=20, help="largest statevector (qubits) per circuit"
    )
    # Memory and connection limits (docs/server.md lists them all); defaults as in LocalServer.
    limits = p.add_argument_group("limits")
    for flag, kind, default, text in (
        ("--max-total-shots", _int_in(1), 50_000_000, "largest circuits x shots per job"),
        ("--max-connections", _int_in(1), 64, "connections served at once (more get 503)"),
        ("--max-inflight-body-bytes", _int_in(1), 8 << 20, "request body bytes read at once"),
        ("--backlog", _int_in(1), 128, "listen backlog"),
        ("--response-timeout", _seconds, 60.0, "seconds to send a response to a slow reader"),
        ("--max-path-chars", _int_in(1), 256, "path length kept in the request log"),
        ("--max-state-bytes", _int_in(1), 32 << 20, "memory budget of one simulation"),
        ("--idle-timeout", _seconds, 15.0, "seconds an idle connection is kept"),
        ("--request-timeout", _seconds, 30.0, "seconds to receive a request's headers and body"),
        ("--max-json-depth", _int_in(1), 64, "deepest JSON nesting accepted"),
        ("--max-request-log", _int_in(1), 10_000, "requests kept in the request log"),
        ("--max-job-result-bytes", _int_in(1), 32 << 20, "largest estimated result of a job"),
        ("--max-stored-bytes", _int_in(1), 64 << 20, "memory budget for jobs and results"),
        ("--max-retained-jobs", _int_in(0), 1000, "finished jobs kept"),
        ("--job-retention", _seconds, 3600.0, "seconds a finished job is kept"),
    ):
        limits.add_argument(flag, type=kind, default=default, help=f"{text} (default {default})")
    p.add_argument(
        "-v", "--verbose", action="count", default=0, help="log jobs (-vv: every request)"
    )
    p.set_defaults(run=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    return_freed_memory_promptly()  # the RSS then follows the server's memory limits
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    token = (
        args.token if args.token is not None else os.environ.get("SHOTPACK_SERVER_TOKEN") or None
    )
    try:
        server = LocalServer(
            args.host,
            args.port,
            qubits=args.qubits,
            token=token,
            readout_error=args.readout_error,
            random_readout_error=args.random_readout_error,
            noise_seed=args.noise_seed,
            gate_error=args.gate_error,
            cz_error=args.cz_error,
            seed=args.seed,
            faults=args.faults,
            job_delay=args.job_delay,
            quantum_computer=args.quantum_computer,
            max_body_bytes=args.max_body_bytes,
            max_shots=args.max_shots,
            max_qubits=args.max_qubits,
            max_total_shots=args.max_total_shots,
            max_connections=args.max_connections,
            max_inflight_body_bytes=args.max_inflight_body_bytes,
            backlog=args.backlog,
            response_timeout=args.response_timeout,
            max_path_chars=args.max_path_chars,
            max_state_bytes=args.max_state_bytes,
            idle_timeout=args.idle_timeout,
            request_timeout=args.request_timeout,
            max_json_depth=args.max_json_depth,
            max_request_log=args.max_request_log,
            max_job_result_bytes=args.max_job_result_bytes,
            max_stored_bytes=args.max_stored_bytes,
            max_retained_jobs=args.max_retained_jobs,
            job_retention=args.job_retention,
        )
        server.start()
    except (ValueError, OSError) as exc:
        print(f"shotpack serve: error: {exc}", file=sys.stderr)
        return 2
    auth = " (token required)" if token else ""
    print(
        f"shotpack server on {server.url}{auth}: quantum computer "
        f"{server.quantum_computer!r}, {args.qubits} qubits. Press Ctrl-C to stop.",
        flush=True,
    )

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM (e.g. from a process manager) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _add_demo(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the Estimator and Sampler example end to end on a local server",
        description="Start the local IQM server in-process, run the seed example (2 qubits, "
        "parameters a and b, 100 parameter sets, observables of shape (3, 1)) through the "
        "Estimator and a 100k-shot Sampler job, check the values against exact ones and print "
        "the time of each stage. Exits 1 if any check fails.",
    )
    p.add_argument(
        "--plot", default="demo.png", metavar="PATH", help="figure to write (needs matplotlib)"
    )
    p.add_argument("--no-plot", action="store_true", help="do not write the figure")
    p.add_argument("--seed", type=_int_in(0), default=1234, help="seed of the simulator")
    p.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    return demo_main(plot=None if args.no_plot else args.plot, seed=args.seed)


def _add_convert(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert",
        help="convert a saved measurements artifact to counts, bitstrings or .npz",
        description="Convert the body of GET jobs/{id}/artifacts/measurements (saved to a "
        "file) with the Rust parser: print counts or bitstrings as JSON (one object per "
        "circuit, one entry per key or register), or write an .npz that shotpack.load reads "
        "back into DataBins.",
    )
    p.add_argument("measurements", metavar="MEASUREMENTS.json", help="the saved artifact")
    p.add_argument(
        "--registers",
        action="store_true",
        help="group Qiskit-on-IQM keys (<creg>_<len>_<idx>_<bit>) into one entry per register",
    )
    p.add_argument("--to", choices=("counts", "bitstrings", "npz"), default="counts")
    p.add_argument(
        "-o",
        "--output",
        default=None,
        help="output path (npz default: the input with .npz; counts and bitstrings default: "
        "standard output)",
    )
    p.set_defaults(run=_run_convert)


def _convert_error(message: str, status: int) -> int:
    print(f"shotpack convert: error: {message}", file=sys.stderr)
    return status


def _run_convert(args: argparse.Namespace) -> int:
    """Exit status 0 on success, 1 if the file is not a valid measurements artifact, 2 if a
    file cannot be read or written."""
    try:
        with open(args.measurements, "rb") as f:
            body = f.read()
    except OSError as exc:
        return _convert_error(str(exc), 2)
    try:
        bins = parse_measurements(body, registers=args.registers)
    except ValueError as exc:
        return _convert_error(f"{args.measurements}: {exc}", 1)
    if args.to == "npz":
        out = args.output or os.path.splitext(args.measurements)[0] + ".npz"
        if not out.endswith(".npz"):
            out += ".npz"  # NumPy would add it anyway; say the real name
        try:
            save(out, bins)
        except OSError as exc:
            return _convert_error(f"cannot write {out}: {exc.strerror or exc}", 2)
        print(f"wrote {len(bins)} circuit(s) to {out}")
        return 0
    method = "get_counts" if args.to == "counts" else "get_bitstrings"
    doc = [{name: getattr(bits, method)() for name, bits in dbin.items()} for dbin in bins]
    if args.output is None:
        json.dump(doc, sys.stdout)
        sys.stdout.write("\n")
        return 0
    try:
        with open(args.output, "w", encoding="utf-8") as f:
            json.dump(doc, f)
            f.write("\n")
    except OSError as exc:
        return _convert_error(f"cannot write {args.output}: {exc.strerror or exc}", 2)
    print(f"wrote {args.to} of {len(bins)} circuit(s) to {args.output}")
    return 0


_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_serve,
    _add_demo,
    _add_convert,
]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="shotpack",
        description="Quantum-job results to analysis-ready data, fast.",
    )
    parser.add_argument("--version", action="version", version=f"shotpack {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``shotpack`` command.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    run: _Runner | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

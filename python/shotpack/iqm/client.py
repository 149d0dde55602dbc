"""IQMClient: submit circuits to an IQM server and fetch their results (IQM Server API v1).

Example:
    >>> from shotpack.iqm import IQMClient, Circuit, Instruction
    >>> client = IQMClient("http://127.0.0.1:8000/")  # doctest: +SKIP
    >>> bell = Circuit(name="bell", instructions=[
    ...     Instruction(name="prx", locus=("QB1",), args={"angle": 1.5708, "phase": 1.5708}),
    ...     Instruction(name="cz", locus=("QB1", "QB2")),
    ...     Instruction(name="measure", locus=("QB1", "QB2"), args={"key": "m"}),
    ... ])
    >>> job = client.submit_circuits([bell], shots=1000)  # doctest: +SKIP
    >>> job.wait_for_completion()  # doctest: +SKIP
    >>> client.get_job_data_bins(job.job_id)[0].m.get_counts()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import platform
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError as PydanticValidationError

from shotpack._version import __version__
from shotpack.iqm.auth import TokenManager
from shotpack.iqm.circuit_job import CircuitJob
from shotpack.iqm.errors import (
    CircuitValidationError,
    ClientConfigurationError,
    ConnectionFailedError,
    InternalSystemError,
    InvalidOperationError,
    NotFoundError,
    OperationTimeoutError,
    ShotpackError,
)
from shotpack.iqm.models import (
    CalibrationSet,
    ChannelPropertyDictionary,
    Circuit,
    CircuitCompilationOptions,
    CircuitMeasurementCounts,
    CircuitMeasurementResultsBatch,
    DynamicQuantumArchitecture,
    JobData,
    Metadata,
    ObservationFinder,
    ObservationSet,
    PostJobsRequest,
    QIRCode,
    QualityMetricSet,
    QuantumComputer,
    QuantumComputerList,
    RunResult,
    StaticQuantumArchitecture,
    Status,
)
from shotpack.iqm.protobuf import ProtobufDecodeError, decode_channel_properties
from shotpack.iqm.transport import (
    KEYED_SUBMIT_RETRY_STATUSES,
    RETRY_STATUSES,
    RetryPolicy,
    Transport,
    normalize_url,
)
from shotpack.iqm.validation import (
    validate_circuit,
    validate_circuit_instructions,
    validate_qubit_mapping,
)
from shotpack.measurements.parse import parse_measurements

if TYPE_CHECKING:
    import requests

    from shotpack.containers.data_bin import DataBin

logger = logging.getLogger("shotpack.iqm")

DEFAULT_TIMEOUT_SECONDS = 120.0
"""Default per-request read timeout; ``IQM_CLIENT_REQUESTS_TIMEOUT`` overrides it."""

DEFAULT_CALIBRATION_TTL_SECONDS = 60.0
"""How long the id of the server's default calibration set is trusted before it is asked again."""

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
"""Request header carrying a submission's key; a server that honours it echoes it back."""

IDEMPOTENCY_SUPPORT_HEADER = "Idempotency-Key-Support"
"""Response header by which a server advertises that it honours ``Idempotency-Key`` on job
submission (value ``true``); read from the quantum-computer listing fetched at construction."""

JobId = uuid.UUID | str


def _as_uuid(job_id: JobId) -> uuid.UUID:
    if isinstance(job_id, uuid.UUID):
        return job_id
    try:
        return uuid.UUID(str(job_id))
    except ValueError:
        raise ValueError(f"job id {job_id!r} is not a UUID") from None


def _parse(model: Any, response: requests.Response, what: str) -> Any:
    try:
        return model.model_validate_json(response.content)
    except PydanticValidationError as e:
        raise InternalSystemError(
            f"The server sent an invalid {what}: {e.error_count()} problem(s), first: "
            f"{e.errors()[0]['msg']} at {list(e.errors()[0]['loc'])}"
        ) from None


class IQMClient:
    """Client of one quantum computer on an IQM server.

    The constructor checks the configuration and asks the server which quantum computers it
    offers (``GET api/v1/quantum-computers``), so a wrong URL, name or token fails here.

    Args:
        iqm_server_url: server URL (``https://host[:port][/prefix]/``); falls back to
            ``IQM_SERVER_URL``.
        quantum_computer: alias of the quantum computer; falls back to
            ``IQM_QUANTUM_COMPUTER``; may be omitted when the server offers exactly one.
        token: long-lived token (or ``IQM_TOKEN``).
        tokens_file: path of a JSON tokens file (or ``IQM_TOKENS_FILE``), re-read before expiry.
        client_signature: extra text appended to the ``User-Agent`` header.
        timeout: per-request read timeout in seconds (default ``IQM_CLIENT_REQUESTS_TIMEOUT`` or
            120).
        retry: retry policy for idempotent requests.

    Raises:
        ValueError: no URL given.
        ClientConfigurationError: bad URL, unknown or ambiguous quantum computer, mixed or
            multiple auth sources, a token over plain http to a remote host.
        ClientAuthenticationError: the tokens file is unreadable or its token expired.
        ShotpackError: the server refused the first request (e.g. ``AuthenticationError``).
    """

    def __init__(
        self,
        iqm_server_url: str | None = None,
        *,
        quantum_computer: str | None = None,
        token: str | None = None,
        tokens_file: str | None = None,
        client_signature: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        url = iqm_server_url or os.environ.get("IQM_SERVER_URL")
        if not url:
            raise ValueError("IQM Server URL must be provided (argument or IQM_SERVER_URL).")
        qc = quantum_computer or os.environ.get("IQM_QUANTUM_COMPUTER") or None
        root = normalize_url(url)
        self._tokens = TokenManager(token, tokens_file)
        if timeout is None:
            env_timeout = os.environ.get("IQM_CLIENT_REQUESTS_TIMEOUT")
            try:
                timeout = float(env_timeout) if env_timeout else DEFAULT_TIMEOUT_SECONDS
            except ValueError:
                raise ClientConfigurationError(
                    f"IQM_CLIENT_REQUESTS_TIMEOUT must be a number of seconds, got {env_timeout!r}"
                ) from None
        signature = (
            f"{platform.platform(terse=True)}, python {platform.python_version()}, "
            f"IQMClient shotpack {__version__}"
        )
        if client_signature:
            signature += f", {client_signature}"
        self._transport = Transport(
            root, self._tokens, user_agent=signature, timeout=timeout, retry=retry
        )
        self._lock = threading.Lock()
        self._sqa: StaticQuantumArchitecture | None = None
        self._dqa_cache: dict[uuid.UUID, DynamicQuantumArchitecture] = {}
        self._feedback_groups: tuple[frozenset[str], ...] | None = None
        # (id of the server's default calibration set, time.monotonic() when it was learnt)
        self._default_cal: tuple[uuid.UUID, float] | None = None
        self.default_calibration_ttl = DEFAULT_CALIBRATION_TTL_SECONDS
        """Seconds the default calibration set's id is trusted by :meth:`submit_circuits`."""
        self._keys_honoured = False
        self._qc = self._resolve_quantum_computer(qc)

    # --- configuration -----------------------------------------------------------------------

    @classmethod
    def from_url(
        cls,
        iqm_server_url: str | None = None,
        *,
        quantum_computer: str | None = None,
        token: str | None = None,
        tokens_file: str | None = None,
        client_signature: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> IQMClient:
        """iqm-client 36's documented constructor; the same as ``IQMClient(...)``.

        Args:
            iqm_server_url: as for :class:`IQMClient`, and so are the other arguments.

        Returns:
            A connected client.

        Raises:
            The constructor's exceptions.

        Example:
            >>> client = IQMClient.from_url("http://127.0.0.1:8000/", token="t")  # doctest: +SKIP
        """
        return cls(
            iqm_server_url,
            quantum_computer=quantum_computer,
            token=token,
            tokens_file=tokens_file,
            client_signature=client_signature,
            timeout=timeout,
            retry=retry,
        )

    def _resolve_quantum_computer(self, wanted: str | None) -> QuantumComputer:
        # Every IQM server answers this first request with its JSON listing; a 404 or 405, or a
        # body that is not the listing, means the URL points at something else. The server's
        # page (often HTML) is left out of the error: it says nothing about the mistake.
        url = self._transport.url("quantum-computers")
        try:
            response = self._transport.request("GET", "quantum-computers")
        except (InvalidOperationError, NotFoundError) as e:
            raise type(e)(
                f"{self.root_url} does not look like an IQM server: GET {url} answered HTTP "
                f"{e.status_code}. Check the server URL (scheme, host, port and path prefix).",
                status_code=e.status_code,
            ) from None
        self._keys_honoured = (
            response.headers.get(IDEMPOTENCY_SUPPORT_HEADER, "").strip().lower() == "true"
        )
        try:
            listing = _parse(QuantumComputerList, response, "quantum computer list")
        except InternalSystemError:
            raise ClientConfigurationError(
                f"{self.root_url} does not look like an IQM server: GET {url} did not answer "
                "with the JSON list of quantum computers. Check the server URL (scheme, host, "
                "port and path prefix)."
            ) from None
        qcs = listing.quantum_computers
        names = ", ".join(q.alias for q in qcs) or "(none)"
        if wanted is None:
            if len(qcs) != 1:
                raise ClientConfigurationError(
                    f"Quantum computer not selected. Available quantum computers are: {names}"
                )
            return qcs[0]
        for q in qcs:
            if q.alias == wanted:
                return q
        raise ClientConfigurationError(
            f'Quantum computer "{wanted}" does not exist. Available quantum computers are: {names}'
        )

    @property
    def root_url(self) -> str:
        """The server root URL the client talks to."""
        return self._transport.root_url

    @property
    def quantum_computer(self) -> str:
        """Alias of the selected quantum computer (used in every QC-scoped path)."""
        return self._qc.alias

    @property
    def quantum_computer_name(self) -> str:
        """Human-readable name: the display name if the server gave one, else the alias."""
        return self._qc.display_name or self._qc.alias

    @property
    def idempotent_submission(self) -> bool:
        """Whether the server honours ``Idempotency-Key`` on submission, so a submit whose
        outcome is unknown (timeout, lost connection, 5xx) can be repeated without creating a
        second job. Learnt from the server's advertisement at construction and from the echo
        of the key on every successful submit."""
        return self._keys_honoured

    @property
    def user_agent(self) -> str:
        """The ``User-Agent`` header sent with every request."""
        return self._transport.user_agent

    def close(self) -> None:
        """Closes pooled connections (the client stays usable; connections reopen)."""
        self._transport.close()

    def __enter__(self) -> IQMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"IQMClient({self.root_url!r}, quantum_computer={self.quantum_computer!r}, "
            f"auth={self._tokens.source or 'none'})"
        )

    def _get(self, path: str, **kw: Any) -> requests.Response:
        return self._transport.request("GET", path, **kw)

    # --- server and quantum computer info ----------------------------------------------------

    def get_health(self) -> dict[str, Any]:
        """Status of the quantum computer (a free-form dict from the server)."""
        out: dict[str, Any] = self._get(f"quantum-computers/{self.quantum_computer}/health").json()
        return out

    def get_about(self) -> dict[str, Any]:
        """Information about the server, with the station's ``iqm-*`` software versions under
        ``about_station``."""
        about: dict[str, Any] = self._get("about").json()
        station = self._get(f"quantum-computers/{self.quantum_computer}/artifacts/about").json()
        about["about_station"] = {
            "version": station.get("version"),
            "software_versions": {
                k: v
                for k, v in (station.get("software_versions") or {}).items()
                if k.startswith("iqm-")
            },
        }
        return about

    def get_static_quantum_architecture(self) -> StaticQuantumArchitecture:
        """The chip's static architecture (qubits, resonators, connectivity); cached."""
        with self._lock:
            if self._sqa is not None:
                return self._sqa
        resp = self._get(
            f"quantum-computers/{self.quantum_computer}/artifacts/static-quantum-architectures"
        )
        data = resp.json()
        if isinstance(data, list):
            if not data:
                raise InternalSystemError("The server returned no static quantum architecture")
            data = data[0]
        sqa = StaticQuantumArchitecture.model_validate(data)
        with self._lock:
            self._sqa = sqa
        return sqa

    def get_dynamic_quantum_architecture(
        self, calibration_set_id: uuid.UUID | str | None = None
    ) -> DynamicQuantumArchitecture:
        """The gates and loci calibrated in a calibration set.

        Results are cached by calibration set id; ``None`` (the server's current default)
        always asks the server, since the default may change, and caches the answer under the
        id it returns (:meth:`submit_circuits` instead reuses the default's id for
        ``default_calibration_ttl`` seconds).

        Args:
            calibration_set_id: the set, or ``None`` for the current default.

        Returns:
            The dynamic quantum architecture.
        """
        cal_id = None if calibration_set_id is None else _as_uuid(calibration_set_id)
        if cal_id is not None:
            with self._lock:
                hit = self._dqa_cache.get(cal_id)
            if hit is not None:
                return hit
        ref = "default" if cal_id is None else str(cal_id)
        dqa: DynamicQuantumArchitecture = _parse(
            DynamicQuantumArchitecture,
            self._get(
                f"calibration-sets/{self.quantum_computer}/{ref}/dynamic-quantum-architecture"
            ),
            "dynamic quantum architecture",
        )
        with self._lock:
            self._dqa_cache[dqa.calibration_set_id] = dqa
            if cal_id is None:
                self._default_cal = (dqa.calibration_set_id, time.monotonic())
        return dqa

    def _submit_architecture(self, cal_id: uuid.UUID | None) -> DynamicQuantumArchitecture:
        """The architecture a submission is validated against, with as few requests as correct.

        An explicit calibration set never changes, so its architecture is cached by id for
        good. The default set can change on the server at any time; its id is reused for
        ``default_calibration_ttl`` seconds, and forgotten earlier when a job's status shows
        that the server compiled with a set the client has not seen (see ``_get_job_data``),
        which is what happens right after the default changes. The server validates every
        job again, so a stale default costs at most a job failed with the server's message.
        """
        if cal_id is not None:
            return self.get_dynamic_quantum_architecture(cal_id)
        with self._lock:
            known = self._default_cal
            hit = None
            if known is not None and time.monotonic() - known[1] < self.default_calibration_ttl:
                hit = self._dqa_cache.get(known[0])
        if hit is not None:
            return hit
        return self.get_dynamic_quantum_architecture(None)

    def _note_calibration(self, calibration_set_id: uuid.UUID | None) -> None:
        """Forget the default set's id when a job ran with a set the client has never seen."""
        if calibration_set_id is None:
            return
        with self._lock:
            if self._default_cal is not None and calibration_set_id not in self._dqa_cache:
                logger.debug(
                    "calibration set %s is new; the default may have changed", calibration_set_id
                )
                self._default_cal = None

    def _observation_set(
        self, calibration_set_id: uuid.UUID | str | None, suffix: str, what: str
    ) -> ObservationSet:
        """``GET calibration-sets/{qc}/{id or "default"}{suffix}`` parsed as an ObservationSet."""
        ref = "default" if calibration_set_id is None else str(_as_uuid(calibration_set_id))
        out: ObservationSet = _parse(
            ObservationSet,
            self._get(f"calibration-sets/{self.quantum_computer}/{ref}{suffix}"),
            what,
        )
        return out

    def get_calibration_set(
        self, calibration_set_id: uuid.UUID | str | None = None
    ) -> CalibrationSet:
        """A calibration set with its observations (``None``: the current default)."""
        return self._observation_set(calibration_set_id, "", "calibration set")

    def get_quality_metric_set(
        self, calibration_set_id: uuid.UUID | str | None = None
    ) -> QualityMetricSet:
        """The latest quality metrics of a calibration set (``None``: the current default)."""
        return self._observation_set(calibration_set_id, "/metrics", "quality metric set")

    def get_calibration_quality_metrics(
        self, calibration_set_id: uuid.UUID | str | None = None
    ) -> ObservationFinder:
        """A calibration set and its quality metrics in one searchable structure.

        Experimental, as in iqm-client: the shape of :class:`ObservationFinder` may change.
        """
        calset = self.get_calibration_set(calibration_set_id)
        metrics = self.get_quality_metric_set(calset.observation_set_id)
        return ObservationFinder([*calset.observations, *metrics.observations])

    def get_feedback_groups(self) -> tuple[frozenset[str], ...]:
        """Groups of qubits that can send real-time feedback to each other (for ``cc_prx``).

        Within a group any qubit can condition on any other's measurement; a qubit may be in
        several groups. Groups are sorted largest first. Cached.

        Returns:
            The groups, as frozensets of qubit names.
        """
        with self._lock:
            if self._feedback_groups is not None:
                return self._feedback_groups
        resp = self._get(
            f"quantum-computers/{self.quantum_computer}/artifacts/channel-properties",
            accept="application/protobuf, application/json;q=0.5",
        )
        ctype = resp.headers.get("Content-Type", "")
        try:
            if "json" in ctype:
                props = ChannelPropertyDictionary.model_validate_json(resp.content)
            else:
                props = decode_channel_properties(resp.content)
        except (ProtobufDecodeError, PydanticValidationError) as e:
            raise InternalSystemError(f"The server sent invalid channel properties: {e}") from None
        qubits = set(self.get_static_quantum_architecture().qubits)
        by_source: dict[str, set[str]] = {}
        for channel, entry in props.channel_property_mapping.items():
            qubit = channel.split("__")[0]
            if qubit not in qubits or entry.awg is None:
                continue
            for source in entry.awg.fast_feedback_sources:
                by_source.setdefault(source, set()).add(qubit)
        unique = {frozenset(g) for g in by_source.values()}
        groups = tuple(sorted(unique, key=lambda g: (-len(g), sorted(g))))
        with self._lock:
            self._feedback_groups = groups
        return groups

    # --- submitting ----------------------------------------------------------------------------

    def create_run_request(
        self,
        circuits: Sequence[Circuit | QIRCode],
        *,
        qubit_mapping: dict[str, str] | None = None,
        calibration_set_id: uuid.UUID | str | None = None,
        shots: int = 1,
        options: CircuitCompilationOptions | None = None,
    ) -> PostJobsRequest:
        """Validates circuits and builds the run request, without submitting it.

        Args:
            circuits: circuits (or QIR strings, passed through unchecked).
            qubit_mapping: logical -> physical qubit names, applied to every circuit; ``None``
                when the circuits already use physical names.
            calibration_set_id: calibration set to run with; ``None`` for the default.
            shots: repetitions per circuit, at least 1.
            options: compilation options.

        Returns:
            The request :meth:`submit_circuits` would send.

        Raises:
            ValueError: ``shots`` < 1 or an empty batch.
            CircuitValidationError: a circuit fails validation (iqm-client 36's client-side rules).
        """
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
            raise ValueError(
                f"Number of shots must be an integer greater than zero, got {shots!r}."
            )
        circuits = list(circuits)
        if not circuits:
            raise ValueError("The batch of circuits is empty.")
        options = options or CircuitCompilationOptions()
        for i, c in enumerate(circuits):
            if isinstance(c, str):
                continue
            if not isinstance(c, Circuit):
                raise CircuitValidationError(
                    f"circuit {i}: expected a Circuit or a QIR string, got {type(c).__name__}"
                )
            validate_circuit(c, index=i)
        cal_id = None if calibration_set_id is None else _as_uuid(calibration_set_id)
        dqa = self._submit_architecture(cal_id)
        validate_qubit_mapping(dqa, circuits, qubit_mapping)
        validate_circuit_instructions(
            dqa, circuits, qubit_mapping, move_validation=options.move_gate_validation
        )
        return PostJobsRequest(
            circuits=circuits,
            calibration_set_id=cal_id,
            qubit_mapping=qubit_mapping,
            shots=shots,
            **options.model_dump(),
        )

    def submit_run_request(
        self,
        run_request: PostJobsRequest,
        use_timeslot: bool = False,
        *,
        idempotency_key: str | None = None,
    ) -> CircuitJob:
        """Submits a run request (``POST jobs/{qc}/circuit``) with an idempotency key.

        Every submission carries an ``Idempotency-Key`` header (a fresh UUID4 unless
        ``idempotency_key`` is given), the same on each of its retries. Against a server that
        honours keys (:attr:`idempotent_submission`) a submit whose outcome is unknown (read
        timeout, dropped or truncated response, 429/500/502/503/504) is retried with backoff: the
        server answers a key it has seen with the job it already created, so no job is lost
        or duplicated. Against any other server the submit is repeated only when it certainly
        did not arrive (connection refused, 429/503); otherwise the error says that the job
        may exist and how to find it.

        Args:
            run_request: the request, e.g. from :meth:`create_run_request`.
            use_timeslot: submit to the timeslot queue.
            idempotency_key: reuse the key of an earlier attempt whose outcome is unknown (it
                is in that attempt's error message) to get its job instead of a new one.

        Returns:
            The created (or, for a key the server has seen, the existing) job.

        Raises:
            ConnectionFailedError, OperationTimeoutError, ShotpackError: the submit failed;
                when the job may exist, the message gives the key, the time, the circuit
                names and shots, and the exception has the attributes ``idempotency_key``,
                ``submitted_at`` and ``circuit_names``.

        Example:
            >>> request = client.create_run_request([circuit], shots=10)  # doctest: +SKIP
            >>> job = client.submit_run_request(request)  # doctest: +SKIP
        """
        body = run_request.model_dump_json().encode("utf-8")
        if os.environ.get("IQM_CLIENT_DEBUG") == "1":
            logger.info("submitting job definition: %s", body.decode("utf-8"))
        key = idempotency_key or str(uuid.uuid4())
        if not key.isascii() or not key.isprintable() or not 0 < len(key) <= 255:
            raise ValueError("idempotency_key must be 1-255 printable ASCII characters")
        submitted_at = datetime.now(timezone.utc)
        honoured = self._keys_honoured
        try:
            resp = self._transport.request(
                "POST",
                f"jobs/{self.quantum_computer}/circuit",
                params={"use_timeslot": bool(use_timeslot)},
                body=body,
                idempotent=honoured,
                headers={IDEMPOTENCY_KEY_HEADER: key},
                retry_statuses=KEYED_SUBMIT_RETRY_STATUSES if honoured else RETRY_STATUSES,
            )
        except ShotpackError as exc:
            raise self._uncertain_submit(exc, key, submitted_at, run_request, honoured) from None
        if resp.headers.get(IDEMPOTENCY_KEY_HEADER) != key:
            if self._keys_honoured:
                logger.warning(
                    "the server did not echo the Idempotency-Key of a submit; later submits "
                    "whose outcome is unknown will not be retried"
                )
            self._keys_honoured = False
        else:
            self._keys_honoured = True
        data: JobData = _parse(JobData, resp, "job")
        return CircuitJob(self, data, payload=run_request)

    def _uncertain_submit(
        self,
        exc: ShotpackError,
        key: str,
        submitted_at: datetime,
        run_request: PostJobsRequest,
        honoured: bool,
    ) -> ShotpackError:
        """``exc``, or for an outcome that may have created a job, the same class with a
        message that says so and what identifies the job."""
        status = exc.status_code or 0
        if isinstance(exc, ConnectionFailedError):
            # Without key support only a send that may have arrived ends the retries early.
            may_exist = honoured or "may have arrived" in exc.message
        elif isinstance(exc, OperationTimeoutError):
            may_exist = honoured or not exc.message.startswith("Could not connect")
        elif honoured:
            # An earlier attempt may have timed out after reaching the server.
            may_exist = status >= 500 or status == 429
        else:
            # 503 (and 429) say the server refused without acting on the request.
            may_exist = status >= 500 and status != 503
        if not may_exist:
            return exc
        names = [
            c.name if isinstance(c, Circuit) else f"<QIR {i}>"
            for i, c in enumerate(run_request.circuits)
        ]
        shown = ", ".join(repr(n) for n in names[:10]) + (
            f", ... ({len(names)} circuits)" if len(names) > 10 else ""
        )
        when = submitted_at.isoformat(timespec="seconds").replace("+00:00", "Z")
        if honoured:
            advice = (
                f"Submit the same request again with idempotency_key={key!r} to get that job "
                "(or create it) without a duplicate."
            )
        else:
            advice = (
                "The server did not say it honours Idempotency-Key, so the request was not "
                "repeated (that could run the circuits twice). List your jobs on the server "
                "(e.g. its job list or web UI) and look for one created at that time, or, if "
                f"the server keeps keys, submit again with idempotency_key={key!r}."
            )
        message = (
            f"{exc.message}. The job may have been created on the server: submitted at {when} "
            f"to {self.root_url} ({self.quantum_computer}) with Idempotency-Key {key}, "
            f"circuits [{shown}], shots={run_request.shots}. {advice}"
        )
        out = type(exc)(message, error_code=exc.error_code, status_code=exc.status_code)
        # Machine-readable copies of what the message says, for callers that recover.
        setattr(out, "idempotency_key", key)  # noqa: B010
        setattr(out, "submitted_at", submitted_at)  # noqa: B010
        setattr(out, "circuit_names", names)  # noqa: B010
        return out

    def submit_circuits(
        self,
        circuits: Sequence[Circuit | QIRCode],
        *,
        qubit_mapping: dict[str, str] | None = None,
        calibration_set_id: uuid.UUID | str | None = None,
        shots: int = 1,
        options: CircuitCompilationOptions | None = None,
        use_timeslot: bool = False,
        idempotency_key: str | None = None,
    ) -> CircuitJob:
        """Validates and submits a batch of circuits; see :meth:`create_run_request` and
        :meth:`submit_run_request` (idempotency key, retries).

        The default calibration's architecture is fetched at most once per
        ``default_calibration_ttl`` seconds (or when a job shows the default changed).

        Args:
            use_timeslot: submit to the timeslot queue instead of the on-demand queue.
            idempotency_key: the key of an earlier submission whose outcome is unknown;
                ``None`` generates a fresh one.

        Returns:
            The created job; its ``job_id`` queries status and results.
        """
        request = self.create_run_request(
            circuits,
            qubit_mapping=qubit_mapping,
            calibration_set_id=calibration_set_id,
            shots=shots,
            options=options,
        )
        return self.submit_run_request(
            request, use_timeslot=use_timeslot, idempotency_key=idempotency_key
        )

    # --- jobs ----------------------------------------------------------------------------------

    def _get_job_data(self, job_id: JobId, *, deadline: float | None = None) -> JobData:
        out: JobData = _parse(
            JobData, self._get(f"jobs/{_as_uuid(job_id)}", deadline=deadline), "job"
        )
        if out.compilation is not None:
            self._note_calibration(out.compilation.calibration_set_id)
        return out

    def get_job(self, job_id: JobId) -> CircuitJob:
        """The job's current state (``GET jobs/{id}``).

        Raises:
            NotFoundError: no such job.
        """
        return CircuitJob(self, self._get_job_data(job_id))

    def get_job_payload(self, job_id: JobId) -> PostJobsRequest:
        """The run request that created a job (``GET jobs/{id}/payload``)."""
        out: PostJobsRequest = _parse(
            PostJobsRequest, self._get(f"jobs/{_as_uuid(job_id)}/payload"), "job payload"
        )
        return out

    def cancel_job(self, job_id: JobId) -> None:
        """Cancels a job that has not finished.

        Raises:
            ConflictError: the job already finished.
            NotFoundError: no such job.
        """
        self._transport.request("POST", f"jobs/{_as_uuid(job_id)}/cancel", idempotent=True)

    def delete_job(self, job_id: JobId) -> None:
        """Cancels a job if needed and removes it and its results from the server."""
        self._transport.request("DELETE", f"jobs/{_as_uuid(job_id)}")

    def get_job_measurement_counts(
        self, job_id: JobId, *, qiskit_order: bool = False
    ) -> list[CircuitMeasurementCounts]:
        """Histograms per circuit (the ``measurement_counts`` artifact; small, no per-shot data).

        The server's bitstrings are in **locus order**, as iqm-client returns them: the keys'
        results concatenated in ``measurement_keys`` order, each key's bits in the order of its
        measure's locus, so the first character is the first qubit measured. Data bins, the
        Sampler and ``IQMBackend`` use **Qiskit order** (bit 0 is the rightmost character):
        for one key measured on ``("QB1", "QB2", "QB3")`` with only QB1 reading 1, the server
        counts ``'100'`` and Qiskit order gives ``'001'``.

        Args:
            job_id: the job.
            qiskit_order: reverse every bitstring, giving Qiskit's order (for several keys, the
                first key's bits end up rightmost, like :func:`~shotpack.DataBin`'s
                ``join_data`` with the keys in ``measurement_keys`` order).

        Returns:
            One :class:`CircuitMeasurementCounts` per circuit.

        Raises:
            NotFoundError: no such job, or the job has no results (not completed).

        Example:
            >>> counts = client.get_job_measurement_counts(jid, qiskit_order=True)  # doctest: +SKIP
            >>> counts[0].counts  # doctest: +SKIP
            {'001': 1000}
        """
        counts = self._get_job_measurement_counts(job_id)
        if not qiskit_order:
            return counts
        return [
            CircuitMeasurementCounts(
                measurement_keys=c.measurement_keys,
                counts={bits[::-1]: n for bits, n in c.counts.items()},
            )
            for c in counts
        ]

    def _get_job_measurement_counts(self, job_id: JobId) -> list[CircuitMeasurementCounts]:
        resp = self._get(f"jobs/{_as_uuid(job_id)}/artifacts/measurement_counts")
        try:
            data = json.loads(resp.content)
            if not isinstance(data, list):
                raise TypeError("not a list")
            return [CircuitMeasurementCounts.model_validate(c) for c in data]
        except (ValueError, TypeError, PydanticValidationError) as e:
            raise InternalSystemError(f"The server sent invalid measurement counts: {e}") from None

    def get_job_measurements_body(self, job_id: JobId) -> bytes:
        """The raw JSON body of the job's per-shot measurements artifact.

        For callers that store the artifact or parse it themselves (``shotpack convert`` reads
        such a file); :meth:`get_job_data_bins` is this plus the Rust parser.

        Args:
            job_id: the job.

        Returns:
            The response bytes, ``[circuit][key][shot][qubit]`` as JSON.

        Example:
            >>> body = client.get_job_measurements_body(job_id)  # doctest: +SKIP
            >>> shotpack.parse_measurements(body)  # doctest: +SKIP
        """
        return self._get(f"jobs/{_as_uuid(job_id)}/artifacts/measurements").content

    def get_job_measurements(self, job_id: JobId) -> CircuitMeasurementResultsBatch:
        """Per-shot results as nested lists, ``[circuit][key][shot][qubit]``.

        Prefer :meth:`get_job_data_bins` for anything large: it parses the body in Rust into
        packed arrays without building a Python object per shot.
        """
        body = self.get_job_measurements_body(job_id)
        try:
            data = json.loads(body)
        except ValueError as e:
            raise InternalSystemError(f"The server sent invalid measurements JSON: {e}") from None
        if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
            raise InternalSystemError(
                "The server sent measurements that are not a list of dicts (one per circuit)"
            )
        return data

    def get_job_data_bins(self, job_id: JobId, *, registers: bool = False) -> list[DataBin]:
        """Per-shot results as one :class:`~shotpack.containers.DataBin` per circuit.

        The response bytes are parsed in Rust straight into packed ``BitArray`` objects.

        Args:
            job_id: the job.
            registers: group Qiskit-style keys (``<creg>_<len>_<idx>_<bit>``) into one
                ``BitArray`` per classical register instead of one per key.

        Returns:
            One data bin per circuit, with a ``BitArray`` per key (or register).
        """
        return parse_measurements(self.get_job_measurements_body(job_id), registers=registers)

    def get_run_result(self, job_id: JobId) -> RunResult:
        """The job in the classic :class:`RunResult` shape (status, measurements when ready,
        message when failed, metadata, warnings).

        Status mapping from the server's: waiting before compilation -> 'pending compilation',
        waiting after it or processing -> 'pending execution', completed -> 'ready',
        failed -> 'failed', cancelled -> 'aborted'.
        """
        data = self._get_job_data(job_id)
        status = Status.from_job_data(data)
        try:
            request: PostJobsRequest | None = self.get_job_payload(job_id)
        except Exception:  # The payload is optional metadata; a server may not keep it.
            request = None
        timestamps = {e.status: e.timestamp.isoformat() for e in data.timeline}
        metadata = Metadata(
            calibration_set_id=(data.compilation.calibration_set_id if data.compilation else None)
            or (request.calibration_set_id if request else None),
            request=request,
            parameters=None
            if request is None
            else request.model_dump(mode="json", exclude={"circuits"}),
            timestamps=timestamps or None,
        )
        warnings_list = [m.message for m in data.messages] or None
        measurements = self.get_job_measurements(job_id) if status == Status.READY else None
        return RunResult(
            status=status,
            measurements=measurements,
            message=data.errors_text() if status in (Status.FAILED, Status.ABORTED) else None,
            metadata=metadata,
            warnings=warnings_list,
        )

"""Models: JSON shapes of the IQM Server API v1, cross-checked with iqm-client 36's own models."""

from __future__ import annotations

import json
import uuid

import pytest
from pydantic import ValidationError

from shotpack.iqm.models import (
    STANDARD_DD_STRATEGY,
    Circuit,
    CircuitCompilationOptions,
    DynamicQuantumArchitecture,
    GateInfo,
    Instruction,
    JobData,
    MoveGateValidationMode,
    ObservationSet,
    PostJobsRequest,
    RunResult,
    ServerJobStatus,
    Status,
)

BELL = Circuit(
    name="bell",
    instructions=[
        Instruction(name="prx", locus=("QB1",), args={"angle": 1.0, "phase": 0.0}),
        Instruction(name="cz", locus=("QB1", "QB2")),
        Instruction(name="measure", locus=("QB1", "QB2"), args={"key": "m"}),
    ],
)


def test_post_jobs_request_exact_body():
    req = PostJobsRequest(circuits=[BELL], qubit_mapping={"QB1": "QB1"}, shots=3)
    want = {
        "circuits": [
            {
                "name": "bell",
                "instructions": [
                    {
                        "name": "prx",
                        "locus": ["QB1"],
                        "args": {"angle": 1.0, "phase": 0.0},
                        "implementation": None,
                    },
                    {"name": "cz", "locus": ["QB1", "QB2"], "args": {}, "implementation": None},
                    {
                        "name": "measure",
                        "locus": ["QB1", "QB2"],
                        "args": {"key": "m"},
                        "implementation": None,
                    },
                ],
                "metadata": None,
            }
        ],
        "calibration_set_id": None,
        "qubit_mapping": [{"logical_name": "QB1", "physical_name": "QB1"}],
        "shots": 3,
        "max_circuit_duration_over_t2": None,
        "heralding_mode": "none",
        "move_gate_validation": "strict",
        "move_gate_frame_tracking": "full",
        "active_reset_cycles": None,
        "dd_mode": "disabled",
        "dd_strategy": None,
        "move_validation_mode": "strict",
        "move_gate_frame_tracking_mode": "full",
    }
    assert json.loads(req.model_dump_json()) == want
    assert PostJobsRequest.model_validate_json(req.model_dump_json()) == req


def test_iqm_client_reads_our_request_and_we_read_theirs():
    from iqm.station_control.interface.models.circuit import PostJobsRequest as Theirs

    ours = PostJobsRequest(
        circuits=[BELL],
        qubit_mapping={"a": "QB1"},
        shots=5,
        move_gate_validation=MoveGateValidationMode.ALLOW_PRX,
        dd_strategy=STANDARD_DD_STRATEGY,
    )
    theirs = Theirs.model_validate_json(ours.model_dump_json())
    assert theirs.shots == 5 and theirs.qubit_mapping == {"a": "QB1"}
    back = PostJobsRequest.model_validate_json(theirs.model_dump_json())
    assert back.circuits[0].instructions == BELL.instructions
    assert back.move_gate_validation == MoveGateValidationMode.ALLOW_PRX
    assert back.dd_strategy is not None
    assert back.dd_strategy.gate_sequences == STANDARD_DD_STRATEGY.gate_sequences


def test_instruction_alias_and_args():
    i = Instruction.model_validate({"name": "cz", "qubits": ["QB1", "QB2"]})
    assert i.locus == ("QB1", "QB2") == i.qubits
    assert "qubits" not in i.model_dump()
    marker = object()  # args keep arbitrary values until validation (e.g. parameters)
    assert Instruction(name="prx", locus=("QB1",), args={"angle": marker}).args["angle"] is marker


def test_request_validation():
    with pytest.raises(ValidationError):
        PostJobsRequest(circuits=[BELL], shots=0)
    legacy = PostJobsRequest.model_validate(
        {
            "circuits": [BELL.model_dump()],
            "move_validation_mode": "none",
            "move_gate_frame_tracking_mode": "none",
        }
    )
    assert legacy.move_gate_validation == MoveGateValidationMode.NONE
    with pytest.raises(ValueError, match="frame tracking"):
        CircuitCompilationOptions(move_gate_validation=MoveGateValidationMode.NONE)


def test_run_result():
    r = RunResult.from_dict({"status": "ready", "metadata": {}, "measurements": [{"m": [[1]]}]})
    assert r.status == Status.READY
    with pytest.raises(ValidationError, match="must carry measurements"):
        RunResult.from_dict({"status": "ready", "metadata": {}})
    with pytest.raises(ValidationError, match="cannot carry"):
        RunResult.from_dict({"status": "failed", "metadata": {}, "measurements": []})
    f = RunResult.from_dict({"status": "failed", "metadata": {}, "message": "boom"})
    assert f.message == "boom"
    for s in ("pending compilation", "pending execution", "aborted"):
        assert RunResult.from_dict({"status": s, "metadata": {}}).measurements is None
    with pytest.raises(ValidationError):
        RunResult.from_dict({"status": "deleted", "metadata": {}})


def test_status_mapping():
    jid = str(uuid.uuid4())

    def job(status, compiled=False):
        d = {"id": jid, "status": status}
        if compiled:
            d["compilation"] = {"calibration_set_id": jid}
        return JobData.model_validate(d)

    assert Status.from_job_data(job("waiting")) == Status.PENDING_COMPILATION
    assert Status.from_job_data(job("waiting", True)) == Status.PENDING_EXECUTION
    assert Status.from_job_data(job("processing")) == Status.PENDING_EXECUTION
    compiled = JobData.model_validate(
        {
            "id": jid,
            "status": "waiting",
            "timeline": [{"status": "compilation_ended", "timestamp": "2025-01-01T00:00:00Z"}],
        }
    )
    assert Status.from_job_data(compiled) == Status.PENDING_EXECUTION
    assert Status.from_job_data(job("completed")) == Status.READY
    assert Status.from_job_data(job("failed")) == Status.FAILED
    assert Status.from_job_data(job("cancelled")) == Status.ABORTED
    assert ServerJobStatus.COMPLETED.is_terminal and not ServerJobStatus.WAITING.is_terminal


def test_job_data_errors_and_legacy_detail():
    d = JobData.model_validate(
        {
            "id": str(uuid.uuid4()),
            "status": "failed",
            "unknown": 1,
            "errors": [{"detail": "bad", "error_code": "x"}, {"message": "worse"}],
        }
    )
    assert d.errors_text() == "iqm-server: x: bad\niqm-server: worse"


def test_dqa_shapes_and_iqm_client_roundtrip():
    from iqm.station_control.interface.models import DynamicQuantumArchitecture as Theirs

    raw = {
        "calibration_set_id": str(uuid.uuid4()),
        "qubits": ["QB10", "QB2", "QB1"],
        "computational_resonators": ["CR1"],
        "gates": {
            "cz": {
                "implementations": {
                    "tgss": {"loci": [["QB2", "QB1"]]},
                    "crf": {"loci": [["QB1", "QB10"]]},
                },
                "default_implementation": "tgss",
                "override_default_implementation": {"QB1,QB10": "crf"},
            }
        },
    }
    dqa = DynamicQuantumArchitecture.model_validate(raw)
    assert dqa.components == ("CR1", "QB1", "QB2", "QB10")
    gate: GateInfo = dqa.gates["cz"]
    assert gate.implementation_for(("QB1", "QB10")) == "crf"
    assert gate.implementation_for(("QB2", "QB1")) == "tgss"
    assert set(gate.loci) == {("QB2", "QB1"), ("QB1", "QB10")}
    theirs = Theirs.model_validate_json(dqa.model_dump_json())
    assert theirs.gates["cz"].override_default_implementation == {("QB1", "QB10"): "crf"}
    assert json.loads(dqa.model_dump_json())["gates"]["cz"]["override_default_implementation"] == {
        "QB1,QB10": "crf"
    }


def test_observation_set_lite_upgrade():
    s = ObservationSet.model_validate(
        {
            "observation_set_type": "calibration-set",
            "observation_set_id": str(uuid.uuid4()),
            "dut_label": "chip-1",
            "created_timestamp": "2025-01-01T00:00:00Z",
            "end_timestamp": None,
            "observations": [
                {
                    "dut_field": "QB1.t1",
                    "value": 1e-5,
                    "unit": "s",
                    "observation_id": 3,
                    "created_timestamp": "2025-01-01T00:00:00Z",
                    "modified_timestamp": "2025-01-01T00:00:00Z",
                }
            ],
        }
    )
    assert s.observations[0].dut_label == "chip-1"
    assert s.observation_ids == [3]

"""``kernels_on_calling_thread``: per-thread, restored on exit, and the same results."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from shotpack import BitArray, _native
from shotpack.expval.evaluate import evaluate_estimator
from shotpack.expval.plan import plan_measurements
from shotpack.stats import kernels_on_calling_thread


def _data() -> BitArray:
    # Above the kernels' parallel threshold (2**21 shot-term evaluations), so without the
    # scope the call would use the pool.
    rng = np.random.default_rng(5)
    return BitArray(rng.integers(0, 256, (1 << 17, 3), dtype=np.uint8), 20)


def test_same_results_on_the_calling_thread():
    ba = _data()
    obs = ["Z" * 20, "I" * 10 + "Z" * 10, "0" + "Z" * 19, "1ZIZIZIZIZ" + "I" * 10]
    plan = plan_measurements(obs)
    pooled = ba.expectation_values(obs), evaluate_estimator(plan, [ba])
    with kernels_on_calling_thread():
        serial = ba.expectation_values(obs), evaluate_estimator(plan, [ba])
    np.testing.assert_array_equal(serial[0], pooled[0])
    for name in ("evs", "stds", "ensemble_standard_error"):
        np.testing.assert_array_equal(getattr(serial[1], name), getattr(pooled[1], name))


def test_setting_is_per_thread_and_restored():
    seen: list[bool] = []

    def other_thread() -> None:
        previous = _native.set_kernels_on_calling_thread(False)
        seen.append(previous)

    with kernels_on_calling_thread():
        assert _native.set_kernels_on_calling_thread(True) is True
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert seen == [False]  # the other thread never had it set
    with pytest.raises(ValueError), kernels_on_calling_thread():
        raise ValueError("inside")
    assert _native.set_kernels_on_calling_thread(False) is False  # restored after the raise

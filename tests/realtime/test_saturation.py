"""The CPU gauge that tells a saturated process."""

from __future__ import annotations

import pytest

from app.realtime import saturation


def test_the_cpu_gauge_tells_a_saturated_process_over_its_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = {"wall": 100.0, "cpu": 10.0}
    monkeypatch.setattr(saturation.time, "monotonic", lambda: clock["wall"])
    monkeypatch.setattr(saturation.time, "process_time", lambda: clock["cpu"])
    gauge = saturation.CpuGauge(window=1.0)

    def spend(wall: float, cpu: float) -> bool:
        clock["wall"] += wall
        clock["cpu"] += cpu
        return gauge.busy()

    assert not spend(1.0, 0.6)  # 60 % of a core: an election day's traffic
    assert spend(1.0, 0.95)
    assert spend(0.5, 0.0)  # inside the window: the last measure holds
    assert not spend(0.5, 0.2)  # 20 % over the second since
    assert gauge.share == pytest.approx(0.2)

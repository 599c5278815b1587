"""The results as a table on stdout, with ratios to the peer."""

from __future__ import annotations

from typing import Any

from bench.realtime.scale import (
    CONNECT_GOAL_SECONDS,
    IDLE_CPU_GOAL,
    MEMORY_GOAL_KIB,
    P99_GOAL_MS,
    RECONNECT_GOAL_SECONDS,
)

# --- the table ------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


WIDTH = 26


def row(label: str, values: list[str], goal: str = "") -> None:
    print(f"{label:<40}" + "".join(f"{v:>{WIDTH}}" for v in values) + f"   {goal}")


def print_table(results: dict[str, Any]) -> None:
    """Each scenario a column, each measure a row with its goal."""
    scenarios = {k: v for k, v in results["scenarios"].items() if v}
    print()
    row("", [s["name"] for s in scenarios.values()], "goal")
    _resource_rows(scenarios)
    _message_rows(scenarios)
    _recovery_rows(scenarios)
    peer = scenarios.get("peer")
    app1 = scenarios.get("app1")
    if peer and app1:
        print()
        print("ours / peer (1 process):")
        for label, ours, theirs in _ratios(app1, peer):
            ratio = f"{ours / theirs:.1f}x" if ours and theirs else "-"
            print(f"  {label:<38} {ratio}")
    print(f"\ndeflate probe: {results.get('deflate_probe')}")


def _resource_rows(scenarios: dict[str, Any]) -> None:
    """Connecting, CPU and memory."""
    row(
        "sockets subscribed",
        [f"{s['connect']['subscribed']}/{s['connect']['sockets']}" for s in scenarios.values()],
        "all",
    )
    row(
        "time to connect all (s)",
        [f"{s['connect']['seconds']:.1f}" for s in scenarios.values()],
        f"< {CONNECT_GOAL_SECONDS:.0f}",
    )
    row(
        "idle CPU per process (%)",
        ["/".join(f"{c:.1f}" for c in s["idle_cpu_percent"]) for s in scenarios.values()],
        f"< {IDLE_CPU_GOAL:.0f}",
    )
    row(
        "CPU during traffic (% of a core)",
        ["/".join(f"{c:.0f}" for c in s["traffic_cpu_percent"]) for s in scenarios.values()],
    )
    row(
        "RSS per socket, connected (KiB)",
        [f"{s['kib_per_socket_connected']:.1f}" for s in scenarios.values()],
        f"< {MEMORY_GOAL_KIB:.0f}",
    )
    row(
        "RSS per socket after traffic (KiB)",
        [f"{s['kib_per_socket']:.1f}" for s in scenarios.values()],
        f"< {MEMORY_GOAL_KIB:.0f}",
    )


def _message_rows(scenarios: dict[str, Any]) -> None:
    """Latency per phase, and every message accounted for."""
    for phase in ("traffic", "stall", "kill"):
        for kind in ("dashboard", "station"):
            values = []
            for s in scenarios.values():
                figures = s["messages"]["latency"].get(phase, {}).get(kind)
                values.append(
                    f"{_ms(figures['p50_ms'])} / {_ms(figures['p99_ms'])} (n={figures['n']})"
                    if figures
                    else "-"
                )
            if any(v != "-" for v in values):
                row(f"{phase}: check-in -> {kind} p50/p99 ms", values, f"p99 < {P99_GOAL_MS:.0f}")
    row(
        "messages lost / expected",
        [
            f"{s['messages']['lost_messages']}/{s['messages']['expected_messages']}"
            for s in scenarios.values()
        ],
        "0",
    )
    row(
        "  lost on sockets never closed / reconnected",
        [
            "{never closed} / {reconnected}".format(**s["messages"]["lost_by_socket"])
            for s in scenarios.values()
        ],
    )
    row(
        "messages duplicated",
        [str(s["messages"]["duplicated_messages"]) for s in scenarios.values()],
    )
    row(
        "sockets resynced by snapshot",
        [str(s["messages"]["sockets_resynced_by_snapshot"]) for s in scenarios.values()],
    )
    row("socket closes seen by clients", [str(s["closes"]) for s in scenarios.values()])


def _recovery_rows(scenarios: dict[str, Any]) -> None:
    """The stall, the kill, and the check-ins' own answers."""
    row(
        "stall: RSS growth (KiB)",
        [str(s["stall"]["rss_growth_kib"]) if s.get("stall") else "-" for s in scenarios.values()],
        "bounded",
    )
    row(
        "kill: sockets / all back after (s)",
        [
            f"{s['kill']['sockets_on_killed_process']} / {s['kill']['all_back_seconds']}"
            if s.get("kill")
            else "-"
            for s in scenarios.values()
        ],
        f"< {RECONNECT_GOAL_SECONDS:.0f}",
    )
    row(
        "kill: back p50/p90/p99 (s), survivor CPU",
        [
            "{p50}/{p90}/{p99}, ".format(**s["kill"]["back_after_seconds"])
            + f"{s['kill']['survivor_cpu_percent']:.0f} %"
            if s.get("kill") and s["kill"].get("back_after_seconds")
            else "-"
            for s in scenarios.values()
        ],
        "",
    )
    row(
        "wait for backlog after traffic (s)",
        [str(s.get("drain_after_traffic_seconds")) for s in scenarios.values()],
    )
    row(
        "check-ins posted / errors",
        [f"{s['post']['posted']} / {s['post']['errors']}" for s in scenarios.values()],
    )
    row(
        "check-in HTTP p50/p99 (ms)",
        [
            f"{_ms(s['post']['http_p50_ms'])} / {_ms(s['post']['http_p99_ms'])}"
            for s in scenarios.values()
        ],
    )
    row(
        "load average at traffic",
        [" ".join(map(str, s["load_average"].get("traffic", []))) for s in scenarios.values()],
    )


def _ratios(app: dict[str, Any], peer: dict[str, Any]) -> list[tuple[str, float, float]]:
    def p99(s: dict[str, Any], kind: str) -> float:
        figures = s["messages"]["latency"].get("traffic", {}).get(kind) or {}
        return float(figures.get("p99_ms") or 0)

    return [
        ("time to connect all", app["connect"]["seconds"], peer["connect"]["seconds"]),
        ("idle CPU", app["idle_cpu_percent"][0], peer["idle_cpu_percent"][0]),
        ("CPU during traffic", app["traffic_cpu_percent"][0], peer["traffic_cpu_percent"][0]),
        ("RSS per socket", app["kib_per_socket"], peer["kib_per_socket"]),
        ("dashboard p99", p99(app, "dashboard"), p99(peer, "dashboard")),
        ("station p99", p99(app, "station"), p99(peer, "station")),
    ]

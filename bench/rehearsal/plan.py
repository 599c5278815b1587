"""The rehearsal's scale and its day: who arrives when, who blinks, what chairs and
coordinators do, and when Redis restarts and a worker dies, as fractions of the run."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

#: The Stockholm-scale demo at scale 1.
STATIONS = 660
COORDINATORS = 50
#: When the polls open, as a share of the run: most arrive in the "hour" before.
OPENING = 0.5
#: Midway: Redis restarts, then one of the two app processes is killed.
REDIS_RESTART_AT = 0.42
WORKER_KILL_AT = 0.58


@dataclass
class Options:
    minutes: float = 10.0
    scale: float = 1.0
    flaky_share: float = 0.10
    no_show_share: float = 0.02
    incident_share: float = 0.10
    seed: int = 24


def add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("rehearsal")
    group.add_argument("--minutes", type=float, default=Options.minutes)
    group.add_argument(
        "--scale",
        type=float,
        default=Options.scale,
        help="share of the 660 stations (and their phones, and the 50 coordinators)",
    )
    group.add_argument("--seed", type=int, default=Options.seed)


def options_from(arguments: Any) -> Options:
    return Options(minutes=arguments.minutes, scale=arguments.scale, seed=arguments.seed)


@dataclass(frozen=True)
class Place:
    """One person's place on one of today's shifts."""

    assignment_id: int
    person_id: int
    user_id: int
    shift_id: int
    station_id: int
    leads: bool


@dataclass
class Station:
    id: int
    places: list[Place]

    @property
    def chair(self) -> Place | None:
        return next((p for p in self.places if p.leads), None)


@dataclass
class Action:
    """Something that happens at ``at`` (share of the run)."""

    at: float
    kind: str  # arrive, leave, open, incident, reassign, drop
    station_id: int = 0
    place: Place | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def arrival(rng: random.Random) -> float:
    """When a clerk arrives: a tenth early, most in the hour before opening (more the
    nearer it comes), a few after."""
    draw = rng.random()
    if draw < 0.10:
        return rng.uniform(0.03, 0.15)
    if draw < 0.95:
        return rng.triangular(0.15, OPENING - 0.01, OPENING - 0.08)
    return rng.uniform(OPENING, 0.75)


def plan_day(stations: list[Station], options: Options) -> list[Action]:
    """Every action of the day, in order of time."""
    rng = random.Random(options.seed)
    actions: list[Action] = []
    for station in stations:
        chair = station.chair
        for place in station.places:
            if place is not chair and rng.random() < options.no_show_share:
                actions.append(Action(0.62, "reassign", station.id, place))
                continue
            came = rng.uniform(0.05, 0.35) if place is chair else arrival(rng)
            actions.append(Action(came, "arrive", station.id, place))
            if rng.random() < 0.2:
                actions.append(Action(rng.uniform(0.85, 0.95), "leave", station.id, place))
        if chair is not None:
            actions.append(Action(rng.uniform(OPENING - 0.02, OPENING + 0.05), "open", station.id))
            if rng.random() < options.incident_share:
                severity = rng.choice(("low", "medium", "high"))
                actions.append(
                    Action(
                        rng.uniform(0.55, 0.8),
                        "incident",
                        station.id,
                        chair,
                        {"severity": severity},
                    )
                )
    phones = sorted({p.person_id for s in stations for p in s.places})
    flaky = rng.sample(phones, round(len(phones) * options.flaky_share))
    for person_id in flaky:
        for _blink in range(rng.randint(1, 4)):
            actions.append(Action(rng.uniform(0.05, 0.95), "drop", detail={"key": f"c{person_id}"}))
    return sorted(actions, key=lambda action: action.at)

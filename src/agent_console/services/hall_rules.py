"""The hall's calling rules, pure: which waiting number a counter calls next, and why.

No store, no clock: the caller gives the waiting numbers, the counter's profile and how many
normal numbers the counter called since its last priority one. The rules:

1. A number transferred to this counter's services, or called back, keeps its place at the
   front: the oldest such number goes first.
2. Within a lane, first come first called (the line key is the time the number was issued):
   nobody is ever passed by someone in their own lane who came later.
3. A priority lane (VIP, green channel) goes before the normal lane only when the counter has
   called `normal_per_priority` normal numbers since its last priority one, or no normal number
   is waiting (the cap), and no normal number has waited `normal_wait_limit` minutes.
4. Among priority lanes: weight × minutes waited, then the older number.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

NORMAL = "normal"
CLOSING = ("carry", "close")


class HallConfigError(ValueError):
    """hall.toml is not valid."""


class Named:
    """A hall thing with an English and a Chinese name (services, lanes, counters)."""

    name_en: str
    name_zh: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


@dataclass(frozen=True)
class Service(Named):
    code: str
    prefix: str
    name_en: str
    name_zh: str
    expected_minutes: float


@dataclass(frozen=True)
class Lane(Named):
    code: str
    priority: bool
    weight: float
    name_en: str
    name_zh: str


@dataclass(frozen=True)
class Profile:
    code: str
    services: tuple[str, ...]
    normal_per_priority: int
    normal_wait_limit: float  # minutes


@dataclass(frozen=True)
class Counter(Named):
    code: str
    name_en: str
    name_zh: str
    profile: str


@dataclass(frozen=True)
class HallConfig:
    services: dict[str, Service]
    lanes: dict[str, Lane]
    profiles: dict[str, Profile]
    counters: dict[str, Counter]
    settings: dict[str, Any] = field(default_factory=dict)

    def setting(self, name: str) -> Any:
        return self.settings.get(name, DEFAULTS[name])

    def profile_of(self, counter: str) -> Profile:
        return self.profiles[self.counters[counter].profile]

    def counters_for(self, service: str) -> list[str]:
        return [c for c in self.counters if service in self.profile_of(c).services]

    def lane(self, code: str) -> Lane:
        return self.lanes.get(code) or Lane(NORMAL, False, 0, "Normal", "普通")


DEFAULTS: dict[str, Any] = {
    "allow_vip": True, "allow_green": True, "no_show_after_seconds": 180,
    "estimate_window_minutes": 60, "estimate_min_samples": 3, "target_minutes": 10,
    "closing": "carry", "recent_calls": 6, "utc_offset_minutes": 480,
}


def shipped_text() -> str:
    return resources.files("agent_console.content").joinpath("hall.toml").read_text("utf-8")


def config_from_text(text: str, source: str = "hall.toml") -> HallConfig:
    """Parse and check hall.toml; every problem names its place."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise HallConfigError(f"{source}: {exc}") from None
    try:
        settings = {**DEFAULTS, **data.get("settings", {})}
        if settings["closing"] not in CLOSING:
            raise HallConfigError(f"{source}: settings.closing must be one of {CLOSING}")
        services = {code: Service(code, str(s["prefix"]), str(s["name_en"]), str(s["name_zh"]),
                                  float(s["expected_minutes"]))
                    for code, s in data["services"].items()}
        prefixes = [s.prefix for s in services.values()]
        if len(set(prefixes)) != len(prefixes):
            raise HallConfigError(f"{source}: two services share a number prefix")
        lanes = {code: Lane(code, bool(v.get("priority", True)), float(v.get("weight", 1)),
                            str(v["name_en"]), str(v["name_zh"]))
                 for code, v in data.get("lanes", {}).items()}
        if NORMAL in lanes:
            raise HallConfigError(f"{source}: lanes.normal is implicit")
        profiles = {}
        for code, p in data["profiles"].items():
            unknown = [s for s in p["services"] if s not in services]
            if unknown:
                raise HallConfigError(f"{source}: profiles.{code}: unknown services {unknown}")
            ratio = int(p.get("normal_per_priority", 2))
            if ratio < 0:
                raise HallConfigError(f"{source}: profiles.{code}.normal_per_priority < 0")
            profiles[code] = Profile(code, tuple(p["services"]), ratio,
                                     float(p.get("normal_wait_limit", 20)))
        counters = {}
        for code, c in data["counters"].items():
            if c["profile"] not in profiles:
                raise HallConfigError(
                    f"{source}: counters.{code}: unknown profile {c['profile']!r}")
            counters[str(code)] = Counter(str(code), str(c["name_en"]), str(c["name_zh"]),
                                          str(c["profile"]))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, HallConfigError):
            raise
        raise HallConfigError(f"{source}: missing or wrong value: {exc}") from None
    return HallConfig(services, lanes, profiles, counters, settings)


@dataclass(frozen=True)
class Waiting:
    """A number waiting, as the rules see it: no name, no phone."""

    id: int
    service: str
    lane: str  # "normal" or a priority lane
    line_at: datetime  # its place: when it was issued
    front: bool = False  # transferred here or called back: first in line


@dataclass(frozen=True)
class Choice:
    id: int
    reason: str  # front | fifo | priority_cap | priority_only | normal_waited | priority_waited
    priority: bool


def choose(waiting: Sequence[Waiting], profile: Profile, lanes: dict[str, Lane], *,
           normals_since_priority: int, now: datetime) -> Choice | None:
    """The number this counter calls next, or None when nothing it serves is waiting."""
    mine = [w for w in waiting if w.service in profile.services]
    if not mine:
        return None
    front = [w for w in mine if w.front]
    if front:
        pick = min(front, key=lambda w: (w.line_at, w.id))
        return Choice(pick.id, "front", _is_priority(pick, lanes))
    normal = [w for w in mine if not _is_priority(w, lanes)]
    priority = [w for w in mine if _is_priority(w, lanes)]
    first_normal = min(normal, key=lambda w: (w.line_at, w.id)) if normal else None
    if not priority:
        assert first_normal is not None
        return Choice(first_normal.id, "fifo", False)

    def minutes(w: Waiting) -> float:
        return max(0.0, (now - w.line_at).total_seconds() / 60)

    best = max(priority, key=lambda w: (lanes[w.lane].weight * (minutes(w) + 1),
                                        -w.line_at.timestamp(), -w.id))
    if first_normal is None:
        return Choice(best.id, "priority_only", True)
    if minutes(first_normal) >= profile.normal_wait_limit:
        oldest_priority = min(priority, key=lambda w: (w.line_at, w.id))
        if minutes(oldest_priority) >= profile.normal_wait_limit and \
                oldest_priority.line_at < first_normal.line_at:
            return Choice(oldest_priority.id, "priority_waited", True)
        return Choice(first_normal.id, "normal_waited", False)
    if normals_since_priority >= profile.normal_per_priority:
        return Choice(best.id, "priority_cap", True)
    return Choice(first_normal.id, "fifo", False)


def _is_priority(w: Waiting, lanes: dict[str, Lane]) -> bool:
    lane = lanes.get(w.lane)
    return lane is not None and lane.priority


def cap_kept(calls: Sequence[tuple[bool, bool, str]], ratio: int) -> bool:
    """calls: (priority, a normal number was waiting, reason) in calling order at one counter.

    The cap holds when every priority call made while a normal number waited came after at
    least `ratio` normal calls since the previous priority call (calls for having waited the
    limit, or first-in-line transfers, are outside the cap and say so)."""
    since = ratio
    for priority, normal_waiting, reason in calls:
        if priority:
            if normal_waiting and reason not in ("front", "priority_waited") and since < ratio:
                return False
            since = 0
        else:
            since += 1
    return True


@dataclass(frozen=True)
class OpenCounter:
    code: str
    profile: Profile
    free_in: float  # minutes until it can call again
    normals_since_priority: int


def forecast(waiting: Sequence[Waiting], target: int, counters: Sequence[OpenCounter],
             minutes: dict[str, float], lanes: dict[str, Lane], *, now: datetime,
             reserved: dict[int, str] | None = None) -> float | None:
    """Minutes until `target` is called, by playing the calling rules forward with each
    service's mean service time; None when no open counter serves it."""
    reserved = reserved or {}
    line = list(waiting)
    free = {c.code: c.free_in for c in counters}
    since = {c.code: c.normals_since_priority for c in counters}
    profiles = {c.code: c.profile for c in counters}
    target_service = next((w.service for w in line if w.id == target), None)
    if target_service is None or not any(target_service in p.services for p in profiles.values()):
        return None
    idle: set[str] = set()
    for _ in range(len(line) * max(1, len(counters)) + 1):
        ready = [c for c in free if c not in idle]
        if not ready:
            return None
        code = min(ready, key=lambda c: (free[c], c))
        at = now + timedelta(minutes=free[code])
        choice = choose([w for w in line if reserved.get(w.id) in (None, code)], profiles[code],
                        lanes, normals_since_priority=since[code], now=at)
        if choice is None:
            idle.add(code)
            continue
        if choice.id == target:
            return free[code]
        picked = next(w for w in line if w.id == choice.id)
        line.remove(picked)
        since[code] = 0 if choice.priority else since[code] + 1
        free[code] += minutes.get(picked.service, 5.0) + 0.5
        idle.clear()
    return None

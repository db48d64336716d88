"""The hall's calling rules over random days (plain seeded random): nobody moves backwards, the
priority cap holds, every number is called; and hall.toml is checked."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from agent_console.services import hall_rules
from agent_console.services.hall_rules import HallConfigError, Waiting, choose, config_from_text

START = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)
CFG = config_from_text(hall_rules.shipped_text())


def _day(seed: int):
    """Random arrivals, lanes, transfers and counters; the rules choose; returns the log."""
    rng = random.Random(seed)
    counters = list(CFG.counters)
    services = list(CFG.services)
    lanes = ["normal"] * 8 + [c for c in CFG.lanes]
    waiting: list[Waiting] = []
    since = {c: 99 for c in counters}  # a counter just opened
    calls: dict[str, list[tuple[bool, bool, str]]] = {c: [] for c in counters}
    backward = 0
    called: set[int] = set()
    issued = 0
    now = START
    next_id = 1
    for step in range(400):
        now += timedelta(seconds=rng.randint(10, 200))
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            if step < 300:
                waiting.append(Waiting(next_id, rng.choice(services), rng.choice(lanes), now,
                                       front=rng.random() < 0.03))
                next_id += 1
                issued += 1
        counter = rng.choice(counters)
        profile = CFG.profile_of(counter)
        choice = choose(waiting, profile, CFG.lanes, normals_since_priority=since[counter],
                        now=now)
        if choice is None:
            continue
        mine = [w for w in waiting if w.service in profile.services]
        pick = next(w for w in mine if w.id == choice.id)
        if not pick.front and any(w.front for w in mine):
            backward += 1
        backward += any(w.lane == pick.lane and w.front == pick.front and
                        (w.line_at, w.id) < (pick.line_at, pick.id) for w in mine)
        normal_waiting = any(not CFG.lane(w.lane).priority for w in mine if w.id != pick.id)
        calls[counter].append((choice.priority, normal_waiting, choice.reason))
        since[counter] = 0 if choice.priority else since[counter] + 1
        waiting.remove(pick)
        called.add(pick.id)
    # the day ends: counters keep calling until nobody waits
    while waiting:
        now += timedelta(minutes=3)
        for counter in counters:
            profile = CFG.profile_of(counter)
            choice = choose(waiting, profile, CFG.lanes, normals_since_priority=since[counter],
                            now=now)
            if choice is not None:
                pick = next(w for w in waiting if w.id == choice.id)
                waiting.remove(pick)
                called.add(pick.id)
                since[counter] = 0 if choice.priority else since[counter] + 1
    return issued, called, calls, backward


@pytest.mark.parametrize("seed", range(40))
def test_random_days_keep_the_rules(seed):
    issued, called, calls, backward = _day(seed)
    assert backward == 0
    assert len(called) == issued, "every number is called"
    for counter, log in calls.items():
        ratio = CFG.profile_of(counter).normal_per_priority
        assert hall_rules.cap_kept(log, ratio), (counter, log)


def test_priority_waits_for_the_cap_and_a_long_wait_beats_it():
    profile = CFG.profile_of("1")
    line = [Waiting(1, "business", "normal", START), Waiting(2, "business", "normal", START +
            timedelta(minutes=1)), Waiting(3, "fault", "green", START + timedelta(minutes=2))]
    now = START + timedelta(minutes=5)
    assert choose(line, profile, CFG.lanes, normals_since_priority=0, now=now).id == 1
    assert choose(line, profile, CFG.lanes, normals_since_priority=2, now=now) == \
        hall_rules.Choice(3, "priority_cap", True)
    late = START + timedelta(minutes=profile.normal_wait_limit + 1)
    assert choose(line, profile, CFG.lanes, normals_since_priority=2, now=late).reason == \
        "normal_waited"
    only = [Waiting(3, "fault", "vip", START)]
    assert choose(only, profile, CFG.lanes, normals_since_priority=0, now=now).reason == \
        "priority_only"


def test_a_transfer_is_first_in_line_and_green_outweighs_vip():
    profile = CFG.profile_of("1")
    now = START + timedelta(minutes=10)
    line = [Waiting(1, "business", "normal", START),
            Waiting(2, "fault", "normal", START + timedelta(minutes=5), front=True)]
    assert choose(line, profile, CFG.lanes, normals_since_priority=0, now=now).reason == "front"
    pair = [Waiting(1, "business", "vip", START + timedelta(minutes=1)),
            Waiting(2, "business", "green", START + timedelta(minutes=2))]
    assert choose(pair, profile, CFG.lanes, normals_since_priority=5, now=now).id == 2
    assert choose([], profile, CFG.lanes, normals_since_priority=0, now=now) is None


def test_cap_kept_says_when_it_is_broken():
    assert hall_rules.cap_kept([(False, True, "fifo"), (False, True, "fifo"),
                                (True, True, "priority_cap")], 2)
    assert not hall_rules.cap_kept([(True, True, "priority_cap"), (False, True, "fifo"),
                                    (True, True, "priority_cap")], 2)


@pytest.mark.parametrize("change, problem", [
    ('closing = "carry"', 'closing = "never"'),
    ('profile = "quick"', 'profile = "nowhere"'),
    ('prefix = "B"', 'prefix = "A"'),
    ('services = ["payment", "consult"]', 'services = ["payment", "gold"]'),
])
def test_a_wrong_hall_file_is_refused(change, problem):
    text = hall_rules.shipped_text()
    assert change in text
    with pytest.raises(HallConfigError):
        config_from_text(text.replace(change, problem, 1))

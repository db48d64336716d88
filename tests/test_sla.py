"""The SLA engine, to the minute: policy rows, warning lead, priority lanes, pauses, business hours."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from agent_console.models.vocab import ClockKind, Grade, SlaState
from agent_console.services.sla import (
    Calendar,
    PolicyError,
    clock_view,
    compute_dues,
    load_policy,
    parse_zone,
    policy_from_dict,
    running_state,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)
CN = parse_zone("+08:00")


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.mark.parametrize(("grade", "response", "resolution"), [
    ("urgent", 2 * H, 48 * H), ("important", 4 * H, 24 * H), ("general", 24 * H, 72 * H)])
def test_grade_rows(policy, grade, response, resolution):
    targets = policy.targets(grade=grade, category="billing", work_type="fault")
    assert (targets.response, targets.resolution) == (response, resolution)


def test_category_and_work_type_overrides_take_the_stricter_target(policy):
    assert policy.targets(grade="general", category="plan_dispute", work_type="complaint").response == H
    assert policy.targets(grade="general", category="mobile_network", work_type="fault").resolution == 24 * H
    assert policy.targets(grade="general", category="billing", work_type="consultation").resolution == 24 * H
    # An override never loosens a grade: urgent stays 2 h / 48 h -> network caps resolution at 24 h.
    urgent = policy.targets(grade="urgent", category="broadband", work_type="fault")
    assert (urgent.response, urgent.resolution) == (2 * H, 24 * H)


def test_warning_lead_is_two_hours_or_a_share_of_short_targets(policy):
    assert policy.lead_for(24 * H) == 2 * H
    assert policy.lead_for(8 * H) == 2 * H
    assert policy.lead_for(4 * H) == H
    assert policy.lead_for(H) == 15 * M


def test_vip_is_raised_one_grade_and_green_channel_halves_targets(policy):
    vip = policy.targets(grade="general", category="billing", work_type="fault", vip=True)
    assert (vip.grade, vip.raised_by, vip.response) == (Grade.IMPORTANT, "vip", 4 * H)
    top = policy.targets(grade="urgent", category="billing", work_type="fault", vip=True)
    assert (top.grade, top.raised_by) == (Grade.URGENT, "")
    green = policy.targets(grade="important", category="billing", work_type="fault", green_channel=True)
    assert (green.response, green.resolution) == (2 * H, 12 * H)
    assert green.response_lead == 30 * M


def test_a_site_policy_is_laid_over_the_shipped_policy():
    from agent_console.services.sla import policy_from_text

    policy = policy_from_text("[grades.urgent]\nresponse_minutes = 30\n[warning]\nlead_minutes = 60\n",
                              "site")
    targets = policy.targets(grade="urgent", category="billing", work_type="fault")
    assert targets.response == 30 * M and targets.resolution == 48 * H
    assert policy.lead_for(48 * H) == H


@pytest.mark.parametrize("bad", [
    {"grades": {"urgent": {"response_minutes": -5, "resolution_minutes": 10}}},
    {"grades": {"urgent": {"response_minutes": 5}}},
    {"calendars": {"hall": {"open": "21:00", "close": "09:00"}}},
    {"calendars": {"hall": {"open": "nine", "close": "21:00"}}},
])
def test_bad_policy_is_refused_with_the_place_named(bad):
    base = {"grades": {g: {"response_minutes": 60, "resolution_minutes": 120}
                       for g in ("urgent", "important", "general")}}
    data = {**base, **bad} if "grades" not in bad else {**base, "grades": {**base["grades"], **bad["grades"]}}
    with pytest.raises(PolicyError, match="policy"):
        policy_from_dict(data)


def test_business_hours_add_and_between():
    hall = Calendar(datetime.strptime("09:00", "%H:%M").time(),
                    datetime.strptime("21:00", "%H:%M").time(), CN)
    evening = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)  # 20:00 Beijing
    due = hall.add(evening, 3 * 3600)  # 1 h tonight, 2 h tomorrow from 09:00
    assert due == datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)  # 11:00 Beijing
    assert hall.between(evening, due) == 3 * 3600
    night = datetime(2026, 11, 24, 16, 0, tzinfo=timezone.utc)  # 00:00 Beijing
    assert hall.add(night, 60) == datetime(2026, 11, 25, 1, 1, tzinfo=timezone.utc)
    assert hall.between(night, night + 8 * H) == 0  # closed all night
    assert hall.add(evening, 0) == evening
    always = Calendar()
    assert always.add(evening, 60) == evening + M


def test_clock_states_to_the_minute(policy):
    created = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
    targets = policy.targets(grade="important", category="billing", work_type="fault")
    dues = compute_dues(created_at=created, targets=targets, calendar=Calendar(), paused_seconds=0)
    assert dues.response_due == created + 4 * H
    assert dues.response_warn_at == created + 3 * H

    def state(at: datetime) -> SlaState:
        return clock_view(kind=ClockKind.RESPONSE, now=at, created_at=created, target=4 * H,
                          due=dues.response_due, warn_at=dues.response_warn_at,
                          calendar=Calendar(), paused_seconds=0, paused_since=None,
                          met_at=None).state

    assert state(created + 3 * H - M) is SlaState.ON_TRACK
    assert state(created + 3 * H) is SlaState.WARNING
    assert state(created + 4 * H - M) is SlaState.WARNING
    assert state(created + 4 * H) is SlaState.BREACHED


def test_pause_stops_the_clock_and_resume_pushes_the_due_time():
    created = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
    paused_since = created + H
    view = clock_view(kind=ClockKind.RESOLUTION, now=created + 5 * H, created_at=created,
                      target=4 * H, due=created + 4 * H, warn_at=created + 3 * H, calendar=Calendar(),
                      paused_seconds=0, paused_since=paused_since, met_at=None)
    assert view.state is SlaState.PAUSED
    assert view.elapsed == H and view.remaining == 3 * H and view.paused == 4 * H
    # Resumed after 4 h paused: the due time moves 4 h later.
    dues = compute_dues(created_at=created, targets=load_policy().targets(
        grade="important", category="billing", work_type="fault"), calendar=Calendar(),
        paused_seconds=4 * 3600)
    assert dues.resolution_due == created + 28 * H


def test_met_late_reads_as_breached_and_met_on_time_as_met():
    created = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
    common = dict(kind=ClockKind.RESPONSE, now=created + 10 * H, created_at=created, target=2 * H,
                  due=created + 2 * H, warn_at=created + H + 30 * M, calendar=Calendar(),
                  paused_seconds=0, paused_since=None)
    assert clock_view(**common, met_at=created + H).state is SlaState.MET
    assert clock_view(**common, met_at=created + 3 * H).state is SlaState.BREACHED


def test_running_state_from_stored_keys():
    assert running_state(now_ts=100, due_ts=200, warn_ts=150, paused=False, met=False) is SlaState.ON_TRACK
    assert running_state(now_ts=150, due_ts=200, warn_ts=150, paused=False, met=False) is SlaState.WARNING
    assert running_state(now_ts=200, due_ts=200, warn_ts=150, paused=False, met=False) is SlaState.BREACHED
    assert running_state(now_ts=300, due_ts=None, warn_ts=None, paused=True, met=False) is SlaState.PAUSED
    assert running_state(now_ts=300, due_ts=200, warn_ts=150, paused=False, met=True) is SlaState.MET

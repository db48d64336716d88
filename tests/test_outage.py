"""Outages: alarms grouped at each level and cleared, quiet hours in the hall's zone, one message
per number, restore under each ticket policy, retries, bulk notes, ETA history."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from agent_console.db import from_db, to_db
from agent_console.services import outage, sms, tickets
from agent_console.services.errors import Refused
from agent_console.services.sms import QuietHours, SmsPolicy
from tests.conftest import actor_for

HALL = timezone(timedelta(hours=8))
PORTS = ("1/1/1", "1/1/2", "1/1/3", "1/1/4")
NO_PAUSE = {"pause": lambda _: None}


def hall(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=HALL)


@pytest.fixture
def net(store):
    """OLT-A with four ports of five customers each; OLT-B with one port of three."""
    rows = []
    with store.write() as tx:
        cid = 0
        for olt, ports in (("OLT-A", PORTS), ("OLT-B", ("2/1/1",))):
            for port in ports:
                for n in range(5 if olt == "OLT-A" else 3):
                    cid += 1
                    tx.execute("INSERT INTO customer (id, name, phone, tier, created_at) "
                               "VALUES (?, ?, ?, 'standard', ?)",
                               (cid, f"客户{cid}", f"1390000{cid:04d}", to_db(tx.now)))
                    rows.append((cid, "浦东新区", "张江路", f"{n + 1}号", olt, port,
                                 f"ONU{cid:04d}", "SH-PD-0001"))
        tx.executemany("INSERT INTO customer_service VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return store


@pytest.fixture
def sup(net):
    return actor_for(net, "s900", role="supervisor")


def onu(cid: int, port: str, olt: str = "OLT-A", event: str = "alarm") -> str:
    return json.dumps({"event": event, "level": "onu", "olt": olt, "pon_port": port,
                       "onu_serial": f"ONU{cid:04d}", "at": "2026-11-24T09:50:00+08:00"})


# --- alarms -------------------------------------------------------------------------------------

def test_a_few_onus_down_make_an_onu_outage(net, sup):
    result = outage.import_alarms(net, sup, lines=[onu(1, "1/1/1"), onu(2, "1/1/1")])
    assert [(o.scope, o.affected) for o in result.created] == [("onu", 2)]


def test_one_onu_down_is_no_outage(net, sup):
    assert outage.import_alarms(net, sup, lines=[onu(1, "1/1/1")]).created == ()


def test_many_onus_on_one_port_make_a_pon_outage(net, sup):
    result = outage.import_alarms(net, sup, lines=[onu(c, "1/1/1") for c in range(1, 5)])
    assert [(o.scope, o.where, o.affected) for o in result.created] == [
        ("pon", "OLT-A 1/1/1", 5)]
    assert result.created[0].started_at == datetime(2026, 11, 24, 1, 50, tzinfo=timezone.utc)


def test_a_pon_alarm_makes_a_pon_outage(net, sup):
    line = json.dumps({"event": "alarm", "level": "pon", "olt": "OLT-A", "pon_port": "1/1/2"})
    assert [o.scope for o in outage.import_alarms(net, sup, lines=[line]).created] == ["pon"]


def test_enough_ports_down_make_one_olt_outage(net, sup):
    lines = [json.dumps({"event": "alarm", "level": "pon", "olt": "OLT-A", "pon_port": p})
             for p in PORTS[:3]]
    result = outage.import_alarms(net, sup, lines=lines)
    assert [(o.scope, o.affected) for o in result.created] == [("olt", 20)]


def test_every_known_port_down_makes_an_olt_outage(net, sup):
    line = json.dumps({"event": "alarm", "level": "pon", "olt": "OLT-B", "pon_port": "2/1/1"})
    result = outage.import_alarms(net, sup, lines=[line])
    assert [(o.scope, o.where, o.affected) for o in result.created] == [("olt", "OLT-B", 3)]


def test_clears_restore_and_a_second_import_adds_nothing(net, sup):
    downs = [onu(c, "1/1/1") for c in range(1, 5)]
    made = outage.import_alarms(net, sup, lines=downs).created[0]
    assert outage.import_alarms(net, sup, lines=downs).created == ()  # already known
    part = outage.import_alarms(net, sup, lines=[onu(c, "1/1/1", event="clear")
                                                  for c in range(1, 4)])
    assert part.restored == ()
    done = outage.import_alarms(net, sup, lines=[onu(4, "1/1/1", event="clear")])
    assert done.restored == (made.number,)
    assert outage.get_outage(net, sup, outage_id=made.id).status == "restored"


def test_a_pon_clear_restores_the_pon_outage(net, sup):
    up = {"event": "alarm", "level": "pon", "olt": "OLT-A", "pon_port": "1/1/2"}
    made = outage.import_alarms(net, sup, lines=[json.dumps(up)]).created[0]
    result = outage.import_alarms(net, sup, lines=[json.dumps({**up, "event": "clear"})])
    assert result.restored == (made.number,)


def test_bad_lines_are_reported_by_number_and_nothing_is_imported(net, sup):
    lines = [onu(c, "1/1/1") for c in range(1, 5)]
    lines.insert(1, "not json")
    lines.append(json.dumps({"event": "alarm", "level": "rack", "olt": "OLT-A"}))
    result = outage.import_alarms(net, sup, lines=lines)
    assert [n for n, _ in result.errors] == [2, 6]
    assert result.created == ()
    with net.read() as tx:
        assert tx.scalar("SELECT count(*) FROM outage") == 0


def test_an_agent_may_not_import_or_create(net):
    agent = actor_for(net, "a001")
    with pytest.raises(Refused):
        outage.import_alarms(net, agent, lines=[])
    with pytest.raises(Refused):
        outage.create_outage(net, agent, kind="planned", scope="cell", cell="SH-PD-0001")


# --- quiet hours -------------------------------------------------------------------------------

@pytest.mark.parametrize(("hour", "minute", "allowed"), [
    (21, 59, True), (22, 0, False), (7, 59, False), (8, 0, True), (23, 0, False), (3, 0, False)])
def test_quiet_hours_boundaries_in_the_hall_zone(hour, minute, allowed):
    hours = QuietHours.parse("08:00-22:00", "+08:00")
    at = hall(24, hour, minute)
    assert hours.allows(at) is allowed
    assert hours.allows(at.astimezone(timezone.utc)) is allowed  # the zone, not the host's
    expected = at if allowed else (hall(25, 8) if hour >= 22 else hall(24, 8))
    assert hours.next_allowed(at) == expected


def test_quiet_hours_are_a_setting():
    hours = SmsPolicy.from_settings(type("S", (), {"sms_hours": "09:30-20:00",
                                                   "sms_zone": "+08:00"})()).hours
    assert not hours.allows(hall(24, 9, 29)) and hours.allows(hall(24, 9, 30))


def _outbox(store):
    with store.read() as tx:
        return tx.all("SELECT * FROM sms_outbox ORDER BY id")


def test_a_message_made_at_23_goes_out_at_08_never_at_night(net, sup, clock, tmp_path):
    clock.set(hall(24, 23, 0))
    made = outage.create_outage(net, sup, kind="unplanned", scope="pon", olt="OLT-A",
                                pon_port="1/1/1", eta=hall(25, 6), status="confirmed")
    rows = _outbox(net)
    assert len(rows) == made.affected == 5
    assert {from_db(r.not_before) for r in rows} == {hall(25, 8)}
    out = tmp_path / "sent.jsonl"
    transport = sms.FileTransport(out)
    for at in (hall(24, 23, 30), hall(25, 3), hall(25, 7, 59)):
        clock.set(at)
        report = sms.send_due(net, sup, transport=transport, policy=SmsPolicy(), **NO_PAUSE)
        assert report.sent == 0
    assert not out.exists()
    clock.set(hall(25, 8, 0))
    report = sms.send_due(net, sup, transport=transport, policy=SmsPolicy(), **NO_PAUSE)
    assert (report.sent, report.waiting) == (5, 0)
    sent = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert "06:00" in sent[0]["text"] and "张江路" in sent[0]["text"]


def test_due_messages_are_held_when_the_window_closes(net, sup, clock, tmp_path):
    clock.set(hall(24, 21, 59))
    outage.create_outage(net, sup, kind="unplanned", scope="pon", olt="OLT-A", pon_port="1/1/1",
                         status="confirmed")
    clock.set(hall(24, 22, 0))
    report = sms.send_due(net, sup, transport=sms.FileTransport(tmp_path / "x"),
                          policy=SmsPolicy(), **NO_PAUSE)
    assert (report.sent, report.held) == (0, 5)
    assert all(r.status == "queued" for r in _outbox(net))


def test_sending_is_throttled(net, sup, clock, tmp_path):
    outage.create_outage(net, sup, kind="unplanned", scope="olt", olt="OLT-A", status="confirmed")
    gaps: list[float] = []
    report = sms.send_due(net, sup, transport=sms.FileTransport(tmp_path / "x"),
                          policy=SmsPolicy(rate_per_minute=6), pause=gaps.append)
    assert (report.sent, report.waiting) == (6, 14)
    assert gaps == [10.0] * 5


# --- once per number ----------------------------------------------------------------------------

def test_no_customer_is_messaged_twice_for_one_outage(net, sup, clock, tmp_path):
    with net.write() as tx:  # a family's second account whose contact number is the first's
        tx.execute("INSERT INTO customer (id, name, phone, contact_phone, tier, created_at) VALUES "
                   "(100, '同号', '02150000001', '13900000001', 'standard', ?)", (to_db(tx.now),))
        tx.execute("UPDATE customer SET contact_phone = '13900000002' WHERE id = 3")
        tx.execute("INSERT INTO customer_service VALUES (100, '浦东新区', '张江路', '9号', "
                   "'OLT-A', '1/1/1', 'ONU0100', 'SH-PD-0001')")
    made = outage.create_outage(net, sup, kind="unplanned", scope="area", district="浦东新区",
                                street="张江路", status="suspected")
    outage.set_status(net, sup, outage_id=made.id, status="confirmed")
    with net.write(sup) as tx:  # asking again adds nothing
        assert outage._queue(tx, made.id, "affected", SmsPolicy()) == 0
    outage.set_status(net, sup, outage_id=made.id, status="restored")
    rows = _outbox(net)
    per_number: dict[tuple[str, str], int] = {}
    for r in rows:
        per_number[(r.phone, r.kind)] = per_number.get((r.phone, r.kind), 0) + 1
    assert set(per_number.values()) == {1}
    assert {k for _, k in per_number} == {"affected", "restored"}
    assert len(rows) == 2 * len({r.phone for r in rows}) == 2 * (made.affected - 2)
    sms.send_due(net, sup, transport=sms.FileTransport(tmp_path / "a"),
                 policy=SmsPolicy(rate_per_minute=1000), **NO_PAUSE)
    again = sms.send_due(net, sup, transport=sms.FileTransport(tmp_path / "a"),
                         policy=SmsPolicy(rate_per_minute=1000), **NO_PAUSE)
    assert again.sent == 0
    numbers = [json.loads(x)["to"] for x in (tmp_path / "a").read_text().splitlines()]
    assert len(numbers) == 2 * len(set(numbers))


def test_a_suspected_outage_restored_sends_nothing(net, sup):
    made = outage.create_outage(net, sup, kind="unplanned", scope="cell", cell="SH-PD-0001")
    outage.set_status(net, sup, outage_id=made.id, status="restored")
    assert _outbox(net) == []


class Failing:
    def __init__(self, times: int) -> None:
        self.times, self.seen = times, []

    def deliver(self, message):
        self.seen.append(message["id"])
        if len(self.seen) <= self.times:
            raise sms.DeliveryError("gateway busy")


def test_a_failed_send_is_retried_with_back_off_and_reported(net, sup, clock):
    outage.create_outage(net, sup, kind="unplanned", scope="onu", onus=["ONU0001"],
                         status="confirmed")
    transport = Failing(times=2)
    first = sms.send_due(net, sup, transport=transport, policy=SmsPolicy(), **NO_PAUSE)
    assert (first.sent, first.failed) == (0, 1) and "gateway busy" in first.errors[0]
    assert "****" in first.errors[0]
    row = _outbox(net)[0]
    assert (row.status, row.attempts, from_db(row.not_before)) == (
        "failed", 1, clock.now() + timedelta(minutes=1))
    assert sms.send_due(net, sup, transport=transport, policy=SmsPolicy(), **NO_PAUSE).sent == 0
    clock.advance(timedelta(minutes=1))
    second = sms.send_due(net, sup, transport=transport, policy=SmsPolicy(), **NO_PAUSE)
    assert second.failed == 1
    assert from_db(_outbox(net)[0].not_before) == clock.now() + timedelta(minutes=2)
    clock.advance(timedelta(minutes=2))
    assert sms.send_due(net, sup, transport=transport, policy=SmsPolicy(), **NO_PAUSE).sent == 1
    with net.read() as tx:
        trail = [(r.action, json.loads(r.detail)["to"]) for r in tx.all(
            "SELECT action, detail FROM audit_log WHERE action LIKE 'sms_%' AND action != "
            "'sms_queued' ORDER BY id")]
    assert [a for a, _ in trail] == ["sms_failed", "sms_failed", "sms_sent"]
    assert all("****" in to for _, to in trail)


def test_the_command_transport_hands_one_json_line(tmp_path):
    out = tmp_path / "got.txt"
    transport = sms.CommandTransport(f"sh -c 'cat >> {out}'")
    transport.deliver({"to": "13900000001", "text": "已恢复"})
    assert json.loads(out.read_text("utf-8")) == {"to": "13900000001", "text": "已恢复"}
    with pytest.raises(sms.DeliveryError):
        sms.CommandTransport("sh -c 'echo refused >&2; exit 3'").deliver({"to": "1"})


# --- tickets and restore ----------------------------------------------------------------------

def _ticket(store, actor, phone: str) -> int:
    return tickets.create_ticket(store, actor, phone=phone, channel="hotline", work_type="fault",
                                 category="broadband", description="光猫红灯，上不了网").id


def _status(store, ticket_id: int):
    with store.read() as tx:
        return tx.one("SELECT status, is_open, resolution, resolved_at, resolution_due "
                      "FROM ticket WHERE id = ?", (ticket_id,))


@pytest.mark.parametrize("policy", ["resolve", "keep_open"])
def test_restore_applies_the_ticket_policy(net, sup, clock, policy):
    agent = actor_for(net, "a001")
    made = outage.create_outage(net, sup, kind="unplanned", scope="pon", olt="OLT-A",
                                pon_port="1/1/1", status="confirmed", ticket_policy=policy)
    first, second, done = (_ticket(net, agent, f"1390000{c:04d}") for c in (1, 2, 3))
    tickets.change_status(net, agent, ticket_id=done, expected_version=1, status="resolved")
    before = {t: _status(net, t) for t in (first, second, done)}
    for t in (first, second, done):
        assert outage.link_ticket(net, agent, outage_id=made.id, ticket_id=t)
    assert not outage.link_ticket(net, agent, outage_id=made.id, ticket_id=first)
    clock.advance(timedelta(hours=1))
    outage.set_status(net, sup, outage_id=made.id, status="restored", note="光缆已熔接，业务恢复")
    after = {t: _status(net, t) for t in (first, second, done)}
    assert after[done] == before[done]  # already resolved: left as it was, never reopened
    for t in (first, second):
        assert after[t].resolution_due == before[t].resolution_due  # each its own clock
        if policy == "resolve":
            assert (after[t].status, after[t].is_open) == ("resolved", 0)
            assert after[t].resolution == "光缆已熔接，业务恢复"
            assert from_db(after[t].resolved_at) == clock.now()
        else:
            assert after[t].status == "new" and after[t].resolved_at is None
    with net.read() as tx:
        notes = tx.all("SELECT detail FROM ticket_event WHERE ticket_id = ? AND kind = 'note'",
                       (first,))
    assert any(json.loads(n.detail).get("policy") == policy for n in notes)


def test_a_bulk_note_reaches_every_linked_ticket(net, sup):
    agent = actor_for(net, "a001")
    made = outage.create_outage(net, sup, kind="unplanned", scope="olt", olt="OLT-A")
    ids = [_ticket(net, agent, f"1390000{c:04d}") for c in (1, 6, 11)]
    for t in ids:
        outage.link_ticket(net, agent, outage_id=made.id, ticket_id=t)
    assert outage.bulk_note(net, sup, outage_id=made.id, text="预计延迟一小时恢复") == 3
    with net.read() as tx:
        for t in ids:
            assert tx.scalar("SELECT count(*) FROM ticket_event WHERE ticket_id = ? AND kind = "
                             "'note' AND detail LIKE '%延迟一小时%'", (t,)) == 1


def test_eta_revisions_are_kept_with_who_and_when(net, sup, clock):
    made = outage.create_outage(net, sup, kind="planned", scope="cell", cell="SH-PD-0001",
                                eta=hall(24, 12))
    clock.advance(timedelta(minutes=30))
    view = outage.revise_eta(net, sup, outage_id=made.id, eta=hall(24, 14), note="设备到货晚")
    assert view.eta == hall(24, 14)
    assert [(e.agent, e.eta, e.note) for e in view.etas] == [
        ("s900", hall(24, 12), ""), ("s900", hall(24, 14), "设备到货晚")]


# --- at intake --------------------------------------------------------------------------------

def test_intake_finds_the_callers_outage_and_answers_from_it(net, sup):
    agent = actor_for(net, "a001")
    made = outage.create_outage(net, sup, kind="unplanned", scope="pon", olt="OLT-A",
                                pon_port="1/1/2", status="confirmed")
    assert [o.id for o in outage.active_for_customer(net, agent, customer_id=6)] == [made.id]
    assert outage.active_for_customer(net, agent, customer_id=1) == []
    outage.answer_contact(net, agent, outage_id=made.id, customer_id=6)
    outage.answer_contact(net, agent, outage_id=made.id, customer_id=7)
    outage.link_ticket(net, agent, outage_id=made.id, ticket_id=_ticket(net, agent, "13900000008"))
    board = outage.board(net, agent)
    row = board.rows[0]
    assert (row.calls, row.answered, row.tickets, row.outage.affected) == (3, 2, 1, 5)
    assert board.share == pytest.approx(2 / 3) and board.target == 0.70
    outage.set_status(net, sup, outage_id=made.id, status="restored")
    assert outage.active_for_customer(net, agent, customer_id=6) == []


def test_without_a_customer_the_words_and_area_suggest_an_outage(net, sup):
    agent = actor_for(net, "a001")
    made = outage.create_outage(net, sup, kind="unplanned", scope="pon", olt="OLT-A",
                                pon_port="1/1/2", status="confirmed")
    assert [o.id for o in outage.suggest(net, agent, text="家里断网了", area="张江路")] == [made.id]
    assert [o.id for o in outage.suggest(net, agent, text="", area="张江路")] == [made.id]
    assert outage.suggest(net, agent, text="话费有疑问", area="") == []
    assert outage.suggest(net, agent, text="断网", area="南京西路") == []


def test_sms_settings_are_checked():
    from agent_console.config import ConfigError, load_settings

    good = load_settings(environ={"AGENT_CONSOLE_SMS_HOURS": "09:00-21:00",
                                  "AGENT_CONSOLE_SMS_ZONE": "Asia/Shanghai"})
    assert SmsPolicy.from_settings(good).hours.allows(hall(24, 20, 59))
    for name, value in (("SMS_HOURS", "22:00-08:00"), ("SMS_HOURS", "soon"),
                        ("SMS_ZONE", "Mars/Base"), ("SMS_RATE_PER_MINUTE", "0")):
        with pytest.raises(ConfigError):
            load_settings(environ={f"AGENT_CONSOLE_{name}": value})


def test_alarm_text_is_data(net, sup):
    line = json.dumps({"event": "alarm", "level": "pon", "olt": "OLT-A\x1b[31m",
                       "pon_port": "1/1/1\r\n"})
    made = outage.import_alarms(net, sup, lines=[line]).created
    assert made and "\x1b" not in made[0].where and "\n" not in made[0].where

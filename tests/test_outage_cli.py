"""`agent-console outage …` and `sms …` as an operator runs them."""

from __future__ import annotations

import json

import pytest

from tests.e2e_pty import stored_rows
from tests.test_cli import as_agent, demo_db, demo_template  # noqa: F401  (fixtures)


@pytest.mark.uses_store
def test_alarm_import_reports_bad_lines_and_imports_nothing(demo_db, tmp_path):  # noqa: F811
    alarms = tmp_path / "alarms.jsonl"
    good = {"event": "alarm", "level": "pon", "olt": "OLT-XH-02", "pon_port": "1/1/3"}
    alarms.write_text(json.dumps(good) + "\n{oops\n" + json.dumps({**good, "level": "x"}) + "\n",
                      encoding="utf-8")
    bad = as_agent("s900", "outage", "import", str(alarms), "--db", str(demo_db))
    assert bad.returncode == 2
    assert "line 2" in bad.stderr and "line 3" in bad.stderr and "nothing" in bad.stderr
    assert stored_rows(demo_db, "SELECT count(*) FROM outage")[0][0] == 2  # the demo's
    alarms.write_text(json.dumps(good) + "\n", encoding="utf-8")
    done = as_agent("s900", "outage", "import", str(alarms), "--db", str(demo_db), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"][0]["scope"] == "pon"
    refused = as_agent("a001", "outage", "import", str(alarms), "--db", str(demo_db))
    assert refused.returncode == 2


@pytest.mark.uses_store
def test_the_outbox_is_masked_and_sending_goes_through_the_file(demo_db, tmp_path):  # noqa: F811
    box = as_agent("s900", "sms", "outbox", "--due", "--json", "--db", str(demo_db))
    assert box.returncode == 0, box.stderr
    rows = json.loads(box.stdout)
    assert rows and all("****" in r["phone"] for r in rows)
    out = tmp_path / "sent.jsonl"
    sent = as_agent("s900", "sms", "send", "--file", str(out), "--db", str(demo_db),
                    env={"AGENT_CONSOLE_SMS_RATE_PER_MINUTE": "6000"})
    assert sent.returncode == 0, sent.stderr
    lines = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert len(lines) == len(rows)
    assert len({(x["outage"], x["kind"], x["to"]) for x in lines}) == len(lines)  # once each
    night = as_agent("s900", "sms", "send", "--file", str(out), "--db", str(demo_db),
                     env={"AGENT_CONSOLE_NOW": "2026-11-24T15:00:00+00:00"})  # 23:00 in the hall
    assert night.returncode == 0 and "0 sent" in night.stdout

"""Chinese line breaking: no closing punctuation at a line start, no opening one at a line end,
Latin words whole, every row within its width in cells."""

from __future__ import annotations

import pytest
from rich.cells import cell_len

from agent_console.wrapping import NO_LINE_END, NO_LINE_START, wrap_plain

SAMPLES = [
    "客户反映宽带晚上经常断网，重启光猫后恢复。已检查ONU光功率-27dBm，偏低，建议上门更换尾纤（皮线）。",
    "P2: check the optical module（光模块）and the port, then call back「当天」。",
    "“您好，请问有什么可以帮您？”客户说：“我的套餐被改了！”",
    "一二三四五六七八九十。，、；：？！",
    "https://example.com/a/very/long/path/that/does/not/fit/anywhere/at/all 之后是中文。",
]


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize("width", range(12, 41))
def test_rows_follow_the_rules(text, width):
    rows = wrap_plain(text, width, indent=2)
    assert "".join(r[2:] if i else r for i, r in enumerate(rows)).replace(" ", "") == \
        text.replace(" ", "")
    for number, row in enumerate(rows):
        assert cell_len(row) <= width, (row, width)
        body = row[2:] if number else row
        if number and body and body[0] in NO_LINE_START:
            # only where a run of punctuation is wider than a whole row and had to be cut
            assert all(c in NO_LINE_START for c in rows[number - 1][-1:]), (rows, width)
        assert not (body and body[-1] in NO_LINE_END and number < len(rows) - 1), row


def test_closing_punctuation_never_begins_a_row_that_has_room_before():
    text = "客户反映宽带晚上经常断网，重启光猫后恢复。"
    for width in range(6, 30):
        rows = wrap_plain(text, width)
        assert not any(row[0] in NO_LINE_START for row in rows[1:]), (width, rows)


def test_latin_words_stay_whole():
    rows = wrap_plain("请检查 ONU optical power 然后回访", 14)
    assert all(word in rows_text for word in ("ONU", "optical", "power")
               for rows_text in ["\n".join(rows)])
    assert not any(row.endswith("opt") for row in rows)
    assert rows == ["请检查 ONU", "optical power", "然后回访"]

from selectolax.lexbor import LexborHTMLParser

from scrapers._table import grid, texts

TRANSPOSED = """<table><tr><td colspan="2">MODEL</td><td>a</td><td>b</td></tr>
<tr><td rowspan="2">PRICING<sup>(1)</sup></td><td>IN</td><td colspan="2">$1</td></tr>
<tr><td>OUT</td><td>$2 <del>$4</del></td><td>$3</td></tr></table>"""


def test_spans_expand_and_footnotes_and_struck_text_are_apart():
    rows = grid(LexborHTMLParser(TRANSPOSED).css_first("table"))
    assert texts(rows) == [["MODEL", "MODEL", "a", "b"], ["PRICING", "IN", "$1", "$1"], ["PRICING", "OUT", "$2", "$3"]]
    assert rows[2][2].struck == "$4"


def test_nested_tables_do_not_leak_rows():
    html = "<table><tr><td>x<table><tr><td>inner</td></tr></table></td><td>y</td></tr></table>"
    outer = LexborHTMLParser(html).css_first("table")
    assert [r[1].text for r in grid(outer)] == ["y"]

from selectolax.lexbor import LexborHTMLParser

from scrapers._table import Cell, grid, header_rows, texts

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


def test_a_nested_table_is_not_part_of_its_cell_text():
    html = "<table><tr><td>x<table><tr><td>inner<del>$2</del></td></tr></table>z</td></tr></table>"
    outer, inner = LexborHTMLParser(html).css("table")
    assert grid(outer)[0][0] == Cell("x z")
    assert grid(inner)[0][0] == Cell("inner", "$2")


def test_line_breaks_are_spaces():
    html = "<table><tr><td>1M<br>tokens<del>$2<br>old</del></td></tr></table>"
    assert grid(LexborHTMLParser(html).css_first("table"))[0][0] == Cell("1M tokens", "$2 old")


def test_a_cell_100000_elements_deep_is_read_without_recursion():
    depth = 100_000
    html = "<table><tr><td>" + "<span>" * depth + "$1<sup>2</sup>" + "</span>" * depth + "</td></tr></table>"
    assert texts(grid(LexborHTMLParser(html).css_first("table"))) == [["$1"]]


# Slate / ace-editor tables: an empty rowspan="0" cell in every slot a spanning cell fills.
EDITOR = """<table><tr><td>模型</td><td>条件</td><td>输入</td></tr>
<tr><td rowspan="2">a</td><td>≤32k</td><td>1</td></tr>
<tr><td rowspan="0" colspan="0">\ufeff</td><td>&gt;32k</td><td>2</td></tr>
<tr><td colspan="3">说明</td><td rowspan="0" colspan="0">\ufeff</td><td rowspan="0" colspan="0">\ufeff</td></tr></table>"""


def test_editor_placeholders_are_dropped_when_asked():
    rows = grid(LexborHTMLParser(EDITOR).css_first("table"), skip_placeholders=True)
    assert texts(rows) == [["模型", "条件", "输入"], ["a", "≤32k", "1"], ["a", ">32k", "2"], ["说明", "说明", "说明"]]


def test_editor_placeholders_are_cells_otherwise():
    rows = grid(LexborHTMLParser(EDITOR).css_first("table"))
    assert texts(rows)[2] == ["a", "", ">32k", "2", ""]


def test_header_rows_follow_a_header_cell_spanning_two_rows():
    html = "<table><tr><td rowspan=2>模型</td><td colspan=2>输入</td></tr><tr><td>非音频</td><td>音频</td></tr><tr><td>a</td><td>1</td><td>2</td></tr></table>"
    assert header_rows(grid(LexborHTMLParser(html).css_first("table"))) == 2

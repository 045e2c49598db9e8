"""An HTML table read back as text: each cell's text (tags dropped, entities decoded), row by row."""

from __future__ import annotations

from html.parser import HTMLParser


class TableText(HTMLParser):
    """`rows[section]` is a list of rows (thead, tbody, tfoot), each a list of cell texts; a `<br>`
    inside a cell is a newline. `tables` counts the tables, `caption` is the caption's text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables, self.section, self.cell, self.caption = 0, None, None, None
        self.rows: dict[str, list[list[str]]] = {"thead": [], "tbody": [], "tfoot": []}
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "table":
            self.tables += 1
        elif tag in self.rows:
            self.section = tag
        elif tag == "tr":
            self.rows[self.section].append([])
        elif tag in ("td", "th"):
            self.cell = ""
        elif tag == "caption":
            self.caption = ""
        elif tag == "br" and self.cell is not None:
            self.cell += "\n"

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[self.section][-1].append(self.cell)
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
        elif self.caption is not None and self.tags and self.tags[-1] == "caption":
            self.caption += data


def table_text(html: str) -> TableText:
    parser = TableText()
    parser.feed(html)
    parser.close()
    return parser


def html_text(html: str) -> str:
    """Every cell's text, one row a line and cells tab-separated: what a reader of the table sees."""
    table = table_text(html)
    return "\n".join("\t".join(row) for section in table.rows.values() for row in section)

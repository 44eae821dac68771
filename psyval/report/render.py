"""Render the report as HTML (jinja2 with autoescape) and Markdown.

Everything that comes from a model, a manifest or a data file is text to be
escaped: the HTML template autoescapes every field, and the Markdown writer
escapes HTML and table delimiters itself, because Markdown renderers pass
raw HTML through. Model answers go into fenced code blocks, which Markdown
shows as written.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import jinja2
import pandas as pd


@dataclass
class Figure:
    """A figure file (relative to the report folder) with its caption."""

    path: str
    caption: str


@dataclass
class Section:
    """A titled part of the report: paragraphs, tables, figures and preformatted blocks."""

    title: str
    anchor: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    preformatted: list[tuple[str, str]] = field(default_factory=list)
    quotes: list[tuple[str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)


HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'sha256-{{ script_hash }}'">
<title>{{ title }}</title>
<style>
body { font-family: Georgia, "Times New Roman", serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1, h2, h3 { font-family: Helvetica, Arial, sans-serif; }
table { border-collapse: collapse; margin: 0.8em 0 1.6em; font-size: 0.85em; }
caption { text-align: left; font-style: italic; padding-bottom: 0.3em; }
th, td { padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
th { border-top: 2px solid #222; border-bottom: 1px solid #222; }
tbody tr:last-child td { border-bottom: 2px solid #222; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.8em; }
blockquote { border-left: 3px solid #bbb; margin: 0.5em 0; padding: 0.2em 0.8em; white-space: pre-wrap; font-size: 0.85em; }
.meta { color: #555; font-size: 0.9em; }
nav li { display: inline; margin-right: 1em; }
</style>
</head>
<body data-figures="{{ figure_count }}">
<h1>{{ title }}</h1>
<p class="meta">{{ subtitle }}</p>
<nav><ul>{% for section in sections %}<li><a href="#{{ section.anchor }}">{{ section.title }}</a></li>{% endfor %}</ul></nav>
{% for section in sections %}
<section id="{{ section.anchor }}">
<h2>{{ section.title }}</h2>
{% for paragraph in section.paragraphs %}<p>{{ paragraph }}</p>
{% endfor %}
{% for caption, table in section.tables %}
<table>
<caption>{{ caption }}</caption>
<thead><tr>{% for column in table.columns %}<th>{{ column }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in table.itertuples(index=False) %}<tr>{% for cell in row %}<td{% if cell is numeric %} class="num"{% endif %}>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
{% endfor %}
{% for figure in section.figures %}
<figure><img class="report-figure" src="{{ figure.path }}" alt="{{ figure.caption }}"><figcaption>{{ figure.caption }}</figcaption></figure>
{% endfor %}
{% for heading, text in section.quotes %}<h3>{{ heading }}</h3>
<blockquote>{{ text }}</blockquote>
{% endfor %}
{% for text, url in section.links %}<p><a href="{{ url }}">{{ text }}</a></p>
{% endfor %}
{% for heading, text in section.preformatted %}<h3>{{ heading }}</h3>
<pre>{{ text }}</pre>
{% endfor %}
</section>
{% endfor %}
<script>{{ script | safe }}</script>
</body>
</html>
"""

# Counts the figures that decoded, for headless-browser checks:
# <body data-figures-loaded="k/n">. It is the only script on the page, and the
# Content-Security-Policy allows only its hash.
LOAD_CHECK_SCRIPT = (
    "window.addEventListener('load', function () {"
    " var images = document.querySelectorAll('img.report-figure');"
    " var loaded = 0;"
    " images.forEach(function (image) { if (image.complete && image.naturalWidth > 0) { loaded += 1; } });"
    " document.body.setAttribute('data-figures-loaded', loaded + '/' + images.length);"
    " });"
)


def script_hash(script: str) -> str:
    """Return the base64 SHA-256 of an inline script, for the Content-Security-Policy."""
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


_NUMERIC = re.compile(r"^(?:[<>]\s*)?[-−+]?(?:\d|\.\d|\[[-−]?[\d.])[\d.,eE+\-*\[\] ]*$|^—$")


def is_numeric(cell: object) -> bool:
    """Return True for a formatted number, interval or dash, which the HTML table right-aligns."""
    return bool(_NUMERIC.match(str(cell)))


def render_html(title: str, subtitle: str, sections: list[Section]) -> str:
    """Return the report page; every field is HTML-escaped by jinja2's autoescape."""
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    environment.tests["numeric"] = is_numeric
    template = environment.from_string(HTML_TEMPLATE)
    figure_count = sum(len(section.figures) for section in sections)
    return template.render(
        title=title, subtitle=subtitle, sections=sections, figure_count=figure_count,
        script=LOAD_CHECK_SCRIPT, script_hash=script_hash(LOAD_CHECK_SCRIPT),
    )


def markdown_text(text: Any) -> str:
    """Escape text for a Markdown paragraph or table cell: HTML, pipes and line breaks."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def markdown_code_block(text: Any) -> list[str]:
    """Return ``text`` as the lines of a fenced code block, so Markdown renders none of it.

    Model answers may contain headings, tables, images or HTML. Inside a fence
    they are shown as written, and the fence is longer than any backtick run in
    the text, so no line of the text can close it.
    """
    body = str(text).replace("\r\n", "\n").replace("\r", "\n")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *body.split("\n"), fence]


def markdown_table(table: pd.DataFrame) -> str:
    """Return ``table`` as a GitHub pipe table with escaped cells."""
    header = "| " + " | ".join(markdown_text(column) for column in table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = ["| " + " | ".join(markdown_text(cell) for cell in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def render_markdown(title: str, subtitle: str, sections: list[Section]) -> str:
    """Return the report as Markdown with the same sections, tables and figures as the HTML."""
    lines = [f"# {markdown_text(title)}", "", f"*{markdown_text(subtitle)}*", ""]
    for section in sections:
        lines += [f"## {markdown_text(section.title)}", ""]
        for paragraph in section.paragraphs:
            lines += [markdown_text(paragraph), ""]
        for caption, table in section.tables:
            lines += [f"*{markdown_text(caption)}*", "", markdown_table(table), ""]
        for figure in section.figures:
            lines += [f"![{markdown_text(figure.caption)}]({figure.path})", "", f"*{markdown_text(figure.caption)}*", ""]
        for heading, text in section.quotes:
            lines += [f"### {markdown_text(heading)}", "", *markdown_code_block(text), ""]
        for text, url in section.links:
            lines += [f"[{markdown_text(text)}]({url})", ""]
        for heading, text in section.preformatted:
            fence = "~~~~" if "```" in text else "```"
            lines += [f"### {markdown_text(heading)}", "", fence, str(text).replace("~~~~", "~ ~ ~ ~"), fence, ""]
    return "\n".join(lines)

"""Issue bodies and comments are Markdown, as on GitHub: shown rendered, never as raw HTML."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()

# html=False: HTML in a body is shown as text, so a comment from GitHub cannot inject markup;
# markdown-it refuses javascript:, vbscript: and file: links on its own.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
    "table"
)


@register.filter
def markdown(text: str) -> SafeString:
    html: str = _markdown.render(text or "")
    return mark_safe(html)  # noqa: S308  (escaped by markdown-it: html is off)

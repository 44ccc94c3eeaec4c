"""User text: Markdown rendered with raw HTML off, then cleaned, so nothing a member types can run."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})

_ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
}


def render_markdown(text: str | None) -> Markup:
    """Turn a member's Markdown into safe HTML: no raw HTML, no scripts, only http(s)/mailto links.

    Headings 1-2 are demoted by the cleaner's tag list (they would break the page outline).
    """
    if not text:
        return Markup("")
    html = _md.render(text)
    cleaned = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow ugc",
    )
    return Markup(cleaned)

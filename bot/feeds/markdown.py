"""Just enough Markdown for a post body: paragraphs, headings, lists, quotes, code,
links, images and emphasis. HTML blocks and inline tags pass through untouched,
because Jekyll posts (the seed among them) are often HTML saved as `.md`.
"""

from __future__ import annotations

import re
from html import escape

_HEADING = re.compile(r"(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"\s{0,3}[-*+]\s+(.*)")
_ORDERED = re.compile(r"\s{0,3}\d{1,9}[.)]\s+(.*)")
_RULE = re.compile(r"\s{0,3}(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$")
_FENCE = re.compile(r"\s{0,3}(```|~~~)")

_CODE = re.compile(r"`([^`]+)`")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"([^\"]*)\")?\s*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(\s*<?([^)\s>]+)>?(?:\s+\"([^\"]*)\")?\s*\)")
_AUTOLINK = re.compile(r"<(https?://[^\s>]+)>")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)")
_EM = re.compile(r"\*(?=[^\s*])(.+?)(?<=[^\s*])\*|(?<!\w)_(?=[^\s_])(.+?)(?<=[^\s_])_(?!\w)")
#: `&` not starting an entity, `<` not starting a tag: text to escape.
_BARE = re.compile(r"&(?!#?\w{1,32};)|<(?![A-Za-z/!?])")
_PLACEHOLDER = re.compile(r"\x00(\d+)\x00")


def to_html(source: str) -> str:
    """Render Markdown (with embedded HTML) to HTML."""
    out: list[str] = []
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    index = 0
    while index < len(lines):
        index = _block(lines, index, out)
    return "\n".join(out)


def _block(lines: list[str], index: int, out: list[str]) -> int:
    """Render the block starting at `index`; return the index after it."""
    line = lines[index]
    stripped = line.strip()
    if not stripped:
        return index + 1
    if _FENCE.match(line):
        return _fenced(lines, index, out)
    heading = _HEADING.match(stripped)
    if heading:
        level = len(heading.group(1))
        out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        return index + 1
    if _RULE.match(line):
        out.append("<hr />")
        return index + 1
    end = _paragraph_end(lines, index)
    chunk = lines[index:end]
    if stripped.startswith("<"):
        out.append("\n".join(chunk))
    elif stripped.startswith(">"):
        inner = "\n".join(re.sub(r"^\s*>\s?", "", part) for part in chunk)
        out.append(f"<blockquote>\n{to_html(inner)}\n</blockquote>")
    elif _BULLET.match(line) or _ORDERED.match(line):
        out.append(_list(chunk))
    else:
        out.append(f"<p>{inline(' '.join(part.strip() for part in chunk))}</p>")
    return end


def _paragraph_end(lines: list[str], index: int) -> int:
    end = index + 1
    while end < len(lines) and lines[end].strip() and not _starts_block(lines[end]):
        end += 1
    return end


def _starts_block(line: str) -> bool:
    return bool(_HEADING.match(line.strip()) or _FENCE.match(line))


def _fenced(lines: list[str], index: int, out: list[str]) -> int:
    fence = lines[index].strip()[:3]
    end = index + 1
    while end < len(lines) and not lines[end].strip().startswith(fence):
        end += 1
    code = escape("\n".join(lines[index + 1 : end]), quote=False)
    out.append(f"<pre><code>{code}</code></pre>")
    return end + 1


def _list(chunk: list[str]) -> str:
    tag = "ol" if _ORDERED.match(chunk[0]) else "ul"
    items: list[str] = []
    for line in chunk:
        marker = _BULLET.match(line) or _ORDERED.match(line)
        if marker:
            items.append(marker.group(1).strip())
        elif items:
            items[-1] += " " + line.strip()  # a continuation line of the item above
    body = "".join(f"<li>{inline(item)}</li>" for item in items)
    return f"<{tag}>{body}</{tag}>"


def inline(text: str) -> str:
    """Render inline Markdown; code spans and inline HTML are kept as written."""
    saved: list[str] = []
    text = text.replace("\x00", "")  # the placeholder marker below

    def keep(html: str) -> str:
        saved.append(html)
        return f"\x00{len(saved) - 1}\x00"

    text = _CODE.sub(lambda m: keep(f"<code>{escape(m.group(1), quote=False)}</code>"), text)
    text = _IMAGE.sub(lambda m: keep(_img(m.group(2), m.group(1), m.group(3))), text)
    text = _LINK.sub(lambda m: keep(_anchor(m.group(2), m.group(1), m.group(3))), text)
    text = _AUTOLINK.sub(lambda m: keep(_anchor(m.group(1), escape(m.group(1)), None)), text)
    text = _BARE.sub(lambda m: "&amp;" if m.group(0) == "&" else "&lt;", text)
    text = _STRONG.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", text)
    text = _EM.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", text)
    return _PLACEHOLDER.sub(lambda m: saved[int(m.group(1))], text)


def _img(src: str, alt: str, title: str | None) -> str:
    extra = f' title="{escape(title)}"' if title else ""
    return f'<img src="{escape(src)}" alt="{escape(alt)}"{extra} />'


def _anchor(href: str, label: str, title: str | None) -> str:
    extra = f' title="{escape(title)}"' if title else ""
    return f'<a href="{escape(href)}"{extra}>{inline(label)}</a>'

"""Griffe extension: render the reST bits of gcl's docstrings as Markdown.

gcl's docstrings follow PyG's style: Google sections, with reST inline roles
(``:math:`x```, ``:class:`~gcl.nn.GCNEncoder```), ``.. math::`` blocks,
```Title <url>`_`` links and ``::`` literal blocks. mkdocstrings renders
docstrings as Markdown, so this extension rewrites those constructs before
the docstrings are parsed:

- ``.. math::`` + indented block  ->  ``$$ ... $$`` (pymdownx.arithmatex);
- ``:math:`x```                    ->  ``$x$``;
- ``:class:`~a.b.C```, ``:func:``, ``:meth:``, ``:obj:``, ``:data:``,
  ``:mod:``, ``:attr:``, ``:exc:``   ->  inline code (``C`` with ``~``);
- ```Title <url>`_``               ->  ``[Title](url)``;
- ``text::`` + indented block      ->  ``text:`` + a fenced code block.

Only the docs build uses it (``mkdocs.yml``: ``extensions``); the package's
source is not touched.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|obj|data|mod|attr|exc|const|ref):`([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_LINK = re.compile(r"`([^`<>]+?)\s*<((?:https?|ftp)://[^>\s]+)>`__?")
_MATH_DIRECTIVE = re.compile(r"^(\s*)\.\. math::\s*(.*)$")
_LITERAL = re.compile(r"^(\s*)(.*\S)::\s*$")


def _role(match: re.Match) -> str:
    text = match.group(1).strip()
    explicit = re.match(r"^(.*?)\s*<([^>]+)>$", text)  # :class:`title <target>`
    if explicit:
        text = explicit.group(1)
    elif text.startswith("~"):
        text = text[1:].rsplit(".", 1)[-1]
    elif text.startswith("!"):
        text = text[1:]
    return f"`{text}`"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _take_block(lines: list[str], start: int, base: int) -> tuple[list[str], int]:
    """Lines from ``start`` indented deeper than ``base`` (blank lines kept)."""
    end = start
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > base):
        end += 1
    while end > start and not lines[end - 1].strip():  # trailing blanks stay out
        end -= 1
    return lines[start:end], end


def _blocks(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    fenced = False
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append(line)
            i += 1
            continue
        if fenced:
            out.append(line)
            i += 1
            continue
        math = _MATH_DIRECTIVE.match(line)
        literal = None if math else _LITERAL.match(line)
        if math or literal:
            pad = (math or literal).group(1)
            block, end = _take_block(lines, i + 1, len(pad))
            body = textwrap.dedent("\n".join(block)).strip("\n")
            if math:
                first = math.group(2).strip()
                body = "\n".join(s for s in (first, body) if s)
                if out and out[-1].strip():
                    out.append("")
                out += [pad + "$$"] + [pad + s for s in body.split("\n")] + [pad + "$$"]
            elif body:
                head = literal.group(2)
                out.append(pad + (head + ":" if head.strip() != "" else ""))
                out += ["", pad + "```text"]
                out += [pad + s if s else "" for s in body.split("\n")]
                out.append(pad + "```")
            else:  # "text::" without a block: just drop one colon
                out.append(pad + literal.group(2) + ":")
            i = end
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def rst_to_markdown(text: str) -> str:
    """Converts the reST constructs used in gcl's docstrings to Markdown."""
    text = _blocks(text)
    text = _MATH_ROLE.sub(lambda m: f"${m.group(1).strip()}$", text)
    text = _ROLE.sub(_role, text)
    text = _LINK.sub(lambda m: f"[{' '.join(m.group(1).split())}]({m.group(2)})", text)
    return text


class RstToMarkdown(griffe.Extension):
    """Rewrites every docstring of the loaded package with :func:`rst_to_markdown`."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:  # noqa: D102
        if obj.is_alias or obj.docstring is None:
            return
        obj.docstring.value = rst_to_markdown(obj.docstring.value)

"""Telegram's text formatting (parse_mode) rules: HTML, MarkdownV2 and legacy Markdown.

Each parser turns a formatted string into ``(plain_text, entities)`` the way the Bot API does,
or raises :class:`EntityParseError` whose message is what Telegram puts after
``"Bad Request: can't parse entities: "``. Entity offsets and lengths are in UTF-16 code units,
as in the Bot API.
"""

from __future__ import annotations

import re

__all__ = ["EntityParseError", "parse_entities", "utf16_len"]


class EntityParseError(ValueError):
    pass


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _Builder:
    """Accumulates plain text and entities with UTF-16 offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0  # UTF-16 offset of the end of the text so far
        self.entities: list[dict] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos += utf16_len(text)

    def entity(self, start: int, etype: str, **extra) -> None:
        length = self.pos - start
        if length > 0:
            ent = {"type": etype, "offset": start, "length": length}
            ent.update({k: v for k, v in extra.items() if v is not None})
            self.entities.append(ent)

    def result(self) -> tuple[str, list[dict]]:
        ents = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), ents


# --------------------------------------------------------------------------------------- HTML

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")


def _decode_entity(text: str, i: int) -> tuple[str, int]:
    """Decode the HTML entity at text[i] == '&'; returns (char, new index)."""
    m = _ENTITY_RE.match(text, i)
    if not m:
        end = text.find(";", i)
        shown = text[i : end + 1] if 0 <= end - i <= 10 else "&"
        raise EntityParseError(
            f'Unsupported HTML entity "{shown}" at byte offset {_byte_offset(text, i)}: '
            'use &amp; for a literal "&"'
        )
    if m.group(1):
        return _NAMED_ENTITIES[m.group(1)], m.end()
    code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise EntityParseError(f"Invalid character entity at byte offset {_byte_offset(text, i)}")
    return chr(code), m.end()


def _parse_attributes(text: str, i: int, tag_start: int) -> tuple[dict[str, str], int]:
    """Parse attributes starting at i up to the closing '>'; returns (attrs, index after '>')."""
    attrs: dict[str, str] = {}
    n = len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(text, tag_start)}"
            )
        if text[i] == ">":
            return attrs, i + 1
        m = _NAME_RE.match(text, i)
        if not m:
            raise EntityParseError(
                "Empty attribute name in the tag starting at byte offset "
                f"{_byte_offset(text, tag_start)}"
            )
        name = m.group(0).lower()
        i = m.end()
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i < n and text[i] == "=":
            i += 1
            while i < n and text[i] in " \t\r\n":
                i += 1
            if i >= n:
                raise EntityParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, tag_start)}"
                )
            if text[i] in "\"'":
                quote = text[i]
                end = text.find(quote, i + 1)
                if end < 0:
                    raise EntityParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(text, tag_start)}"
                    )
                raw = text[i + 1 : end]
                i = end + 1
            else:
                m = re.compile(r"[^\s>]*").match(text, i)
                raw = m.group(0)
                i = m.end()
            value, j = [], 0
            while j < len(raw):
                if raw[j] == "&":
                    ch, j = _decode_entity(raw, j)
                    value.append(ch)
                else:
                    value.append(raw[j])
                    j += 1
            attrs[name] = "".join(value)
        else:
            attrs[name] = ""


def parse_html(text: str) -> tuple[str, list[dict]]:
    out = _Builder()
    stack: list[tuple[str, int, dict, int]] = []  # (tag, utf16 start, attrs, index)
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            decoded, i = _decode_entity(text, i)
            out.add(decoded)
            continue
        if ch != "<":
            j = i
            while j < n and text[j] not in "<&":
                j += 1
            out.add(text[i:j])
            i = j
            continue
        tag_start = i
        if i + 1 < n and text[i + 1] == "/":
            end = text.find(">", i)
            if end < 0:
                raise EntityParseError(
                    f"Unclosed end tag at byte offset {_byte_offset(text, tag_start)}"
                )
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise EntityParseError(
                    f'Unexpected end tag "{name}" at byte offset {_byte_offset(text, tag_start)}'
                )
            open_tag, start, attrs, _ = stack[-1]
            if name != open_tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, tag_start)}, "
                    f'expected "</{open_tag}>", found "</{name}>"'
                )
            stack.pop()
            _close_html_entity(out, open_tag, start, attrs, stack)
            i = end + 1
            continue
        m = _NAME_RE.match(text, i + 1)
        name = m.group(0).lower() if m else ""
        if name not in _HTML_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, tag_start)}'
            )
        attrs, i = _parse_attributes(text, m.end(), tag_start)
        off = _byte_offset(text, tag_start)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {off}')
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise EntityParseError(
                f"Custom emoji entity must contain a valid emoji-id at byte offset {off}"
            )
        if name == "blockquote" and any(t == "blockquote" for t, *_ in stack):
            raise EntityParseError(f"Blockquote entities can't be nested at byte offset {off}")
        if name in ("pre", "code") and any(t in ("pre", "code") for t, *_ in stack):
            if not (name == "code" and stack[-1][0] == "pre"):
                raise EntityParseError(f"Can't nest code/pre entities at byte offset {off}")
        stack.append((name, out.pos, attrs, tag_start))
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _close_html_entity(out: _Builder, tag: str, start: int, attrs: dict, stack: list) -> None:
    etype = _HTML_TAGS[tag]
    if tag == "a":
        href = attrs.get("href", "")
        if not href:
            return
        m = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if m:
            out.entity(
                start,
                "text_mention",
                user={"id": int(m.group(1)), "is_bot": False, "first_name": ""},
            )
        else:
            out.entity(start, "text_link", url=href)
        return
    if tag == "code" and stack and stack[-1][0] == "pre":
        lang = attrs.get("class", "")
        if lang.startswith("language-"):
            stack[-1][2].setdefault("_language", lang[len("language-") :])
        return  # the enclosing pre carries it
    if tag == "pre":
        out.entity(start, "pre", language=attrs.get("_language"))
        return
    if tag == "blockquote":
        out.entity(start, "expandable_blockquote" if "expandable" in attrs else "blockquote")
        return
    if tag == "tg-emoji":
        out.entity(start, "custom_emoji", custom_emoji_id=attrs.get("emoji-id"))
        return
    out.entity(start, etype)


# --------------------------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict]]:
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # (type, utf16 start, index in text)
    i, n = 0, len(text)
    quote_start: int | None = None  # utf16 start of the current blockquote
    quote_expandable = False
    line_start = True

    def reserved(idx: int) -> EntityParseError:
        return EntityParseError(
            f"Character '{text[idx]}' is reserved and must be escaped with the preceding '\\'"
        )

    def toggle(etype: str, idx: int) -> None:
        for pos, (t, _, _) in enumerate(stack):
            if t == etype:
                if pos != len(stack) - 1:
                    raise EntityParseError(
                        f"Can't find end of {_MDV2_NAMES[stack[-1][0]]} entity at byte offset "
                        f"{_byte_offset(text, stack[-1][2])}"
                    )
                _, start, _ = stack.pop()
                out.entity(start, etype)
                return
        stack.append((etype, out.pos, idx))

    while i < n:
        ch = text[i]
        if line_start:
            line_start = False
            if ch == ">" or text.startswith("**>", i):
                expandable = text.startswith("**>", i)
                if quote_start is None:
                    quote_start = out.pos
                    quote_expandable = False
                quote_expandable = quote_expandable or expandable
                i += 3 if expandable else 1
                continue
            if quote_start is not None:
                kind = "expandable_blockquote" if quote_expandable else "blockquote"
                out.entity(quote_start, kind)
                quote_start = None
        if ch == "\n":
            out.add(ch)
            i += 1
            line_start = True
            continue
        if ch == "\\":
            if i + 1 >= n or not 1 <= ord(text[i + 1]) <= 126:
                raise EntityParseError(
                    "Character '\\' is reserved and must be escaped with the preceding '\\'"
                )
            out.add(text[i + 1])
            i += 2
            continue
        if ch == "`":
            if text.startswith("```", i):
                end_line = text.find("\n", i + 3)
                close = text.find("```", i + 3)
                language = None
                body_start = i + 3
                if end_line >= 0 and (close < 0 or end_line < close):
                    language = text[i + 3 : end_line].strip() or None
                    body_start = end_line + 1
                start = out.pos
                j = body_start
                while True:
                    if j >= n:
                        raise EntityParseError(
                            f"Can't find end of Pre entity at byte offset {_byte_offset(text, i)}"
                        )
                    if text[j] == "\\" and j + 1 < n:
                        out.add(text[j + 1])
                        j += 2
                    elif text.startswith("```", j):
                        break
                    else:
                        out.add(text[j])
                        j += 1
                out.entity(start, "pre", language=language)
                i = j + 3
                continue
            start = out.pos
            j = i + 1
            while True:
                if j >= n:
                    raise EntityParseError(
                        f"Can't find end of Code entity at byte offset {_byte_offset(text, i)}"
                    )
                if text[j] == "\\" and j + 1 < n:
                    out.add(text[j + 1])
                    j += 2
                elif text[j] == "`":
                    break
                else:
                    out.add(text[j])
                    j += 1
            out.entity(start, "code")
            i = j + 1
            continue
        if ch == "_":
            if text.startswith("__", i):
                toggle("underline", i)
                i += 2
            else:
                toggle("italic", i)
                i += 1
            continue
        if ch == "*":
            toggle("bold", i)
            i += 1
            continue
        if ch == "~":
            toggle("strikethrough", i)
            i += 1
            continue
        if ch == "|":
            if not text.startswith("||", i):
                raise reserved(i)
            toggle("spoiler", i)
            i += 2
            continue
        if ch == "[" or (ch == "!" and text.startswith("![", i)):
            etype = "custom_emoji" if ch == "!" else "text_link"
            stack.append((etype, out.pos, i))
            i += 2 if ch == "!" else 1
            continue
        if ch == "]":
            if not stack or stack[-1][0] not in ("text_link", "custom_emoji"):
                raise reserved(i)
            etype, start, idx = stack.pop()
            if not text.startswith("(", i + 1):
                raise EntityParseError(
                    f"Can't find end of {_MDV2_NAMES[etype]} entity at byte offset "
                    f"{_byte_offset(text, idx)}"
                )
            j = i + 2
            url: list[str] = []
            while True:
                if j >= n:
                    raise EntityParseError(
                        f"Can't find end of a url at byte offset {_byte_offset(text, i + 1)}"
                    )
                if text[j] == "\\" and j + 1 < n:
                    url.append(text[j + 1])
                    j += 2
                elif text[j] == ")":
                    break
                else:
                    url.append(text[j])
                    j += 1
            target = "".join(url)
            if etype == "custom_emoji":
                m = re.fullmatch(r"tg://emoji\?id=(\d+)", target)
                if not m:
                    raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
                out.entity(start, "custom_emoji", custom_emoji_id=m.group(1))
            else:
                m = re.fullmatch(r"tg://user\?id=(\d+)", target)
                if m:
                    out.entity(
                        start,
                        "text_mention",
                        user={"id": int(m.group(1)), "is_bot": False, "first_name": ""},
                    )
                elif target:
                    out.entity(start, "text_link", url=target)
            i = j + 1
            continue
        if ch in _MDV2_RESERVED:
            raise reserved(i)
        j = i
        while j < n and text[j] not in _MDV2_RESERVED and text[j] not in "\\\n":
            j += 1
        out.add(text[i:j])
        i = j
    if quote_start is not None:
        out.entity(quote_start, "expandable_blockquote" if quote_expandable else "blockquote")
    if stack:
        etype, _, idx = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[etype]} entity at byte offset "
            f"{_byte_offset(text, idx)}"
        )
    return out.result()


# ---------------------------------------------------------------------------- legacy Markdown


def parse_markdown(text: str) -> tuple[str, list[dict]]:
    out = _Builder()
    i, n = 0, len(text)
    markers = {"*": "bold", "_": "italic", "`": "code"}
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "*_`[":
            out.add(text[i + 1])
            i += 2
            continue
        if text.startswith("```", i):
            close = text.find("```", i + 3)
            if close < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
                )
            body = text[i + 3 : close]
            language = None
            if "\n" in body:
                first, rest = body.split("\n", 1)
                if first.strip() and " " not in first.strip():
                    language, body = first.strip(), rest
            start = out.pos
            out.add(body)
            out.entity(start, "pre", language=language)
            i = close + 3
            continue
        if ch in markers:
            close = text.find(ch, i + 1)
            if close < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
                )
            start = out.pos
            out.add(text[i + 1 : close])
            out.entity(start, markers[ch])
            i = close + 1
            continue
        if ch == "[":
            m = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(text, i)
            if not m:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(text, i)}"
                )
            start = out.pos
            out.add(m.group(1))
            if m.group(2):
                out.entity(start, "text_link", url=m.group(2))
            i = m.end()
            continue
        out.add(ch)
        i += 1
    return out.result()


def parse_entities(text: str, parse_mode: str | None) -> tuple[str, list[dict]]:
    """Parse ``text`` under ``parse_mode`` (None = plain). Raises EntityParseError or ValueError
    (for an unknown parse mode)."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise ValueError(f"unsupported parse_mode {parse_mode!r}")

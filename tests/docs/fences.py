"""Fenced code blocks of the Markdown docs: which ones run, which are marked skipped.

A block's language is the first word of its info string. Python (``python``, ``py``)
and shell (``bash``, ``sh``, ``shell``) blocks are examples the tests run; a block that
cannot run where the tests do (it needs Docker, a cluster, or is a fragment of a
notebook) says so in its info string with a title starting ``skip``::

    ```bash title="skip: needs Docker"

MkDocs shows that title above the block, so a reader sees it was not run too. Blocks in
any other language (text, yaml, json, none) are not code examples and are not run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[2]
RUN_LANGUAGES = {"python": "python", "py": "python", "bash": "bash", "sh": "bash",
                 "shell": "bash"}
_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]*)"')


@dataclass
class Block:
    path: Path          # the Markdown file
    line: int           # 1-based line of the opening fence
    language: str       # "python", "bash", or the info string's first word
    code: str
    skip: Optional[str]  # the reason when marked skipped

    @property
    def runs(self) -> bool:
        return self.language in ("python", "bash") and self.skip is None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> List[Block]:
    out: List[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent, info = m.group("fence"), m.group("indent"), m.group("info").strip()
        body, j = [], i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence) and
                                      lines[j].strip().strip(fence[0]) == ""):
            line = lines[j]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            j += 1
        word = info.split()[0].lower() if info.split() else ""
        title = _TITLE.search(info)
        skip = None
        if title and title.group("title").lower().startswith("skip"):
            skip = title.group("title").split(":", 1)[-1].strip() or "marked skip"
        out.append(Block(path, i + 1, RUN_LANGUAGES.get(word, word), "\n".join(body) + "\n",
                         skip))
        i = j + 1
    return out


def doc_files() -> List[Path]:
    """README.md and every Markdown page under docs/ (the hooks' folder excluded)."""
    pages = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_hooks" not in p.parts)
    return [ROOT / "README.md"] + pages

"""``policykb help TOPIC``: the documentation, shipped inside the package.

Every Markdown file of the repository's ``docs/`` folder, and of ``docs/spec/`` (the
specification: ``items``, ``reading-rules``), is a topic named after it (``engine``,
``kb``, ``explain``, ``audit``, ``api`` …).  The wheel carries them as
``policykb/docs/*.md``, so an installed user without the repository reads the same
text; in a checkout they are read from ``docs/`` itself.  ``readings``, when no
document of that name exists, is built from the knowledge base (every reading with
its question, options and default).
"""

from __future__ import annotations

from pathlib import Path

from policykb.errors import InputError, suggest

_PACKAGE = Path(__file__).resolve().parent
BUILT_IN = {"readings": "every reading of the knowledge base: question, options, default (from the KB)"}


def docs_dir() -> Path | None:
    """The folder of the shipped docs: inside the installed package, or the checkout's docs/."""
    for candidate in (_PACKAGE / "docs", _PACKAGE.parent / "docs"):
        if candidate.is_dir() and any(candidate.glob("*.md")):
            return candidate
    return None


def _files() -> dict[str, Path]:
    folder = docs_dir()
    if folder is None:
        return {}
    found = {p.stem: p for p in sorted(folder.glob("spec/*.md"))}
    found.update({p.stem: p for p in sorted(folder.glob("*.md"))})
    return found


def topics() -> dict[str, str]:
    """Topic → a one-line description (the document's first heading)."""
    out: dict[str, str] = {}
    for name, path in _files().items():
        title = next((line.lstrip("# ").strip() for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")), name)
        out[name] = title
    for name, description in BUILT_IN.items():
        out.setdefault(name, description)
    return dict(sorted(out.items()))


def read_topic(topic: str) -> str | None:
    """The text of a documented topic, or None for a built-in one."""
    path = _files().get(topic)
    if path is not None:
        return path.read_text(encoding="utf-8")
    if topic in BUILT_IN:
        return None
    known = topics()
    raise InputError(f"no help topic '{topic}'{suggest(topic, known)}; topics: {', '.join(known)}")


def listing() -> str:
    known = topics()
    width = max(len(t) for t in known)
    lines = ["policykb help TOPIC — topics:"] + [f"  {t:{width}}  {d}" for t, d in known.items()]
    lines.append("Each command's own options: policykb COMMAND --help")
    return "\n".join(lines) + "\n"

"""Find any 8-character piece of a planted secret in a set of tagged output strings, fast.

``pieces`` cuts every secret into its 8-character windows (a shorter secret is its own piece);
``find`` joins the outputs once and looks each piece up in the joined text, then names the
output that holds it. Hypothesis runs thousands of cases, so this stays linear in the output.
"""

from __future__ import annotations

from collections.abc import Iterable

MIN_PIECE = 8


def pieces(secrets: Iterable[str], size: int = MIN_PIECE) -> dict[str, str]:
    """Each ``size``-character window of each secret -> the secret it came from.

    Windows that are all whitespace or all one character are left out (they carry nothing of the
    secret); secrets shorter than ``size`` are not pieces (an 8-character piece is the bar).
    """
    out: dict[str, str] = {}
    for secret in secrets:
        for i in range(0, len(secret) - size + 1):
            piece = secret[i:i + size]
            if piece.strip() and len(set(piece)) > 1:
                out.setdefault(piece, secret)
    return out


def find(outputs: Iterable[tuple[str, str]], secrets: Iterable[str], size: int = MIN_PIECE
         ) -> list[tuple[str, str, str]]:
    """``(where, piece, excerpt)`` for every output holding a ``size``-character piece of a
    secret (one per output)."""
    tagged = [(where, text) for where, text in outputs if text]
    joined = "\x00".join(text for _, text in tagged)
    hits = [p for p in pieces(secrets, size) if p in joined]
    if not hits:
        return []
    found: list[tuple[str, str, str]] = []
    for where, text in tagged:
        for piece in hits:
            if piece in text:
                at = text.index(piece)
                found.append((where, piece, text[max(0, at - 60):at + 80]))
                break
    return found


def report(found: list[tuple[str, str, str]]) -> str:
    """A readable list of leaks for an assertion message."""
    return "secret pieces leaked:\n" + "\n".join(
        f"  {where}: {piece!r} in ...{excerpt!r}..." for where, piece, excerpt in found)

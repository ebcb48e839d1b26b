"""The work one message may cost: fixed caps, counted as parse goes, each overrun a defect.

Responsible for keeping ``parse`` bounded in time by construction. The core may not read
a clock (it must give the same answer on every run), so the budget is counted in work,
not seconds: each costly step that repeats per part or per header (charset detection,
the reply splitter, HTML conversion) draws on a cap fixed here, and a step that would
overrun is skipped or cut, with one defect naming the cap, while the rest of the message
is delivered as usual. The caps are far above what real mail needs (the corpora never
reach one) and low enough that a hostile message costs well under a second of CPU on top
of the linear work of reading its bytes.

It may not decide anything about the mail itself; the modules that do the work ask it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Charset detection (charset-normalizer plus the plausibility scoring in text.py) costs
# ~1 ms a call plus ~5 ms per KiB of the text it scores (at most 8 KiB); real mail needs
# one or two. Each call is counted as 200 bytes plus that sample: the cap allows ~0.4 s
# of detection (8 full samples, or 300 short header words). Past it, 8-bit text that is
# not UTF-8 is read as its declared charset, else windows-1252.
MAX_DETECTION_BYTES = 64 * 1024
DETECTION_OVERHEAD = 200
DETECTION_SCORED = 8 * 1024
# The reply splitter reads lines with a dozen patterns each (~1 µs a byte); new text is at
# the top, so past this many characters the rest is not read for quotes and signature.
MAX_REPLY_CHARS = 256 * 1024
# Defect strings kept in the result; a hostile message can produce one per header.
MAX_DEFECTS = 200


@dataclass(slots=True)
class Budget:
    """What is left of one message's caps; ``spent`` lists the caps that ran out."""

    detection_bytes: int = MAX_DETECTION_BYTES
    spent: list[str] = field(default_factory=list)

    def detect(self, size: int) -> bool:
        """Take one charset detection of ``size`` bytes; False (one defect) once spent."""
        cost = DETECTION_OVERHEAD + min(size, DETECTION_SCORED)
        if self.detection_bytes >= cost:
            self.detection_bytes -= cost
            return True
        if self.detection_bytes >= 0:
            self.detection_bytes = -1
            self.spent.append(
                f"charset detection over its budget of {MAX_DETECTION_BYTES} bytes: "
                "the rest read without it"
            )
        return False


def cap_defects(defects: list[str], first: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The defects without repeats, at most ``MAX_DEFECTS`` of them and a count of the rest.

    ``first`` (the caps that ran out) come first, so the cut never hides them.
    """
    unique = list(dict.fromkeys([*first, *defects]))
    if len(unique) <= MAX_DEFECTS:
        return tuple(unique)
    rest = len(unique) - MAX_DEFECTS
    return (*unique[:MAX_DEFECTS], f"{rest} more defects not listed")

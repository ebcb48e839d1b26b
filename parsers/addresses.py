"""Address headers (From, To, Cc, Reply-To, Sender) to ``Address`` values.

Parsing only, never validation: nothing here looks an address up or judges whether it
can receive mail. Display names are RFC 2047 decoded after the list is split, so an
encoded comma in a name cannot split a mailbox in two.

flanker's addresslib is not used: it prints ply grammar warnings to stderr when its
parse tables are built and rejects many addresses real mail carries, so the stdlib
``email.utils.getaddresses`` (RFC 5322 §3.4 with obsolete syntax) does the splitting.
"""

from __future__ import annotations

from email.utils import getaddresses

from parsers.headers import decode_header_value, unfold
from parsers.model import Address


def parse_addresses(raw_values: list[bytes]) -> tuple[tuple[Address, ...], list[str]]:
    """Every mailbox of the given raw header values, in order; groups flattened."""
    defects: list[str] = []
    out: list[Address] = []
    for raw in raw_values:
        value = unfold(raw.decode("utf-8", "surrogateescape"))
        try:
            pairs = getaddresses([value])
        except Exception:  # the stdlib parser has raised on odd input before (gh-102988)
            pairs = []
            defects.append("unparseable address header")
        for name, address in pairs:
            if not address:
                continue
            name_text, name_defects = decode_header_value(name.encode("utf-8", "surrogateescape"))
            addr_text, addr_defects = decode_header_value(
                address.encode("utf-8", "surrogateescape")
            )
            defects.extend(name_defects + addr_defects)
            out.append(Address(name=name_text.strip(), address=addr_text.strip()))
    return tuple(out), defects

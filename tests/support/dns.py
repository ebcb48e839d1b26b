"""A real authoritative DNS server on 127.0.0.1 (UDP and TCP, port 0), for the auth tests.

Small on purpose: dnspython parses the zone file and the queries; the server answers from
the zone (A/AAAA/TXT/MX/PTR and CNAME), NXDOMAIN for names that do not exist, NOERROR
without answer for names that exist without that type (empty non-terminals too), the SOA
in the authority section of negative answers (RFC 2308), and sets TC when an answer does
not fit the client's UDP size, so large DKIM keys come over TCP as in the wild.

``shared()`` starts the suite's server once, on first use, with the test zone below
(keys generated at start; nothing is written to disk). Tests that need to stop a server
start their own ``DnsServer``.
"""

from __future__ import annotations

import atexit
import base64
import functools
import selectors
import socket
import struct
import threading
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ORIGIN = "test."


class DnsServer:
    def __init__(self, zone_text: str, origin: str = ORIGIN) -> None:
        self.origin = dns.name.from_text(origin)
        self.zone = dns.zone.from_text(zone_text, origin, relativize=False, check_origin=False)
        self.queries: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.udp, self.tcp = _bind_pair()
        self.port = int(self.udp.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="test-dns")
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def count(self, name: str | None = None) -> int:
        with self._lock:
            return sum(1 for q, _t in self.queries if name is None or q == name.lower())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.udp.close()
        self.tcp.close()

    # ------------------------------------------------------------ serving

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.udp, selectors.EVENT_READ)
        sel.register(self.tcp, selectors.EVENT_READ)
        while not self._stop.is_set():
            for key, _ in sel.select(timeout=0.1):
                if key.fileobj is self.udp:
                    self._udp_once()
                else:
                    conn, _ = self.tcp.accept()
                    threading.Thread(target=self._tcp_once, args=(conn,), daemon=True).start()
        sel.close()

    def _udp_once(self) -> None:
        try:
            wire, peer = self.udp.recvfrom(65535)
        except OSError:
            return
        query, reply = self._reply(wire)
        if reply is None or query is None:
            return
        limit = max(query.payload, 512) if query.edns >= 0 else 512
        try:
            out = reply.to_wire(max_size=limit)
        except dns.exception.TooBig:
            reply.answer.clear()
            reply.authority.clear()
            reply.flags |= dns.flags.TC
            out = reply.to_wire()
        self.udp.sendto(out, peer)

    def _tcp_once(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                while True:
                    head = _read(conn, 2)
                    if head is None:
                        return
                    wire = _read(conn, struct.unpack("!H", head)[0])
                    if wire is None:
                        return
                    _query, reply = self._reply(wire)
                    if reply is None:
                        return
                    out = reply.to_wire()
                    conn.sendall(struct.pack("!H", len(out)) + out)
            except OSError:
                return

    def _reply(self, wire: bytes) -> tuple[dns.message.Message | None, dns.message.Message | None]:
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # a test server: ignore what is not a DNS query
            return None, None
        reply = dns.message.make_response(query)
        reply.flags |= dns.flags.AA
        if not query.question:
            reply.set_rcode(dns.rcode.FORMERR)
            return query, reply
        question = query.question[0]
        with self._lock:
            self.queries.append(
                (
                    question.name.to_text().rstrip(".").lower(),
                    dns.rdatatype.to_text(question.rdtype),
                )
            )
        self._answer(reply, question.name, question.rdtype)
        return query, reply

    def _answer(
        self, reply: dns.message.Message, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> None:
        if not name.is_subdomain(self.origin):
            reply.set_rcode(dns.rcode.REFUSED)
            return
        for _hop in range(8):
            node = self.zone.get_node(name)
            if node is None:
                if not any(n.is_subdomain(name) for n in self.zone.nodes):
                    reply.set_rcode(dns.rcode.NXDOMAIN)
                self._soa(reply)
                return
            rdataset = node.get_rdataset(dns.rdataclass.IN, rdtype)
            if rdataset is not None:
                reply.answer.append(dns.rrset.from_rdata_list(name, rdataset.ttl, list(rdataset)))
                return
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                self._soa(reply)
                return
            reply.answer.append(dns.rrset.from_rdata_list(name, cname.ttl, list(cname)))
            name = cname[0].target

    def _soa(self, reply: dns.message.Message) -> None:
        soa = self.zone.get_rdataset(self.origin, dns.rdatatype.SOA)
        if soa is not None:
            reply.authority.append(dns.rrset.from_rdata_list(self.origin, soa.ttl, list(soa)))


def _bind_pair(tries: int = 20) -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on one free port of 127.0.0.1 (port 0 picks UDP's; TCP's
    twin may be taken by someone else's connection, then try another port)."""
    for _ in range(tries):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            udp.bind(("127.0.0.1", 0))
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp.bind(("127.0.0.1", udp.getsockname()[1]))
            tcp.listen(16)
        except OSError:
            udp.close()
            tcp.close()
            continue
        return udp, tcp
    raise OSError("no free port pair for the test DNS server")


def _read(conn: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


# ---------------------------------------------------------------- keys and the test zone


@dataclass(frozen=True)
class Key:
    private_pem: bytes  # what dkimpy signs with
    public_b64: str  # the p= of the DNS record

    def record(self) -> str:
        """The DKIM key record as zone-file TXT data."""
        return txt(f"v=DKIM1; k=rsa; p={self.public_b64}")


def txt(text: str) -> str:
    """Zone-file TXT data: split into strings of at most 255 bytes (RFC 1035 §3.3)."""
    return " ".join(f'"{text[i : i + 250]}"' for i in range(0, len(text), 250))


def new_key(bits: int = 1024) -> Key:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Key(private_pem=pem, public_b64=base64.b64encode(der).decode("ascii"))


@functools.cache
def keys() -> dict[str, Key]:
    """The suite's signing keys: "main" is published, "other" only under a wrong selector."""
    return {"main": new_key(), "other": new_key(), "big": new_key(2048)}


# Client addresses the tests send from (all on loopback: Linux routes 127.0.0.0/8 to lo).
GOOD_IP = "127.0.0.2"  # inside the SPF of the test domains
BAD_IP = "127.0.0.3"  # outside every SPF


def test_zone() -> str:
    k = keys()
    main, other, big = k["main"].record(), k["other"].record(), k["big"].record()
    includes = " ".join(f"include:inc{i}.many.test" for i in range(1, 12))
    voids = "a:gone1.void.test a:gone2.void.test a:gone3.void.test"
    many = "\n".join(f'inc{i}.many IN TXT "v=spf1 ip4:192.0.2.{i} -all"' for i in range(1, 12))
    return f"""
$TTL 300
@               IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@               IN NS  ns.test.
ns              IN A   127.0.0.1

; SPF
spf-pass        IN TXT "v=spf1 ip4:{GOOD_IP} -all"
spf-fail        IN TXT "v=spf1 ip4:192.0.2.1 -all"
spf-soft        IN TXT "v=spf1 ip4:192.0.2.1 ~all"
spf-neutral     IN TXT "v=spf1 ?all"
spf-broken      IN TXT "v=spf1 ip4:300.1.2.3 -all"
spf-two         IN TXT "v=spf1 -all"
spf-two         IN TXT "v=spf1 +all"
chain           IN TXT "v=spf1 include:hop1.chain.test -all"
hop1.chain      IN TXT "v=spf1 include:hop2.chain.test -all"
hop2.chain      IN TXT "v=spf1 a:host.chain.test -all"
host.chain      IN A   {GOOD_IP}
mx              IN TXT "v=spf1 mx -all"
mx              IN MX  10 mail.mx.test.
mail.mx         IN A   {GOOD_IP}
many            IN TXT {txt(f"v=spf1 {includes} ip4:{GOOD_IP} -all")}
{many}
void            IN TXT {txt(f"v=spf1 {voids} ip4:{GOOD_IP} -all")}
split           IN TXT "v=spf1 ip4:192.0.2.1 " "ip4:{GOOD_IP} -all"

; DMARC, with SPF and DKIM keys for each domain
reject          IN TXT "v=spf1 ip4:{GOOD_IP} -all"
_dmarc.reject   IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@reject.test"
sel._domainkey.reject       IN TXT {main}
wrong._domainkey.reject     IN TXT {other}
big._domainkey.reject       IN TXT {big}
quarantine      IN TXT "v=spf1 ip4:{GOOD_IP} -all"
_dmarc.quarantine IN TXT "v=DMARC1; p=quarantine"
none            IN TXT "v=spf1 ip4:{GOOD_IP} -all"
_dmarc.none     IN TXT "v=DMARC1; p=none"
sel._domainkey.none IN TXT {main}
parent          IN TXT "v=spf1 ip4:{GOOD_IP} -all"
_dmarc.parent   IN TXT "v=DMARC1; p=reject; sp=quarantine"
sel._domainkey.parent IN TXT {main}
child.parent    IN TXT "v=spf1 ip4:{GOOD_IP} -all"
strict          IN TXT "v=spf1 ip4:{GOOD_IP} -all"
_dmarc.strict   IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
sel._domainkey.strict IN TXT {main}
mail.strict     IN TXT "v=spf1 ip4:{GOOD_IP} -all"
relaxed         IN TXT "v=spf1 ip4:{GOOD_IP} -all"
_dmarc.relaxed  IN TXT "v=DMARC1; p=reject"
sel._domainkey.relaxed IN TXT {main}
bounce.relaxed  IN TXT "v=spf1 ip4:{GOOD_IP} -all"
nopolicy        IN TXT "v=spf1 ip4:{GOOD_IP} -all"
sel._domainkey.nopolicy IN TXT {main}
evil            IN TXT "v=spf1 ip4:{BAD_IP} -all"
sel._domainkey.evil IN TXT {main}

; ARC: a mailing list that re-signs what it forwards
list            IN TXT "v=spf1 ip4:{GOOD_IP} -all"
arc._domainkey.list IN TXT {main}
sel._domainkey.list IN TXT {main}
"""


_SHARED: list[DnsServer] = []
_SHARED_LOCK = threading.Lock()


def shared() -> DnsServer:
    """The suite's DNS server with ``test_zone()``, started on first use."""
    with _SHARED_LOCK:
        if not _SHARED:
            server = DnsServer(test_zone())
            atexit.register(server.stop)
            _SHARED.append(server)
        return _SHARED[0]

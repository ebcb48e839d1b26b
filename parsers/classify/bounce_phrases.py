"""The words that name each bounce reason: an ordered table of phrases, nothing else.

Responsible for: the data ``bounce_reasons.reason_from_text`` reads, kept apart so the
table can grow (and be reviewed) without the logic around it. Phrases are regular
expressions matched case-insensitively; " ?" is an optional space and " " any run of
whitespace, because MTAs re-wrap diagnostics. Sources: RFC 3463 and the wording of the
MTAs and providers themselves (Postfix, Sendmail, Exim, qmail, Exchange/Office 365, Gmail,
Yahoo, mail.ru, the Japanese carriers, …). It may hold no code. Pure: no I/O.
"""

from __future__ import annotations

# Ordered: more specific reasons first ("mailbox full" before "mailbox"; "user unknown"
# before the generic "rejected"). Phrases are regular expressions matched case-insensitively
# against the diagnostic; whitespace in a phrase matches any run of whitespace.
TEXT_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "mailboxfull",
        (
            r"mailbox (is )?full",
            r"mail ?box.{0,20}(over|exceeded|full|quota)",
            r"full mailbox",
            r"over ?quota",
            r"quota (exceeded|full)",
            r"exceeded (his|her|their|the)? ?(storage|quota)",
            r"(user|recipient|mailbox).{0,20}quota",
            r"insufficient (user )?(storage|disk space) for",
            r"not enough storage",
            r"storage (allocation|space) exceeded",
            r"mailbox size limit",
            r"too much mail data",
            r"mail ?folder is full",
            r"почтовый ящик (переполнен|заполнен)",
            r"buzón .{0,30}(lleno|excedido)",  # es: "el buzón del destinatario está lleno"
            r"casella (di posta )?(è )?piena",  # it: "casella di posta piena"
            r"postfach .{0,30}\bvoll\b",  # de: "Postfach (des Empfängers ist) voll"
            r"boîte aux lettres (est )?pleine",  # fr
            r"容量(を超え|オーバー)",  # ja: "メールボックスの容量を超えています"
            r"ящик .{0,20}(переполнен|заполнен)",  # ru: "ящик (получателя) переполнен"
        ),
    ),
    (
        "exceedlimit",
        (
            r"exceeds? (the )?(recipient'?s? )?mailbox size limit",
            r"message length exceeds administrative limit",
        ),
    ),
    (
        "toobig",
        (
            r"message (is )?too (big|large)",
            r"(message )?size (of the message )?exceeds",
            r"exceeds the maximum (allowed )?(message )?size",
            r"message size limit",
        ),
    ),
    (
        "hasmoved",
        (r"has been moved", r"address has changed", r"mailbox has moved", r"user has moved"),
    ),
    (
        "suspend",
        (
            r"(account|mailbox|user|address) (has been |is )?"
            r"(disabled|suspended|deactivated|inactive|frozen|locked)",
            r"(suspended|disabled|inactive|deactivated) (account|mailbox|user)",
            r"account (is )?(temporarily )?(unavailable|closed|expired)",
            r"no longer (in use|active|used)",
            r"is not active",
            r"mailbox unavailable for this recipient",
        ),
    ),
    (
        "norelaying",
        (
            r"relay(ing)? (access )?(denied|not permitted|not allowed|prohibited)",
            r"not permitted to relay",
            r"unable to relay",
            r"relay not permitted",
            r"we do not relay",
            r"no relaying",
            r"not local host",
        ),
    ),
    (
        "authfailure",
        (
            r"\bdmarc\b",
            r"\bspf\b.{0,40}(fail|check|record|reject|not pass)",
            r"(fail|failed|not pass).{0,30}\bspf\b",
            r"\bdkim\b.{0,30}(fail|invalid|reject)",
            r"sender authentication",
            r"authentication (check )?fail",
            r"unauthenticated email",
        ),
    ),
    (
        "requireptr",
        (
            r"\bptr\b",
            r"reverse (dns|lookup|mapping)",
            r"rdns",
            r"(cannot|can't|unable to) (find|resolve) your hostname",
            r"reverse hostname",
            r"no host ?name for",
            r"ip name lookup failed",
            r"client host .{0,40} (does not|doesn't) (have|resolve)",
        ),
    ),
    # KDDI (au / ezweb) answers a recipient's sender filter with an empty address,
    # "550 : User unknown"; a missing mailbox there reads "550 <addr>: User unknown".
    ("filtered", (r"\b[45]\d\d : user unknown",)),
    # Exim's answer to a failed sender verification ("550-Verification failed for <s>",
    # "550-Unrouteable address", "550 Sender verify failed"): about our sender, before the
    # address words of its middle line are read as the recipient's.
    ("rejected", (r"verification failed for <", r"sender verify failed")),
    # "<host> ESMTP not accepting messages from <client>": a refusal of the sending host
    # (mostly a DNSBL hit), not X.3.2 (the system takes no mail at all).
    ("blocked", (r"not accepting (network )?messages from",)),
    # X.3.2 in words; before "userunknown", whose "recipient address rejected" it often follows.
    ("notaccept", (r"not accepting (network )?messages",)),
    (
        "mailererror",
        (
            r"procmail",
            r"maildrop",
            r"mail\.local",
            r"command died with status",
            r"unknown mailer error",
            r"(couldn'?t|could not|cannot) create .{0,40}/(var/)?(spool|mail)",
        ),
    ),
    (
        "userunknown",
        (
            r"user ?(unknown|not found|not exist|doesn'?t exist|does not exist|not known)",
            r"unknown (user|recipient|mailbox|local.?part|address)",
            r"no such (user|recipient|mailbox|person|address|account)",
            # Local delivery agents name the mailbox: "user zoe does not exist",
            # "mailbox <zoe@x> does not exist".
            r"(user|mailbox|recipient) [<\"']?[\w.+\-]+(@[\w.\-]+)?[>\"']? "
            r"(does not|doesn'?t) exist",
            r"(recipient|mailbox|address|account|user) (does not|doesn'?t|did not) exist",
            r"(mailbox|recipient|address|user|account) (is )?"
            r"(unknown|not found|unavailable|invalid)",
            r"invalid (recipient|mailbox|address|user)",
            r"(recipient|mailbox) (address )?(not found|not valid|unknown)",
            r"(recipient|address) rejected: (user unknown|undeliverable|not found|access denied)",
            # Exchange / Office 365: "RESOLVER.ADR.RecipNotFound", "…RecipientNotFound;
            # Recipient a@b not found by SMTP address lookup".
            r"recip(ient)? ?not ?found",
            r"recipient \S+@\S+ not found",
            r"not listed in (domino directory|public name & address book)",
            r"(couldn't|could not|cannot|can't) be found",
            r"not a valid (mailbox|user|recipient)",
            r"no mailbox (here )?by that name",
            r"(mailbox|address) not available",
            r"user (is )?not (a )?(local|valid)",
            r"this user doesn'?t have a .{1,40} account",
            r"is not a known user",
            r"no account by that name",
            r"unknown or illegal alias",
            r"recipient (is )?not (found|exist|local)",
            r"address (does not|doesn't) exist",
            r"not our customer",
            r"(bad|invalid) destination mailbox",
            r"550 #5\.1\.0 address rejected",
            r"destination address (was )?rejected",
            r"invalid .{0,20}userid",
            r"no valid recipients",
            r"not our user",
            r"не существует",
            r"(メールアドレス|アドレス|宛先).{0,6}(存在しません|存在しない|見つかりません)",  # ja
            r"utente (sconosciuto|inesistente)",  # it
            r"пользовател\w* не найден",  # ru: "user not found"
            r"(benutzer|empfänger) (ist )?unbekannt",  # de: "user / recipient unknown"
            r"(adresse|utilisateur|destinataire) inconnue?",  # fr: "unknown address / user"
            r"нет такого",
        ),
    ),
    (
        "notaccept",
        (
            r"does not accept (e-?)?mail",
            r"null mx",
            r"accepts no mail",
            r"not accepting mail",
            r"(couldn'?t|could not|cannot|unable to) find (a|any) mail exchanger",
            r"no mx (record )?found",
        ),
    ),
    # Postfix's resolver said TRY_AGAIN: a transient DNS failure, not a missing domain.
    ("networkerror", (r"host not found, try again",)),
    (
        "hostunknown",
        (
            r"host ?(unknown|not found)",
            r"unknown host",
            r"(domain|host) ?name (lookup )?(failure|not found)",
            r"(domain|host) (does not|doesn'?t) exist",
            r"no (such|valid) (domain|host)",
            r"name or service not known",
            r"unrouteable (mail domain|address)",
            r"domain (is )?(not found|unknown|invalid)",
            r"no mx (record|host)",
            r"mx records? points? to non-?existent hosts?",  # Exim
            r"\bnxdomain\b",
            r"dns error",
            r"unable to resolve",
            r"recipient domain .{0,30} (not found|does not exist)",
            r"domain not exist",
            r"dns lookup failure",
            r"host [\w.\-]+ not found",
            r"(couldn'?t|could not|cannot) find any host",
            r"account or domain may not exist",
            r"domain (is )?not reachable",
            r"name service error for name=\S+ type=mx",
            r"(^|[245]\d\d\s+)[a-z0-9][\w\-]*(\.[\w\-]+)*\.[a-z]{2,}\s+does not exist",
        ),
    ),
    # A DNSBL hit ("Client host [IP] blocked using <list>") before the reputation words
    # the list's name may carry ("Barracuda Reputation").
    ("blocked", (r"blocked using",)),
    (
        "virusdetected",
        (r"\bvirus", r"malware", r"infected", r"contains an? (unsafe|dangerous) attachment"),
    ),
    (
        "spamdetected",
        (
            r"\bspam\b",
            r"\bspam(my|ming|\s?score|\s?detected|\s?content)",
            r"junk mail",
            r"unsolicited",
            r"message content rejected",
            r"content (was )?rejected",
            r"bulk (e-?mail|mail)",
            r"looks like spam",
            r"classified as spam",
        ),
    ),
    (
        "badreputation",
        (r"reputation", r"low sender score", r"sender score"),
    ),
    (
        "blocked",
        (
            r"\bblock(ed|list|listed)?\b",
            r"black ?list",
            r"\brbl\b",
            r"dnsbl",
            r"spamhaus",
            r"spamcop",
            r"client host .{0,60}rejected",
            r"(ip|host|address) .{0,40}(is )?(not allowed|denied|banned|refused)",
            r"access denied",
            r"connection (refused|rejected) .{0,30}(policy|ip)",
            r"(your|the sending) ip",
            r"sender ip",
        ),
    ),
    (
        "filtered",
        (
            r"filtered",
            r"content filter",
            r"refused by (the )?(recipient|filter)",
            r"rejected by (the )?recipient",
            r"recipient (has )?(blocked|refused)",
            r"mail (is )?not accepted from",
            r"does not accept mail from",
            r"message (has been |was )?refused",
            r"recipient preferences",
        ),
    ),
    (
        "ratelimited",
        (
            r"too many (connections|messages|recipients|emails|concurrent)",
            r"rate limit",
            r"rate.?limited",
            r"throttl",
            r"sending (rate|quota)",
            r"exceeded .{0,30}(limit|threshold)",
        ),
    ),
    (
        "securityerror",
        (
            r"\btls\b",
            r"starttls",
            r"encryption required",
            r"must issue a starttls",
            r"authentication required",
            r"certificate",
        ),
    ),
    (
        "rejected",
        (
            r"sender (address )?(rejected|denied|refused|blocked|verify failed)",
            r"(from|sender|envelope) address .{0,20}(rejected|refused|invalid)",
            r"domain of sender",
            r"sender domain",
            r"(invalid|bad|unknown) sender",
            r"sender (is )?not (allowed|permitted|authorized)",
            r"you are not allowed",
            r"not authorized to (send|post)",
            r"permission to post",
            r"may not exist, or you may not have permission",
            r"please use the smtp server of your isp",
        ),
    ),
    (
        "policyviolation",
        (r"policy", r"violat", r"prohibited", r"not allowed", r"not permitted"),
    ),
    (
        "notcompliantrfc",
        (
            r"rfc ?(2)?822",
            r"rfc ?5322",
            r"not (rfc|standard) compliant",
            r"malformed",
            r"duplicate header",
        ),
    ),
    (
        "syntaxerror",
        (r"syntax error", r"command unrecognized", r"unrecognized command", r"bad sequence"),
    ),
    (
        "systemfull",
        (r"(disk|file ?system|system|spool) (is )?full", r"insufficient system storage"),
    ),
    (
        "expired",
        (
            r"retry (timeout|time) (exceeded|expired|not reached)",
            r"(message|delivery) (time )?(expired|timed out)",
            r"could not be delivered (within|for)",
            r"(too long|too many retries) in (the )?queue",
            r"have been unable to deliver",
            r"been delayed",
            r"delivery attempts will continue",
            r"giving up",
            r"unable to deliver .{0,40} (days|hours)",
            r"was not delivered within",
            r"time-?out",
            r"timed out",
            r"expired",
        ),
    ),
    (
        "networkerror",
        (
            r"connection (refused|reset|timed out|closed|lost)",
            r"could not connect",
            r"(couldn't|cannot|can't|unable to) connect",
            r"network (is )?unreachable",
            r"no route to host",
            r"host (is )?unreachable",
            r"too many hops",
            r"mail loop",
            r"routing loop",
            r"loops back to myself",
            r"lost connection",
            r"temporary (dns|lookup) failure",
            r"did not accept our requests to connect",
            r"socket error",
        ),
    ),
    (
        "mailererror",
        (r"(mailer|delivery program|pipe to) .{0,20}(error|failed)", r"command died", r"exit code"),
    ),
    (
        "systemerror",
        (
            r"system error",
            r"internal (server )?error",
            r"configuration error",
            r"temporar(il)?y (failure|unavailable|error)",
            r"service (is )?(currently |temporarily )?(not |un)available",
            r"local error",
            r"resources",
            r"try again later",
        ),
    ),
)


# Last resort: Postfix's bare "Recipient address rejected" (no reason after the colon)
# means the address; with a reason ("…: Spam detected") the rules above win.
FALLBACK_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("userunknown", (r"recipient address rejected",)),
)

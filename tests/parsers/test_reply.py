"""reply.py: what counts as quote, attribution and signature, and what never does."""

from __future__ import annotations

import time

import pytest

from parsers.reply import split_html, split_reply


@pytest.mark.parametrize(
    "attribution",
    [
        "On Mon, Nov 23, 2026 at 10:00 AM Ann <ann@example.com> wrote:",
        "Am 23.11.2026 um 10:00 schrieb Ann <ann@example.com>:",
        "Le 23 nov. 2026 à 10:00, Ann <ann@example.com> a écrit :",
        "El 23 nov 2026, a las 10:00, Ann escribió:",
        "Il giorno 23 nov 2026, alle ore 10:00, Ann ha scritto:",
        "Op 23 nov. 2026 om 10:00 schreef Ann <ann@example.com>:",
        "Den 23 nov. 2026 kl. 10:00 skrev Ann <ann@example.com>:",
        "W dniu 23.11.2026 o 10:00, Ann pisze:",
        "23.11.2026 10:00, Ann <ann@example.com>:",
        "2026年11月23日(月) 10:00 Ann <ann@example.com>:",
        "Ann <ann@example.com> 于2026年11月23日周一 10:00写道：",
    ],
)
def test_attribution_above_a_quote_is_removed(attribution: str) -> None:
    stripped, signature = split_reply(f"Fine.\n\n{attribution}\n> question\n> more\n")
    assert stripped == "Fine."
    assert signature is None


def test_attribution_without_quote_marks_ends_the_reply() -> None:
    text = "Fine.\n\nOn Mon, Nov 23, 2026 at 10:00 AM Ann <ann@example.com> wrote:\n\nquestion\n"
    assert split_reply(text) == ("Fine.", None)


def test_prose_ending_in_a_colon_is_kept() -> None:
    text = "On the server run:\n\n    make\n\nOn Monday we talk:\nabout it.\n"
    assert split_reply(text)[0] == text.strip()


def test_bottom_posting_and_inline_answers_are_kept() -> None:
    text = "Ann wrote:\n> one?\nYes.\n> two?\nNo.\n"
    assert split_reply(text)[0] == "Yes.\nNo."


def test_signature_dash_dash_space() -> None:
    assert split_reply("Text.\n\n-- \nBob\nACME\n") == ("Text.", "Bob\nACME")


def test_dash_dash_far_from_the_end_is_not_a_signature() -> None:
    lines = "\n".join(f"line {i}" for i in range(30))
    text = f"intro\n--\n{lines}\n"
    assert split_reply(text) == (text.strip(), None)


def test_mobile_signatures() -> None:
    assert split_reply("Ok\n\nSent from my iPhone\n") == ("Ok", "Sent from my iPhone")
    assert split_reply("Ok\n\nEnvoyé de mon iPhone\n") == ("Ok", "Envoyé de mon iPhone")
    assert split_reply("Ok\n\nGet Outlook for Android\n") == ("Ok", "Get Outlook for Android")
    prose = "Ok\n\nSent from my desk, which beats my phone.\n"
    assert split_reply(prose) == (prose.strip(), None)


def test_outlook_header_block_in_other_languages() -> None:
    for block in (
        "Von: Ann\nGesendet: Montag\nAn: Bob\nBetreff: Plan",
        "De : Ann\nEnvoyé : lundi\nÀ : Bob\nObjet : Plan",
        "Da: Ann\nInviato: lunedì\nA: Bob\nOggetto: Plan",
        "Van: Ann\nVerzonden: maandag\nAan: Bob\nOnderwerp: Plan",
        "Od: Ann\nWysłano: poniedziałek\nDo: Bob\nTemat: Plan",
        "От: Ann\nОтправлено: понедельник\nКому: Bob\nТема: Plan",
        "差出人: Ann\n送信日時: 2026年11月23日\n宛先: Bob\n件名: Plan",
    ):
        assert split_reply(f"Fine.\n\n{block}\n\nOriginal.\n")[0] == "Fine.", block


def test_one_header_like_line_is_not_a_block() -> None:
    text = "To: whom it may concern\n\nPlease delete my data.\n"
    assert split_reply(text)[0] == text.strip()


def test_html_quote_containers() -> None:
    text, stripped, signature = split_html(
        '<div>New words</div><div class="gmail_quote">On Mon Ann wrote:'
        "<blockquote>old words</blockquote></div>"
    )
    assert stripped == "New words"
    assert "old words" in text  # the full text keeps everything
    assert signature is None


def test_html_without_quote() -> None:
    text, stripped, _ = split_html("<p>Just this.</p>")
    assert text == "Just this.\n"
    assert stripped == "Just this."


def test_pathological_input_is_fast() -> None:
    text = ("> " + "x" * 10_000 + "\n") * 200 + ("On " + "a " * 50_000 + "\n") * 20
    text += "- - " * 100_000 + "\n" + "From: " * 10_000 + "\n"
    start = time.perf_counter()
    split_reply(text)
    assert time.perf_counter() - start < 3


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "----- Ursprüngliche Mail -----",
        "-------- Message d'origine --------",
        "---------- Forwarded message ---------",
        "Begin forwarded message:",
        "________________________________",
    ],
)
def test_separators_end_the_reply(separator: str) -> None:
    assert split_reply(f"Ok.\n\n{separator}\nold text\n") == ("Ok.", None)


def test_mobile_signature_with_full_stop() -> None:
    text = "Ja\n\nVon meinem Samsung Galaxy Smartphone gesendet.\n"
    assert split_reply(text) == ("Ja", "Von meinem Samsung Galaxy Smartphone gesendet.")


@pytest.mark.parametrize(
    "attribution",
    [
        # Address first, wrapped before the verb (Gmail tr, de Android).
        "Ann <ann@example.com>, 23 Kas 2026 Pzt, 10:00 tarihinde şunu\nyazdı:",
        "Ann Example <ann@example.com> schrieb am Mo., 23. Nov. 2026,\n10:00:",
        # Verbs of Apple Mail nl, Yahoo de, Gmail ca/id/vi.
        "Op 23 nov. 2026 om 10:00 heeft Ann <ann@example.com> het volgende geschreven:",
        "Am Montag, 23. November 2026, 10:00:00 MEZ hat Ann Folgendes geschrieben:",
        "El dl., 23 de nov. 2026 a les 10:00, Ann (<ann@example.com>)\nva escriure:",
        "Pada tanggal Sen, 23 Nov 2026 pukul 10.00 Ann <ann@example.com>\nmenulis:",
        "Vào Th 2, 23 thg 11, 2026 vào lúc 10:00 Ann <ann@example.com>\nđã viết:",
    ],
)
def test_more_attributions_end_the_reply(attribution: str) -> None:
    assert split_reply(f"Fine.\n\n{attribution}\n\n> question\n")[0] == "Fine."
    assert split_reply(f"Fine.\n\n{attribution}\n\nquestion\n")[0] == "Fine."


@pytest.mark.parametrize(
    "line",
    [
        "your colleague wrote in the ticket:",
        "John wrote to me on 12 May:",
        "our customer Peter <peter@example.com> wrote to us yesterday:",
    ],
)
def test_wrote_in_prose_is_not_an_attribution(line: str) -> None:
    text = f'Hi,\n\n{line}\n"we refund you".\n\nWhen?\n'
    assert split_reply(text)[0] == text.strip()


@pytest.mark.parametrize(
    "block",
    [
        "De la: Ann\nTrimis: luni, 23 noiembrie 2026 10:00\nCătre: Bob\nSubiect: Plan",
        "Від: Ann\nНадіслано: 23 листопада 2026 р. 10:00\nКому: Bob\nТема: План",
        "Lähettäjä: Ann\nLähetetty: maanantai 23. marraskuuta 2026\nVastaanottaja: Bob",
        "From:\tAnn <ann@example.com>\nTo:\tBob\nDate:\t23.11.2026 10:00",
    ],
)
def test_header_blocks_of_more_clients(block: str) -> None:
    assert split_reply(f"Fine.\n\n{block}\n\nOriginal.\n")[0] == "Fine."


def test_from_to_date_in_prose_is_not_a_header_block() -> None:
    text = "Please book:\n\nFrom: Berlin Hbf\nTo: München Hbf\nDate: 2 December\n\nBob\n"
    assert split_reply(text)[0] == text.strip()


@pytest.mark.parametrize(
    "separator",
    [
        "-----Oryginalna wiadomość-----",
        "-----Ursprungligt meddelande-----",
        "----- Forwarded by Bob Example/ACME on 23.11.2026 11:00 -----",
    ],
)
def test_more_separators_end_the_reply(separator: str) -> None:
    assert split_reply(f"Ok.\n\n{separator}\nold text\n") == ("Ok.", None)


@pytest.mark.parametrize(
    "signature",
    [
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Get Outlook for Android (https://aka.ms/ghei36)",
        "Verstuurd vanaf mijn iPhone",
        "Envoyé depuis mon appareil Galaxy",
        "Inviato dal mio dispositivo Huawei",
        "Sent with Proton Mail secure email.",
        "Sent from my BlackBerry® wireless device",
        "Gesendet mit der WEB.DE iPhone App",
        "Diese Nachricht wurde von meinem Android Mobiltelefon mit GMX Mail gesendet.",
        "iPhone'umdan gönderildi",
    ],
)
def test_more_mobile_signatures(signature: str) -> None:
    assert split_reply(f"Ok\n\n{signature}\n") == ("Ok", signature)


def test_html_bottom_posted_answer_below_the_quote() -> None:
    _, stripped, _ = split_html(
        '<div><blockquote type="cite"><div>On Mon, Ann &lt;ann@example.com&gt; wrote:</div>'
        "<div>Are you in?</div></blockquote></div><div>Yes, count me in.</div>"
    )
    assert stripped == "Yes, count me in."


def test_help_desk_reply_marker_ends_the_reply() -> None:
    text = "Fixed, thanks.\n\n##- Please type your reply above this line -##\n\nTicket #1\n"
    assert split_reply(text)[0] == "Fixed, thanks."


def test_lotus_notes_layout_header() -> None:
    header = "Ann <ann@example.com>\n11/23/2026 10:00 AM\n\nTo\nBob/ACME@ACME\ncc\n\nSubject\nPlan"
    assert split_reply(f"OK.\n\n\n{header}\n\nOriginal.\n")[0] == "OK."
    prose = "Routes:\n\nFrom\nBerlin\n\nTo\nMunich\n\nSubject\nto change\n"
    assert split_reply(prose)[0] == prose.strip()

"""Ordinary sentences that talk about data, deletion, lists or laws without asking anything.

Each is a plain message for person.detect; the issue's three traps are among them.
"""

from __future__ import annotations

import pytest

from tests.parsers.classify.test_lexicon import classify as detect

ORDINARY = [
    "Can you send me the invoice for March?",
    "Please remove the meeting from my calendar.",
    "Please delete the duplicate order #4411, I only wanted one.",
    "I'd like access to the shared drive for the project.",
    "Please correct the typo in the contract, my name is spelled Anna.",
    "Could you update my delivery address to 5 Elm Street?",
    "I already unsubscribed from the other list, so no worries.",
    "Don't delete my account please, I just forgot my password.",
    "We need to comply with the GDPR; Article 15 requests must be answered within a month.",
    "Our privacy policy explains how users can request deletion of their personal data.",
    "Can you tell me how to export my data from the app into Excel?",
    "Stop by my office when you have a minute.",
    "Please stop the music at 10pm, the neighbours complained.",
    "The data shows that we should remove the old product line.",
    "I object to the proposed timeline, it's too tight.",
    "I withdraw my application for the position.",
    "Please restrict access to the folder to the finance team.",
    "I'm writing to request a refund for my order.",
    "Please send me a copy of the signed contract.",
    "Could you provide me with information about your pricing?",
    "I am hereby confirming my attendance at the conference.",
    "What data do you need from me to open the account?",
    "Please remove my colleague from the thread.",
    "Let me know if you want to unsubscribe the test account from the list.",
    "Take me off speakerphone!",
    "The customer asked us to delete his account last week; done.",
    "He wants to opt out of the sale of his car.",
    "The right to be forgotten is an interesting legal concept.",
    "Bitte löschen Sie den doppelten Termin aus dem Kalender.",
    "Ich habe mich schon abgemeldet, danke.",
    "Pouvez-vous supprimer la photo de groupe de l'album ?",
    "¿Puedes borrar las fotos viejas del álbum compartido?",
    "Proszę usunąć stare zdjęcia z naszego wspólnego albumu.",
    "Mohl bys smazat staré fotky ze sdíleného alba?",
    "Kannst du die alten Fotos aus unserem gemeinsamen Album löschen?",
    "Was bedeutet die DSGVO für unseren Vertrag?",
    "Que signifie le RGPD pour notre contrat ?",
    "Co oznacza RODO dla naszej umowy?",
    "Wat betekent de AVG voor ons contract?",
    "Mitä GDPR tarkoittaa sopimuksellemme?",
    "GDPR sözleşmemiz için ne anlama geliyor?",
    "Что означает GDPR для нашего договора?",
    "GDPRは私たちの契約にとって何を意味しますか？",
    "GDPR对我们的合同意味着什么？",
    "Can you send me my account details? I forgot my username.",
    "Please send me my data usage report for March.",
    "I accidentally deleted my account yesterday, can you restore it?",
    "My data looks wrong in the dashboard, can you check?",
    "Could you show me my profile settings page?",
    "Please tell me my order status.",
    "Send me the data from last quarter.",
    "Can you remove the old data from the staging server?",
    "Delete the test data about the fake user Bob.",
    "Please give me access to the repository.",
    "Können Sie mir meine Zugangsdaten schicken?",
    "Ich habe mein Konto aus Versehen gelöscht, können Sie es wiederherstellen?",
    "Schicken Sie mir bitte die Daten vom letzten Quartal.",
    "¿Pueden enviarme mis datos de acceso? Olvidé la contraseña.",
    "Merci de m'envoyer mes identifiants de connexion.",
    "Pošlete mi prosím fakturu za březen.",
    "Prześlijcie mi fakturę za marzec.",
    "Stuur me de factuur van maart.",
    "Skicka mig fakturan för mars.",
    "Send meg fakturaen for mars.",
    "Пришлите мне счёт за март.",
    "请把三月份的发票发给我。",
    "三月分の請求書を送ってください。",
    "Welke gegevens hebben jullie nodig voor de offerte?",
    "What data do you need from me for the contract?",
    "Quels documents dois-je vous envoyer ?",
    "Hangi bilgileri göndermem gerekiyor?",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_sentence_is_not_a_request(text: str) -> None:
    assert detect(text) is None

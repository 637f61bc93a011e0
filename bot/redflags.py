"""Red-flag words in what a patient types: signs that must reach a provider whatever was asked.

Pure: no Telegram, no database. Matching is deliberately eager. A negation still matches ("no
trouble breathing" is a breathing finding) on purpose: a pattern cannot tell "no" from "not sure",
and when unsure, escalate. Texts are normalised first (see `normalise`), so the patterns below
are written in lowercase ASCII, without apostrophes ("cant", "im", "dont"), one space between
words; " ... " in a pattern stands for up to three words in between.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from bot.triage import Finding, Tier

# Most serious first: scan() reports in this order.
CATEGORY_TIERS: Mapping[str, Tier] = {
    "breathing": Tier.EMERGENCY,  # possible anaphylaxis: the emergency number at once
    "self_harm": Tier.EMERGENCY,  # the crisis line at once
    "opioids": Tier.URGENT,  # LDN blocks opioid pain relief and can bring on withdrawal
    "withdrawal": Tier.URGENT,  # signs of opioid withdrawal: hidden opioid use
    "liver": Tier.URGENT,  # signs of liver injury
    "pregnancy": Tier.URGENT,  # the provider decides whether to go on
    "surgery": Tier.URGENT,  # may need opioid pain relief, which LDN blocks
    "allergy": Tier.URGENT,  # may become an allergic reaction with swelling
    "mood": Tier.ROUTINE,  # low mood is never expected; a provider reviews it
}

_OPIOIDS = (
    "morphine", "codeine", "dihydrocodeine", "oxycodone", "oxycontin", "roxicodone", "oxy",
    "percocet", "perc", "hydrocodone", "vicodin", "norco", "lortab", "fentanyl", "tramadol",
    "ultram", "methadone", "buprenorphine", "suboxone", "subutex", "tapentadol", "nucynta",
    "hydromorphone", "dilaudid", "oxymorphone", "meperidine", "pethidine", "demerol", "heroin",
    "kratom",
)  # fmt: skip

_PAIN = r"(?:pain\w*|ache\w*|aching|hurt\w*|sore|tender\w*)"
_RIGHT = r"right (?:upper )?(?:belly|abdomen|tummy|stomach|ribs?|rib cage|quadrant)"
_PAINKILLERS = r"(?:pain ?killers?|pain (?:pills?|meds?|medications?))"
_FACE = r"(?:throat|tongue|lips?|face|mouth|eyelids?)"
_SHAKE = r"(?:shak\w*|shiver\w*|trembl\w*)"

_PATTERNS: Mapping[str, tuple[str, ...]] = {
    "breathing": (
        # Struggling to breathe, in the many ways people say it.
        r"(?:cant|cannot|can not|couldnt|could not|unable to|hard to|difficult\w*(?: to| in)?"
        r"|trouble|problems?|struggl\w*(?: to)?|hard time) (?:\w+ly )?breath\w*",
        r"short(?:ness)? of breath|breathless\w*|gasping|wheez\w*|anaphyla\w*",
        r"(?:cant|cannot|couldnt|could not) (?:get|catch) ... (?:air|breath)",
        # A tight chest, or a closing throat ("hard to swallow" is usually about the capsules).
        r"chest ... (?:tight\w*|closing)|tight\w* ... chest|throat ... (?:clos\w*|tight\w*)",
        # Swelling of the face, lips, tongue or throat. Swollen joints alone are the disease
        # being treated, not this sign, so "swollen" needs one of these parts nearby.
        rf"{_FACE} ... (?:swell\w*|swollen|puff\w*)|(?:swell\w*|swollen|puffy) ... {_FACE}",
    ),
    "self_harm": (
        # Suicide named outright (misspellings are caught by _FUZZY below).
        r"suicid\w*",
        # Harming or ending one's own life.
        r"(?:kill|hurt|harm|cut|hang|end)\w* my ?self|self ?harm\w*|self injur\w*",
        r"(?:end|ending|take|taking) (?:my (?:own )?life|it all)",
        # Not wanting to live.
        r"(?:want|wanna|wanting|wish|ready) (?:\w+ ){0,2}(?:to )?die(?! down| off| out)",
        r"wish i (?:was|were) dead|feel like dying",
        r"(?:dont|do not|no longer|not) (?:\w+ )?want to (?:live|be (?:here|alive)|wake up)",
        r"better off (?:dead|without me)|no (?:reason|point) (?:to|in) (?:live|living|going on)",
        r"not worth living|life (?:is not|isnt|aint) worth",
    ),
    "opioids": (
        # The class named outright, and every opioid medicine or street drug we know by name.
        r"opi(?:oid|od|ate)s?|narcotics?",
        rf"(?:{'|'.join(_OPIOIDS)})s?",
        # Prescribed or strong painkillers, often an opioid after surgery, dental work or injury.
        rf"prescri\w* ... (?:{_PAINKILLERS}|pain relief)|strong {_PAINKILLERS}",
        rf"{_PAINKILLERS} ... (?:after|from) ... (?:surgery|operation|dentist|dental|procedure"
        r"|injury|accident|hospital|er)",
    ),
    "withdrawal": (
        # Withdrawal named, or the feeling of a detox.
        r"withdrawals?|detox\w*|dope ?sick",
        # Its signs: goose bumps, cold sweats, sweating with shaking, yawning with a runny nose.
        r"goose ?(?:bumps?|flesh|pimples)|cold sweats?",
        rf"sweat\w* ... {_SHAKE}|{_SHAKE} ... sweat\w*",
        r"runny nose ... yawn\w*|yawn\w* ... runny nose",
    ),
    "liver": (
        # Jaundice: yellow skin or eyes.
        r"jaundice\w*|yellow\w* ... (?:eyes?|skin)|(?:eyes?|skin) ... yellow\w*",
        # Dark urine; pale or clay-coloured stools.
        r"dark ... (?:urine|pee)|(?:urine|pee) ... (?:dark|brown|cola|tea)",
        r"(?:pale|clay|white|grey|gray|light colou?red) ... (?:stools?|poops?|poos?|feces|faeces)",
        r"(?:stools?|poops?|poos?|feces|faeces) ... (?:pale|clay|white|grey|gray)",
        # Pain under the right ribs, where the liver sits; the liver itself named.
        rf"{_PAIN} ... {_RIGHT}|{_RIGHT} ... {_PAIN}|under (?:my |the )?right ribs?",
        rf"{_PAIN} ... right side of (?:my |the )?(?:belly|abdomen|tummy|stomach)",
        r"liver|hepat\w*",
    ),
    "pregnancy": (
        # Pregnant, perhaps pregnant, or expecting.
        r"pregnan\w*|expecting (?:a )?(?:baby|child)|(?:missed|late) (?:my )?period"
        r"|period (?:is )?late",
        # Planning a pregnancy.
        r"(?:trying|try|want\w*|plan\w*|hoping) (?:\w+ )?(?:to )?(?:conceive|get pregnant"
        r"|have a baby|start a family)|conceiv\w*|ivf",
        # Breastfeeding.
        r"breast ?(?:feed\w*|fed)|nursing (?:my )?(?:baby|son|daughter|newborn|infant)",
    ),
    "surgery": (
        # Surgery, or a procedure under anaesthesia or sedation.
        r"surg(?:ery|eries|ical|eon)|operation|operated|(?:an|my|the) op|ana?esthe\w*",
        r"sedat(?:ion|ed)|(?:c|caesarean|cesarean) section|colonoscop\w*|endoscop\w*|biops\w*",
        r"(?:medical|surgical|minor|day) procedure|procedure ... (?:hospital|sedat\w*|ana?esth\w*)",
        # Dental work: extractions, wisdom teeth, root canals, implants.
        r"dental (?:work|surgery|procedure|treatment|implants?)|root canal|wisdom (?:tooth|teeth)",
        r"(?:tooth|teeth) ... (?:extract\w*|pulled|removed|out)"
        r"|(?:extract\w*|pull\w*|remov\w*) ... (?:tooth|teeth)",
    ),
    "allergy": (
        # Hives, welts or a rash; a pet "called Rash" is not one.
        r"hives|urticaria|welts?|(?<!called )(?<!named )rash(?:es|y)?",
        r"allergic (?:reaction|to)|allergy to|(?:an|bad|severe) allergy",
        r"reaction to (?:the )?(?:ldn|naltrexone|capsules?|pills?|medication|meds?|dose)",
    ),
    "mood": (
        # Low mood in the patient's own words ("very low dose" or "energy so low" is not a mood).
        r"depress\w*|hopeless\w*|worthless|despair\w*|low mood|mood ... low",
        r"(?:cant|cannot|can not) stop crying|crying (?:all|every|constantly|non ?stop)",
        r"(?:very|really|so|extremely|super) (?:down|sad)",
        r"(?:feel\w*|felt) (?:(?:a bit|a little|quite|very|really|so|pretty|kind of) )?"
        r"(?:low|down|sad|blue)",
    ),
}

# One slip of the keyboard (a letter added, dropped or changed, or two swapped) in the words that
# matter most, on words of six letters or more whose first letter is right, so short everyday
# words stay clear. "oxicodone", "tramadal", "sucidal", "pregant", "withdrawl" all count.
_FUZZY: Mapping[str, tuple[str, ...]] = {
    "self_harm": ("suicide", "suicidal"),
    "opioids": tuple(d for d in _OPIOIDS if len(d) >= 7),
    "withdrawal": ("withdrawal",),
    "liver": ("jaundice",),
    "pregnancy": ("pregnant", "pregnancy"),
    "surgery": ("surgery", "operation", "anesthesia", "anaesthetic", "colonoscopy"),
}
_REAL_WORDS = frozenset({"morphing"})  # real words one slip from a name above

_QUOTES = str.maketrans(dict.fromkeys("\u2018\u2019\u02bc\u0060\u00b4\u2032", "'"))


def normalise(text: str) -> str:
    """Lowercase, strip accents and apostrophes, and keep only letters and digits between spaces."""
    text = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.replace("'", "")).split())


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """Join a category's patterns into one, matched on whole words."""
    body = "|".join(p.replace(" ... ", r" (?:\w+ ){0,3}") for p in patterns)
    return re.compile(rf"\b(?:{body})\b")


_COMPILED = {category: _compile(patterns) for category, patterns in _PATTERNS.items()}


def _one_slip(word: str, target: str) -> bool:
    """Say whether word is target with one letter added, dropped, changed, or two swapped."""
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(diff) == 2 and diff[1] == diff[0] + 1:
            return word[diff[0]] == target[diff[1]] and word[diff[1]] == target[diff[0]]
        return len(diff) <= 1
    if abs(len(word) - len(target)) != 1:
        return False
    short, long = sorted((word, target), key=len)
    i = next((k for k in range(len(short)) if short[k] != long[k]), len(short))
    return short[i:] == long[i + 1 :]


def _fuzzy(category: str, words: list[str]) -> bool:
    """Say whether a word is a near miss of one of the category's key words."""
    return any(
        len(w) >= 6 and w not in _REAL_WORDS and w[0] == t[0] and _one_slip(w, t)
        for w in words
        for t in _FUZZY.get(category, ())
    )


def scan(text: str) -> tuple[Finding, ...]:
    """Return one finding per red-flag category in the text, most serious first."""
    norm = normalise(text)
    words = norm.split()
    # CATEGORY_TIERS is kept most serious first, so its order is the order of the findings.
    hits = [c for c in CATEGORY_TIERS if _COMPILED[c].search(norm) or _fuzzy(c, words)]
    return tuple(Finding(CATEGORY_TIERS[c], f"words_{c}", c) for c in hits)

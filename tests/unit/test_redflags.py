"""Red-flag words in a patient's own text: what must match, what must not, and in what order."""

import re
from pathlib import Path

import pytest

from bench.redflags import TARGET_CAUGHT, TARGET_FALSE_ALERTS, evaluate, load, main
from bot.rules import redflags
from bot.rules.findings import Finding, Tier
from bot.rules.redflags import CATEGORY_TIERS, mentions, normalise, scan


def categories(text: str) -> list[str | None]:
    return [f.effect for f in scan(text)]


EVERYDAY = [
    # Breathing: anaphylaxis signs, in everyday words.
    ("breathing", "I can't breathe properly"),
    ("breathing", "having trouble breathing since last night"),
    ("breathing", "I'm short of breath"),
    ("breathing", "hard to breathe after my dose"),
    ("breathing", "struggling to breathe"),
    ("breathing", "my throat feels like it's closing"),
    ("breathing", "my lips are swollen"),
    ("breathing", "tongue swelling up"),
    ("breathing", "swollen face this morning"),
    ("breathing", "wheezing a lot tonight"),
    ("breathing", "my chest feels tight"),
    ("breathing", "couldn't catch my breath"),
    # Self-harm and suicide.
    ("self_harm", "I've been having suicidal thoughts"),
    ("self_harm", "I want to kill myself"),
    ("self_harm", "sometimes I think about ending my life"),
    ("self_harm", "I don't want to live anymore"),
    ("self_harm", "everyone would be better off without me"),
    ("self_harm", "I've been self-harming again"),
    ("self_harm", "I feel like hurting myself"),
    ("self_harm", "there's no reason to live"),
    ("self_harm", "I wish I was dead"),
    ("self_harm", "I just want to die"),
    ("self_harm", "thinking of suicide"),
    ("self_harm", "some days I feel like dying"),
    # Opioids.
    ("opioids", "I took oxycodone for my back"),
    ("opioids", "my doctor gave me tramadol"),
    ("opioids", "I'm on Suboxone"),
    ("opioids", "had some codeine cough syrup"),
    ("opioids", "I use kratom sometimes"),
    ("opioids", "on a fentanyl patch"),
    ("opioids", "still taking hydrocodone"),
    ("opioids", "I take opiates for pain"),
    ("opioids", "they prescribed me painkillers after the accident"),
    ("opioids", "still on methadone"),
    ("opioids", "a couple of Percocets"),
    # Withdrawal.
    ("withdrawal", "feel like I'm detoxing"),
    ("withdrawal", "sweating and shaking after the dose"),
    ("withdrawal", "goosebumps and chills"),
    ("withdrawal", "runny nose and yawning all night"),
    ("withdrawal", "woke up in cold sweats"),
    ("withdrawal", "I think I'm in withdrawal"),
    # Liver.
    ("liver", "my eyes look yellow"),
    ("liver", "yellowish skin"),
    ("liver", "my pee is really dark"),
    ("liver", "dark urine this morning"),
    ("liver", "pale stools"),
    ("liver", "my poop is clay coloured"),
    ("liver", "pain under my right ribs"),
    ("liver", "an ache in my upper right belly"),
    ("liver", "I think I have jaundice"),
    ("liver", "the whites of my eyes are yellowish"),
    ("liver", "my liver hurts"),
    ("liver", "I had hepatitis years ago"),
    # Pregnancy.
    ("pregnancy", "I just found out I'm pregnant"),
    ("pregnancy", "we're trying to conceive"),
    ("pregnancy", "I'm breastfeeding my son"),
    ("pregnancy", "I missed my period"),
    ("pregnancy", "expecting a baby in June"),
    ("pregnancy", "still nursing my baby"),
    # Surgery and dental work.
    ("surgery", "I'm having surgery next month"),
    ("surgery", "wisdom teeth out on Friday"),
    ("surgery", "getting a root canal"),
    ("surgery", "colonoscopy next week"),
    ("surgery", "I need a tooth extraction"),
    ("surgery", "an operation on my knee"),
    ("surgery", "going under general anaesthetic"),
    ("surgery", "going to hospital for an op"),
    # Allergy.
    ("allergy", "I've got hives all over"),
    ("allergy", "a red itchy rash on my arms"),
    ("allergy", "itchy welts on my legs"),
    ("allergy", "I think I'm having an allergic reaction"),
    ("allergy", "rashes on my chest"),
    # Mood.
    ("mood", "I've been so depressed"),
    ("mood_worse", "feeling hopeless"),
    ("mood", "I can't stop crying"),
    ("mood", "very low mood this week"),
    ("mood", "feeling really down"),
]


@pytest.mark.parametrize(("category", "text"), EVERYDAY)
def test_everyday_phrasings_are_found(category: str, text: str) -> None:
    found = {f.effect: f for f in scan(text)}
    assert category in found
    assert found[category] == Finding(CATEGORY_TIERS[category], f"words_{category}", category)


@pytest.mark.parametrize(
    ("category", "text"),
    [
        ("opioids", "oxycodon"),
        ("opioids", "oxicodone"),
        ("opioids", "tramadal"),
        ("opioids", "codiene"),
        ("opioids", "fentanil patch"),
        ("opioids", "hydrocodon"),
        ("opioids", "percoset"),
        ("opioids", "methadon"),
        ("self_harm", "sucidal thoughts"),
        ("self_harm", "suicde"),
        ("pregnancy", "I might be pregant"),
        ("withdrawal", "withdrawl symptoms"),
        ("liver", "jaundise"),
        ("surgery", "surgury on monday"),
        ("seizure", "I had a seizrue"),
        ("fainting", "I fanted"),
        ("overdose", "I think I overdossed"),
        ("palpitations", "plapitations again"),
        ("hallucinations", "hallucniations at night"),
        ("mood_worse", "I feel hopeles"),
    ],
)
def test_one_slip_misspellings_are_found(category: str, text: str) -> None:
    assert category in categories(text)


@pytest.mark.parametrize(
    ("category", "text"),
    [
        ("breathing", "I CAN'T BREATHE"),
        ("breathing", "I can\u2019t breathe"),
        ("breathing", "cant   breathe\n\nhelp"),
        ("self_harm", "I don\u2019t want to be here anymore"),
        ("self_harm", "Self-Harm"),
        ("opioids", "OxyContin"),
        ("opioids", "Cod\u00e9ine"),
        ("withdrawal", "Goose-bumps"),
    ],
)
def test_case_apostrophes_accents_and_spacing_do_not_matter(category: str, text: str) -> None:
    assert category in categories(text)


@pytest.mark.parametrize(
    "text",
    [
        "I slept badly",
        "had vivid dreams",
        "feeling a bit tired",
        "thanks!",
        "what time is my dose",
        "my dog is called Rash",
        "I'm trying a new shampoo",
        "",
        "   ",
        # Word boundaries: names inside other words, and near misses that are real words.
        "Rashid says hi",
        "amorphine",
        "the graphics are morphing",
        "heroine of the story",
        # Everyday neighbours of the red-flag words.
        "breathing exercises help me sleep",
        "my knees are swollen again today",
        "my mum is in a nursing home",
        "I missed my dose last night",
        "the capsules are white",
        "the very low dose feels fine",
        "my energy is so low",
        "I took ibuprofen for my headache",
        "headache on the right side",
        "it's hard to swallow the capsules",
        "this headache is killing me",
        "I want the dreams to die down",
        "I feel much better",
        # Real words one slip from a key word, and everyday uses of the new categories' words.
        "the steak was overdone",
        "volunteering at the homeless shelter",
        "I'm expecting a parcel",
        "low dose makes me feel better",
        "it doesn't fit in my pill box",
        "a faint taste in my mouth",
        "blackout curtains help me sleep",
        "I took 2 capsules as the plan says",
        "double checked my dose",
        "my T3 is low",
        "I hurt myself at the gym",
        "I'm low on capsules",
        "so sad my holiday is over",
        "heart rate is 62 on my watch",
        "I'm allergic to cats",
        "blood test made me feel sick",
        # "The surgery" as the GP's practice; pills taken together as a routine; look-alikes.
        "the GP surgery is shut on Sundays",
        "sat in the waiting room at the surgery for an hour",
        "phoned my surgery about a repeat prescription",
        "I want to take all my pills together in the morning",
        "saving up my capsules for the holiday",
        "my tongue is white and thick coated",
        "heart rate 150 on my run",
        "sleep has been up and down",
        "took another look at my plan",
        "bit low on capsules",
        # Neighbours of the words added for indirect self-harm, worsening mood, vomiting, a
        # double dose, withdrawal, urine, heart slang and painkillers.
        "how many capsules will it take to get to 4.5?",
        "saving my tablets in case the pharmacy runs out",
        "I hide my pills from the grandkids",
        "bought a spiral notebook for my symptom diary",
        "prices are spiralling",
        "I went downhill skiing last week",
        "my sleep has gone downhill",
        "can't keep my weight down",
        "I took it at 8 instead of 10",
        "the reminder came but I'd already taken it",
        "I have 2 days' worth of capsules left",
        "mondays and fridays are my busy days",
        "jittery and sweaty after too much coffee",
        "runny nose and sneezing, think I have a cold",
        "need a wee after my tea",
        "the evenings are a wee bit dark now",
        "my heart's not racing any more",
        "the GP put me on naproxen for the pain",
        "I wrote a letter to my son for his birthday",
        "said goodbye to my old GP today",
        "wish I could disappear for a week on a beach",
        "blacked out the bedroom windows",
    ],
)
def test_ordinary_messages_do_not_match(text: str) -> None:
    assert scan(text) == ()


@pytest.mark.parametrize(
    ("category", "text"),
    [
        # Negated.
        ("allergy", "no rash today"),
        ("opioids", "I don't take opioids"),
        ("surgery", "never had surgery"),
        ("breathing", "no trouble breathing"),
        ("self_harm", "I would never hurt myself"),
        ("opioids", "I haven't taken any oxycodone"),
        ("pregnancy", "I'm not pregnant"),
        ("fainting", "haven't fainted at all"),
        ("opioids", "I haven't been taking any oxycodone"),
        ("liver", "I have not had any signs of jaundice"),
        # A list that ends in "or" is denied as a whole.
        ("allergy", "no hives, rash or swelling"),
        ("allergy", "no fever, nausea or rash"),
        ("palpitations", "no chest pain or palpitations"),
        # Denied after the words.
        ("opioids", "opioid free for 3 years"),
        ("pregnancy", "pregnancy test was negative"),
        ("liver", "my liver tests came back normal"),
        ("allergy", "rash: none"),
        # About someone else: the sentence opens with them and never speaks of the patient.
        ("surgery", "my dog had surgery"),
        ("pregnancy", "my mum is pregnant"),
        ("opioids", "my husband takes tramadol"),
        ("pregnancy", "my wife is breastfeeding our son"),
        ("seizure", "the cat had a seizure"),
        # A dream told, a question asked, a low mood lifting.
        ("chest_pain", "had a weird dream about a heart attack"),
        ("overdose", "should I double up if I missed last night?"),
        ("mood", "my depression is much better since LDN"),
        # Long ago and over; a question or a worry after someone else's flag; a dream.
        ("allergy", "came out in hives as a child, nothing since"),
        ("opioids", "I came off codeine years ago"),
        ("surgery", "had my knee operation back in 2015"),
        ("opioids", "my wife takes codeine, could that affect me?"),
        ("allergy", "my daughter has a rash, hope I don't get it"),
        ("pregnancy", "dreamt I was pregnant last night"),
        ("seizure", "dreamed I had a seizure"),
        # Someone else's event, though the patient speaks of themselves after it or says "my".
        ("surgery", "my brother had his wisdom teeth out, I drove him home"),
        ("fainting", "my wife passed out at the sight of my needle"),
        ("fainting", "my dad collapsed at work, I'm at the hospital with him"),
        # Asked ahead, for a case that has not come.
        ("opioids", "what if I ever needed codeine? would LDN block it?"),
        ("surgery", "if I ever needed an operation would I have to stop?"),
        ("pregnancy", "out of interest, is LDN ok when breastfeeding? no plans, just asking"),
        ("opioids", "hypothetically, would tramadol still work?"),
        # Figures of speech.
        ("chest_pain", "the gas bill nearly gave me a heart attack"),
        ("breathing", "laughing so hard I can't breathe"),
        ("palpitations", "my heart skipped a beat when I saw the price"),
        ("fainting", "I nearly fainted when I saw the bill"),
        ("self_harm", "killing myself laughing at this"),
        # A date long past.
        ("surgery", "had my gallbladder out in 2011, all fine"),
        ("surgery", "had an op on my arm when I was 9"),
    ],
)
def test_negations_and_other_people_are_mentioned_not_alerted(category: str, text: str) -> None:
    assert scan(text) == ()
    assert category in mentions(text)


@pytest.mark.parametrize(
    ("category", "text"),
    [
        # Doubt is not a denial.
        ("pregnancy", "not sure if I'm pregnant"),
        ("pregnancy", "I don't think I'm pregnant"),
        ("fainting", "no idea why I fainted"),
        ("pregnancy", "not sure whether pregnant or not"),
        # Words that are negative in themselves.
        ("vomiting", "I can't stop being sick"),
        ("self_harm", "I don't want to live"),
        ("self_harm", "dont see the point in living"),
        ("breathing", "I'm not able to breathe"),
        # "No" as an answer, then a symptom; a comma list that does not end in "or".
        ("breathing", "no, I can't breathe"),
        ("breathing", "no I can't breathe"),
        ("allergy", "No, rash on my arms since Monday"),
        ("allergy", "no fever, rash on my arms"),
        ("allergy", "no nausea, but a rash"),
        ("vomiting", "not eating or drinking, vomiting all day"),
        # Someone else in the sentence, but the patient too, or the patient as the subject.
        ("opioids", "my doctor gave me tramadol"),
        ("allergy", "my mum and I both have a rash"),
        ("opioids", "took my friend's oxycodone"),
        ("opioids", "my husband gave me some of his oxycodone"),
        ("seizure", "my wife says I had a seizure in my sleep"),
        # A stopped opioid is recent opioid use; thoughts of self-harm count even in a dream.
        ("opioids", "I no longer take oxycodone"),
        ("opioids", "got some oxycodone free from a friend"),
        ("self_harm", "I dreamt about killing myself"),
        # Old history that is back or recent; someone else's flag and the patient's too; what
        # counts however old (liver trouble, every emergency); a dream, then a real symptom.
        ("allergy", "had hives years ago but they're back now"),
        ("opioids", "came off codeine last week"),
        ("surgery", "had surgery years ago and another op next week"),
        ("seizure", "as a kid I had fits"),
        ("liver", "hepatitis years ago"),
        ("allergy", "my son has a rash, now I have it too"),
        ("opioids", "my husband takes tramadol and so do I"),
        ("breathing", "dreamt I was choking and woke up unable to breathe"),
        # Someone else's event that the patient shares; a question that names a time or says
        # the patient is in it now; a fright or a dizzy spell that is a symptom, not a figure
        # of speech.
        ("surgery", "my son had his tonsils out and I had mine out too"),
        ("surgery", "what if I need surgery next month?"),
        ("pregnancy", "what if I'm pregnant?"),
        ("pregnancy", "just asking, I'm pregnant, is that ok?"),
        ("opioids", "just curious, I'm on tramadol, is that ok?"),
        ("chest_pain", "I feel like I'm about to have a heart attack"),
        ("fainting", "I nearly fainted when I stood up"),
        ("palpitations", "my heart skipped a beat when I stood up"),
        ("self_harm", "I'd rather die than feel like this"),
    ],
)
def test_when_unsure_it_alerts(category: str, text: str) -> None:
    assert category in categories(text)
    assert category not in mentions(text)


@pytest.mark.parametrize(
    ("category", "tier", "text"),
    [
        ("self_harm", Tier.EMERGENCY, "not sure I want to live"),
        ("breathing", Tier.EMERGENCY, "I don't think I can breathe properly"),
        ("opioids", Tier.URGENT, "my mom takes oxycodone and I borrowed a few"),
        ("pregnancy", Tier.URGENT, "not pregnant yet but we're trying"),
    ],
)
def test_the_sentences_a_reviewer_found_let_through_now_alert(
    category: str, tier: Tier, text: str
) -> None:
    assert Finding(tier, f"words_{category}", category) in scan(text)
    assert category not in mentions(text)


@pytest.mark.parametrize(
    ("category", "text"),
    [
        # Doubt about an emergency's sign is the sign: when unsure, escalate.
        ("breathing", "I can't tell if I'm breathing right"),
        ("breathing", "not sure I can breathe"),
        ("breathing", "I don't think I'm getting enough air"),
        ("breathing", "I don't think my breathing is right"),
        ("self_harm", "don't know if I want to wake up tomorrow"),
        ("self_harm", "not sure life is worth living"),
        ("self_harm", "I don't really care if I live or die"),
        # A negation said in doubt, or softened, denies nothing of an emergency.
        ("seizure", "not sure I'm not having a seizure"),
        ("chest_pain", "I hope I'm not having a heart attack"),
        ("breathing", "not really short of breath, just can't seem to fill my lungs"),
        ("chest_pain", "it's not exactly chest pain"),
        ("breathing", "never been this short of breath"),
        ("self_harm", "I don't really feel suicidal"),
    ],
)
def test_a_hedge_never_turns_an_emergency_into_a_mention(category: str, text: str) -> None:
    found = {f.effect: f.tier for f in scan(text)}
    assert found.get(category) is Tier.EMERGENCY
    assert category not in mentions(text)


@pytest.mark.parametrize(
    ("category", "text"),
    [
        ("breathing", "no trouble breathing"),
        ("breathing", "my breathing is fine, no wheezing"),
        ("chest_pain", "no chest pain at all this week"),
        ("chest_pain", "no chest pain since I started LDN"),
        ("self_harm", "I don't feel suicidal"),
        ("self_harm", "haven't had any thoughts of suicide"),
        ("seizure", "never had a seizure in my life"),
    ],
)
def test_a_plain_denial_of_an_emergency_is_a_mention(category: str, text: str) -> None:
    assert scan(text) == ()
    assert category in mentions(text)


@pytest.mark.parametrize(
    ("category", "text"),
    [
        ("breathing", "haven't been able to breathe properly all day"),
        ("breathing", "I can't seem to breathe"),
        ("breathing", "can't seem to fill my lungs"),
        ("breathing", "my breathing isn't right"),
        ("self_harm", "part of me wants to die"),
        ("self_harm", "part of me doesn't want to live"),
    ],
)
def test_trouble_breathing_and_not_wanting_to_live_are_found_in_more_words(
    category: str, text: str
) -> None:
    assert category in categories(text)


@pytest.mark.parametrize(
    ("category", "text"),
    [
        ("chest_pain", "I've never had chest pain like this"),
        ("chest_pain", "no chest pain until tonight"),
        ("palpitations", "never had palpitations like this"),
        ("allergy", "no rash until today"),
        ("pregnancy", "I'm not sure I'm not pregnant"),
    ],
)
def test_a_negation_turned_by_what_follows_or_said_in_doubt_denies_nothing(
    category: str, text: str
) -> None:
    assert category in categories(text)


@pytest.mark.parametrize(
    "text",
    [
        "my boyfriend had leftover percocet so I took two",
        "my dad's got morphine for his back, I nicked a few",
        "my mum takes oxycodone, is it ok that I took two of hers?",
        "my husband takes tramadol and I'm on it too",
    ],
)
def test_someone_elses_medicine_the_patient_took_is_theirs(text: str) -> None:
    assert categories(text) == ["opioids"]


@pytest.mark.parametrize(
    "text",
    [
        "my husband's on tramadol, I keep it locked away from the kids",
        "my dad is on morphine and I take him to his appointments",
        "my dad is on morphine and I had a bad night",
        "my son takes methadone, I have to collect it for him",
        "my mum takes oxycodone, I've never touched it",
    ],
)
def test_someone_elses_medicine_the_patient_only_handles_is_a_mention(text: str) -> None:
    assert scan(text) == ()
    assert mentions(text) == ("opioids",)


@pytest.mark.parametrize(
    "text",
    [
        "Not pregnant. We've been trying for a year though.",
        "my period came again, we're still trying",
        "no luck yet, period came today",
        "we'd love a baby, still trying",
        "not pregnant yet, would LDN be ok when we try?",
    ],
)
def test_a_pregnancy_hoped_for_is_planning_one(text: str) -> None:
    assert categories(text) == ["pregnancy"]


@pytest.mark.parametrize(
    "text",
    [
        "still trying to find the best time for my dose",
        "we're trying",
        "the baby won't settle, still trying",
        "periods are heavy, trying iron tablets",
        "not sure I want to live in the city anymore",
        "not sure I want to wake up at 6 for my dose",
        "not sure it's worth it, the nausea is bad",
        "not sure I can cope with the nausea",
        "not sure if I breathe through my mouth when I sleep",
    ],
)
def test_the_same_words_meant_otherwise_do_not_match(text: str) -> None:
    assert scan(text) == ()


def test_trying_is_read_only_in_a_message_about_a_pregnancy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "my period came again, we're still trying"
    assert categories(text) == ["pregnancy"]
    monkeypatch.setitem(redflags._CONTEXTS, "pregnancy", re.compile(r"(?!)"))
    redflags._read.cache_clear()
    try:
        assert categories(text) == []
    finally:
        redflags._read.cache_clear()


def test_a_category_both_denied_and_affirmed_is_a_finding_not_a_mention() -> None:
    text = "no rash yesterday, but a rash today"
    assert categories(text) == ["allergy"]
    assert mentions(text) == ()


def test_each_sentence_is_read_on_its_own() -> None:
    # A dream, a question or someone else in one sentence says nothing about the next one.
    assert categories("I had a dream about a heart attack. Now my chest hurts") == ["chest_pain"]
    assert categories("Should I call you? I took two doses by mistake") == ["overdose"]
    assert categories("My dog had surgery! I'm fine") == []
    assert categories("I'm fine. My dog had surgery") == []
    assert mentions("No rash. I can't breathe") == ("allergy",)
    # "4.5 mg" is not the end of a sentence.
    assert categories("Took the 4.5 mg capsules instead of the 1.5 ones") == ["overdose"]


def test_one_finding_per_category_most_serious_first() -> None:
    text = "So depressed. Took oxycodone and codeine. Suicidal. Can't breathe. Suicide."
    found = scan(text)
    assert [f.effect for f in found] == ["breathing", "self_harm", "opioids", "mood"]
    assert [f.tier for f in found] == [Tier.EMERGENCY, Tier.EMERGENCY, Tier.URGENT, Tier.ROUTINE]


def test_category_tiers_most_serious_first() -> None:
    assert list(CATEGORY_TIERS.items()) == sorted(CATEGORY_TIERS.items(), key=lambda c: -c[1])
    assert CATEGORY_TIERS == {
        "breathing": Tier.EMERGENCY,
        "self_harm": Tier.EMERGENCY,
        "chest_pain": Tier.EMERGENCY,
        "seizure": Tier.EMERGENCY,
        "vomiting_blood": Tier.EMERGENCY,
        "headache_worst": Tier.EMERGENCY,
        "opioids": Tier.URGENT,
        "overdose": Tier.URGENT,
        "withdrawal": Tier.URGENT,
        "fainting": Tier.URGENT,
        "liver": Tier.URGENT,
        "pregnancy": Tier.URGENT,
        "surgery": Tier.URGENT,
        "allergy": Tier.URGENT,
        "vomiting": Tier.URGENT,
        "belly_pain": Tier.URGENT,
        "palpitations": Tier.URGENT,
        "hallucinations": Tier.URGENT,
        "mood_worse": Tier.URGENT,
        "mood": Tier.ROUTINE,
    }


def test_a_rash_is_found_even_where_a_dog_is_not() -> None:
    assert categories("my dog is called Rash and I have a rash") == ["allergy"]


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("I\u2019m", "im"),
        ("I'm", "im"),
        ("  Caf\u00e9\tAU   lait ", "cafe au lait"),
        ("self-harm!!", "self harm"),
        ("don\u2018t", "dont"),
        # Letters of every script are kept; only Latin letters lose their accents.
        ("Мне ПЛОХО!", "мне плохо"),
        ("Ελληνικά ΚΑΛΆ", "ελληνικά καλά"),
        ("йод", "йод"),
        ("日本語です", "日本語です"),
        ("が", "が"),
        ("한국어", "한국어"),
        ("हिन्दी", "हिन्दी"),
        ("Straße ﬁne Ａ", "strasse fine a"),
        # Emoji that say something become words; the rest are spaces.
        ("🤮🩸", "vomit blood"),
        ("ok 😰", "ok"),
    ],
)
def test_normalise(raw: str, clean: str) -> None:
    assert normalise(raw) == clean


# One phrasing per rule: (category, the rule's place in redflags._PATTERNS[category], phrasing).
# Each phrasing is found only through its rule: test_each_rule_is_needed_by_its_phrasing removes
# the rule and checks that the phrasing is then missed.
RULES = [
    ("breathing", 0, "I can't breathe properly"),
    ("breathing", 1, "my breathing is laboured"),
    ("breathing", 2, "I'm not breathing right"),
    ("breathing", 3, "short of breath all day"),
    ("breathing", 4, "I think it's anaphylaxis"),
    ("breathing", 5, "I can't get any air in"),
    ("breathing", 6, "my throat is closing"),
    ("breathing", 7, "my lips are swollen"),
    ("breathing", 8, "my tongue feels too big"),
    ("breathing", 9, "my fingertips are turning blue"),
    ("breathing", 10, "I don't think I can breathe properly"),
    ("self_harm", 0, "honestly might kms"),
    ("self_harm", 1, "I want to kill myself"),
    ("self_harm", 2, "I've been cutting myself again"),
    ("self_harm", 3, "thinking of slitting my wrists"),
    ("self_harm", 4, "thought about stepping in front of a bus"),
    ("self_harm", 5, "I'm going to take my own life"),
    ("self_harm", 6, "I'm going to end it"),
    ("self_harm", 7, "I'm going to swallow all my pills at once"),
    ("self_harm", 8, "I've been stockpiling my pills"),
    ("self_harm", 9, "I've worked out how I'd do it"),
    ("self_harm", 10, "I just want to die"),
    ("self_harm", 11, "I wish I was dead"),
    ("self_harm", 12, "I don't want to live any more"),
    ("self_harm", 13, "I hope I never wake up"),
    ("self_harm", 14, "everyone is better off without me"),
    ("self_harm", 15, "there's no reason to live"),
    ("self_harm", 16, "I've been googling how many tablets it would take"),
    ("self_harm", 17, "I've written goodbye letters"),
    ("self_harm", 18, "it would be easier for everyone if I wasn't here"),
    ("self_harm", 19, "I'm tired of living"),
    ("self_harm", 20, "not sure I want to live"),
    ("chest_pain", 0, "chest pain tonight"),
    ("chest_pain", 1, "feels like an elephant on my chest"),
    ("chest_pain", 2, "crushing pressure in my chest"),
    ("chest_pain", 3, "I'm having a heart attack"),
    ("seizure", 0, "I was convulsing"),
    ("seizure", 1, "had a fit this morning"),
    ("seizure", 2, "my body was jerking uncontrollably"),
    ("vomiting_blood", 0, "I threw up blood"),
    ("vomiting_blood", 1, "it looked like coffee grounds"),
    ("vomiting_blood", 2, "my vomit was black"),
    ("vomiting_blood", 3, "was sick this morning with some blood"),
    ("vomiting_blood", 4, "throwing up bright red"),
    ("headache_worst", 0, "worst headache of my life"),
    ("headache_worst", 1, "thunderclap headache"),
    ("headache_worst", 2, "an excruciating headache"),
    ("headache_worst", 3, "my head feels like it will explode"),
    ("headache_worst", 4, "a headache like I've never had"),
    ("headache_worst", 5, "awful headache and the light hurts"),
    ("opioids", 0, "I take opioids for pain"),
    ("opioids", 1, "I took some oxy"),
    ("opioids", 2, "they prescribed painkillers"),
    ("opioids", 3, "painkillers from the hospital"),
    ("opioids", 4, "they gave me something for the pain"),
    ("overdose", 0, "I over dosed"),
    ("overdose", 1, "I took too many capsules"),
    ("overdose", 2, "I took the whole bottle"),
    ("overdose", 3, "I doubled up on my dose"),
    ("overdose", 4, "I took two doses"),
    ("overdose", 5, "took an extra capsule"),
    ("overdose", 6, "took tonight's and last night's"),
    ("overdose", 7, "took the wrong capsules"),
    ("overdose", 8, "I took it by mistake"),
    ("overdose", 9, "oops, took another one"),
    ("overdose", 10, "took one at 9 and then another"),
    ("overdose", 11, "took it not knowing I'd already had it"),
    ("withdrawal", 0, "I feel dope sick"),
    ("withdrawal", 1, "goosebumps all over"),
    ("withdrawal", 2, "sweating and shaking"),
    ("withdrawal", 3, "chills and sweating"),
    ("withdrawal", 4, "runny nose and yawning"),
    ("fainting", 0, "I feel faint"),
    ("fainting", 1, "I passed out"),
    ("fainting", 2, "I blacked out"),
    ("fainting", 3, "I lost consciousness"),
    ("fainting", 4, "then everything went black"),
    ("fainting", 5, "came round on the bathroom floor"),
    ("liver", 0, "my eyes are yellow"),
    ("liver", 1, "I'm looking yellow"),
    ("liver", 2, "my pee is dark"),
    ("liver", 3, "my wee is the colour of strong tea"),
    ("liver", 4, "pale stools"),
    ("liver", 5, "my poo is pale"),
    ("liver", 6, "pain under my right ribs"),
    ("liver", 7, "an ache on the right side of my belly"),
    ("liver", 8, "a dull ache under my ribs on the right"),
    ("liver", 9, "my liver hurts"),
    ("pregnancy", 0, "I'm preggers"),
    ("pregnancy", 1, "expecting a baby in June"),
    ("pregnancy", 2, "I missed my period"),
    ("pregnancy", 3, "we're trying to conceive"),
    ("pregnancy", 4, "I'm breastfeeding"),
    ("pregnancy", 5, "got a positive test"),
    ("pregnancy", 6, "I'm 10 weeks gone"),
    ("pregnancy", 7, "we're ttc"),
    ("pregnancy", 8, "not pregnant yet"),
    ("surgery", 0, "seeing my surgeon next week"),
    ("surgery", 1, "my knee op is on Friday"),
    ("surgery", 2, "booked for a hysterectomy"),
    ("surgery", 3, "a minor procedure next week"),
    ("surgery", 4, "having my gallbladder out"),
    ("surgery", 5, "root canal tomorrow"),
    ("surgery", 6, "getting a tooth pulled"),
    ("allergy", 0, "hives everywhere"),
    ("allergy", 1, "I broke out in spots"),
    ("allergy", 2, "red blotches on my arms"),
    ("allergy", 3, "itchy spots on my arms"),
    ("allergy", 4, "an allergic reaction"),
    ("allergy", 5, "a reaction to the capsules"),
    ("vomiting", 0, "can't keep anything down"),
    ("vomiting", 1, "I can't stop being sick"),
    ("vomiting", 2, "everything I eat comes straight back up"),
    ("vomiting", 3, "vomiting all day"),
    ("belly_pain", 0, "severe stomach pain"),
    ("belly_pain", 1, "my stomach pain is unbearable"),
    ("belly_pain", 2, "doubled over"),
    ("belly_pain", 3, "they think it's appendicitis"),
    ("palpitations", 0, "I'm in afib"),
    ("palpitations", 1, "my heart is racing"),
    ("palpitations", 2, "my heart is going like the clappers"),
    ("palpitations", 3, "racing heartbeat"),
    ("palpitations", 4, "pulse is 140"),
    ("hallucinations", 0, "hearing voices"),
    ("hallucinations", 1, "I'm seeing things"),
    ("hallucinations", 2, "I saw people who weren't there"),
    ("hallucinations", 3, "shadows nobody else sees"),
    ("hallucinations", 4, "saw a woman in the kitchen but no one was there"),
    ("hallucinations", 5, "I keep seeing faces in the dark"),
    ("hallucinations", 6, "the voices tell me things"),
    ("mood_worse", 0, "I feel worthless"),
    ("mood_worse", 1, "I can't go on"),
    ("mood_worse", 2, "nothing matters"),
    ("mood_worse", 3, "my mood is getting worse"),
    ("mood_worse", 4, "I'm a burden"),
    ("mood_worse", 5, "nobody would miss me"),
    ("mood_worse", 6, "my mood has gone downhill"),
    ("mood_worse", 7, "I've hit rock bottom"),
    ("mood_worse", 8, "I don't think I can go on"),
    ("mood", 0, "I'm depressed"),
    ("mood", 1, "mood's been a bit rubbish"),
    ("mood", 2, "been crying a lot"),
    ("mood", 3, "really sad"),
    ("mood", 4, "feeling low"),
    ("mood", 5, "bit flat today"),
    ("mood", 6, "sad for no reason"),
    ("mood", 7, "in a bit of a funk"),
]


@pytest.mark.parametrize(("category", "rule", "text"), RULES)
def test_each_rule_finds_its_phrasing(category: str, rule: int, text: str) -> None:
    assert category in categories(text)


def test_every_rule_has_a_phrasing() -> None:
    every = {(c, i) for c, patterns in redflags._PATTERNS.items() for i in range(len(patterns))}
    assert {(c, i) for c, i, _ in RULES} == every


def test_each_rule_is_needed_by_its_phrasing(monkeypatch: pytest.MonkeyPatch) -> None:
    still_found = []
    for category, rule, text in RULES:
        others = tuple(p for i, p in enumerate(redflags._PATTERNS[category]) if i != rule)
        with monkeypatch.context() as m:
            m.setitem(redflags._COMPILED, category, redflags._compile(others))
            redflags._read.cache_clear()
            if category in categories(text):
                still_found.append((category, rule, text))
    redflags._read.cache_clear()
    assert still_found == []


@pytest.mark.parametrize(
    ("category", "text"),
    [
        ("breathing", "can't breathe 😰"),
        ("vomiting_blood", "🤮🩸"),
        ("pregnancy", "🤰 big news"),
        ("palpitations", "💓💓 all evening"),
    ],
)
def test_emoji_that_carry_meaning_are_read(category: str, text: str) -> None:
    assert category in categories(text)


def test_english_flag_words_are_found_among_other_scripts() -> None:
    assert categories("Доктор, I can't breathe") == ["breathing"]
    assert scan("Доктор, мне плохо, 日本語") == ()


def test_a_flag_at_the_end_of_a_long_message_is_found() -> None:
    text = "Slept badly but fine, vivid dreams again. " * 48 + "Then I fainted."
    assert len(text) > 2000
    assert categories(text) == ["fainting"]


def test_the_corpus_meets_the_targets() -> None:
    phrasings = load()
    figures = evaluate(phrasings)
    assert len(phrasings) >= 300
    assert set(figures.red) == set(CATEGORY_TIERS)
    assert figures.caught_rate >= TARGET_CAUGHT, [p.text for p, _ in figures.misses]
    assert figures.false_alert_rate <= TARGET_FALSE_ALERTS, [
        p.text for p, _ in figures.false_alerts
    ]
    assert figures.unmentioned == []


def test_the_command_prints_every_category_and_the_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0] for line in out.splitlines() if line.split()}
    assert set(CATEGORY_TIERS) <= rows
    assert "red phrasings caught at their tier:" in out
    assert "benign phrasings alerting:" in out


def test_the_command_fails_and_lists_the_miss_below_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus.tsv"
    corpus.write_text(
        "text\tcategory\ttier\nI can't breathe\tbreathing\tEMERGENCY\n"
        "all good\tbreathing\tEMERGENCY\ntook it, all good\t\tNONE\n",
        encoding="utf-8",
    )
    assert main(["--corpus", str(corpus)]) == 1
    out = capsys.readouterr().out
    assert "1/2 = 50.0%" in out
    assert "'all good' (breathing): nothing" in out

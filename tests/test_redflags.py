"""Red-flag words in a patient's own text: what must match, what must not, and in what order."""

import subprocess
import sys

import pytest

from bot.redflags import CATEGORY_TIERS, normalise, scan
from bot.triage import Finding, Tier


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
    ("mood", "feeling hopeless"),
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
    ],
)
def test_ordinary_messages_do_not_match(text: str) -> None:
    assert scan(text) == ()


@pytest.mark.parametrize(
    ("category", "text"),
    [
        ("breathing", "no trouble breathing"),
        ("self_harm", "I would never hurt myself"),
        ("opioids", "I haven't taken any oxycodone"),
        ("pregnancy", "I'm not pregnant"),
    ],
)
def test_negations_still_match_on_purpose(category: str, text: str) -> None:
    # When unsure, escalate: a pattern cannot tell "no" from "not sure".
    assert category in categories(text)


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
        "opioids": Tier.URGENT,
        "withdrawal": Tier.URGENT,
        "liver": Tier.URGENT,
        "pregnancy": Tier.URGENT,
        "surgery": Tier.URGENT,
        "allergy": Tier.URGENT,
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
    ],
)
def test_normalise(raw: str, clean: str) -> None:
    assert normalise(raw) == clean


@pytest.mark.parametrize("first", ["bot.redflags", "bot.triage"])
def test_either_module_can_be_imported_first(first: str) -> None:
    code = f"import {first}; from bot.triage import triage; from bot.redflags import scan"
    subprocess.run([sys.executable, "-c", code], check=True)

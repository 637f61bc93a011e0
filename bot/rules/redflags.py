"""Red-flag words in what a patient types: signs that must reach a provider whatever was asked.

Pure: no Telegram, no database. A text is read sentence by sentence. Each category's patterns say
what they catch and why it matters; a match is a red flag (`scan`) unless its words are plainly
negated ("no rash today", "I don't take opioids", "never had surgery", "no hives, rash or
swelling", "opioid free") or plainly about someone else (a sentence that opens with another
person or a pet and never speaks of the patient, or only asks about them: "my dog had surgery",
"my husband takes tramadol, does that affect me?", "my son had his tonsils out, I was up all
night with him"), or tell a dream ("dreamt I was pregnant"), or only ask ("should I double up?",
"what if I ever needed morphine?", "just asking, nothing planned"), or tell of something long
ago and over ("had hives as a kid, nothing since", "had my appendix out in 2009", for the flags
where only the present matters), or are figures of speech ("nearly had a heart attack when I
saw the bill", "laughed so hard I couldn't breathe"). Those come back from `mentions` instead,
so that the words can still go to the care team as a plain message.

When unsure, escalate: a negation counts only when it governs the flag word through a few
neutral words ("haven't taken any"), so "not sure if I'm pregnant", "no idea why I fainted" and
"no, I can't breathe" still alert, and a negation said in doubt ("not sure I'm not pregnant")
or turned by what follows ("never had chest pain like this", "no rash until today") denies
nothing. For an emergency a negation must deny plainly: "not really short of breath" and "never
been this breathless" alert. Phrases whose own words are negative ("can't breathe", "don't want
to live", "can't keep anything down") are patterns, never negations, and so is doubt about an
emergency's sign ("I don't think I can breathe", "not sure I want to live"). Someone else's
medicine that the patient took is the patient's ("my mom takes oxycodone and I borrowed a few").

Texts are normalised first (see `normalise`): letters of every script are kept, so the patterns
below are written in lowercase ASCII, without apostrophes ("cant", "im", "dont"), one space
between words; " ... " in a pattern stands for up to three words in between. The patterns are
English for now.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from bot.rules.findings import Finding, Tier

# Most serious first: scan() reports in this order.
CATEGORY_TIERS: Mapping[str, Tier] = {
    "breathing": Tier.EMERGENCY,  # possible anaphylaxis: the emergency number at once
    "self_harm": Tier.EMERGENCY,  # the crisis line at once
    "chest_pain": Tier.EMERGENCY,  # possible heart attack
    "seizure": Tier.EMERGENCY,  # a fit needs urgent care, and LDN is withheld
    "vomiting_blood": Tier.EMERGENCY,  # bleeding from the gut or lungs
    "headache_worst": Tier.EMERGENCY,  # a sudden, worst-ever headache can be a bleed in the brain
    "opioids": Tier.URGENT,  # LDN blocks opioid pain relief and can bring on withdrawal
    "overdose": Tier.URGENT,  # too much taken, or a double dose
    "withdrawal": Tier.URGENT,  # signs of opioid withdrawal: hidden opioid use
    "fainting": Tier.URGENT,  # fainting or passing out needs a provider's look before going on
    "liver": Tier.URGENT,  # signs of liver injury
    "pregnancy": Tier.URGENT,  # the provider decides whether to go on
    "surgery": Tier.URGENT,  # may need opioid pain relief, which LDN blocks
    "allergy": Tier.URGENT,  # may become an allergic reaction with swelling
    "vomiting": Tier.URGENT,  # the dose cannot stay down; dehydration
    "belly_pain": Tier.URGENT,  # severe belly pain is never an expected effect
    "palpitations": Tier.URGENT,  # a racing or irregular heart
    "hallucinations": Tier.URGENT,  # psychosis is a reason to stop and ask
    "mood_worse": Tier.URGENT,  # worsening mood or hopelessness: the crisis line is named
    "mood": Tier.ROUTINE,  # low mood is never expected; a provider reviews it
}

_OPIOIDS = (
    "morphine", "codeine", "dihydrocodeine", "oxycodone", "oxycontin", "roxicodone", "oxy", "oxys",
    "percocet", "perc", "hydrocodone", "vicodin", "norco", "lortab", "fentanyl", "tramadol",
    "ultram", "methadone", "buprenorphine", "suboxone", "subutex", "tapentadol", "nucynta",
    "hydromorphone", "dilaudid", "oxymorphone", "meperidine", "pethidine", "demerol", "heroin",
    "kratom", "diamorphine", "opium", "pentazocine", "nalbuphine", "butorphanol", "levorphanol",
    # UK and other brand names, most of them codeine mixed with paracetamol or ibuprofen.
    "co codamol", "cocodamol", "codamol", "zapain", "solpadeine", "tylex", "kapake", "panadeine",
    "nurofen plus", "tylenol (?:3|with codeine)", "tramacet", "zydol", "oramorph",
    "zomorph", "sevredol", "targinact", "palexia", "butrans", "transtec", "norspan", "sublocade",
    "zubsolv",
    # Brand names in Australia (endone, panadeine forte, tramal), the UK (oxynorm, zamadol,
    # solpadol), India (fortwin, tidigesic, contramal, corex) and Canada (supeudol, statex).
    "endone", "oxynorm", "targin", "tramal", "durogesic", "jurnista", "kapanol", "ms contin",
    "mst continus", "physeptone", "biodone", "temgesic", "prodeine", "mersyndol", "longtec",
    "matrifen", "abstral", "effentora", "instanyl", "actiq", "fentora", "zamadol",
    "maxitram", "dromadol", "solpadol", "co dydramol", "codydramol", "remedeine",
    "df118", "dhc continus", "migraleve", "meptid", "meptazinol", "dipipanone", "diconal",
    "fortral", "fortwin", "tidigesic", "norphin", "contramal", "tramazac", "ultracet", "zaldiar",
    "corex", "phensedyl", "codistar", "proxyvon", "dextropropoxyphene", "darvocet", "supeudol",
    "statex", "doloral", "metadol", "oxyneo", "hydromorph contin", "kadian", "belbuca",
    "endocet", "roxicet", "xtampza", "hysingla", "zohydro", "opana", "exalgo", "tylox",
    # Street names.
    "percs", "roxies", "hydros", "vikes", "norcos", "fent", "fetty", "poppy tea",
)  # fmt: skip

_OPIOID_NAMES = rf"(?:{'|'.join(_OPIOIDS)})s?"
_PAIN = r"(?:pain\w*|ache\w*|aching|hurt\w*|sore\w*|tender\w*|agony)"
_RIGHT = r"(?:upper )?right (?:upper )?(?:belly|abdomen|tummy|stomach|ribs?|rib cage|quadrant)"
_PAINKILLERS = r"(?:pain ?killers?|pain (?:pills?|meds?|medications?))"
_FACE = r"(?:throat|tongue|lips?|face|mouth|eyelids?)"
_SWELLS = r"(?:tongue|lips?|throat)"
_BIG = r"big|bigger|huge|massive|thick|thicker|fat|fatter|enormous|too big|heavy"
_SHAKE = r"(?:shak\w*|shiver\w*|trembl\w*)"
_BREATH = r"(?:bre+a?th\w*|brath\w*)"  # breath, breathe, breathing, and "brethe", "breeth"
_UNABLE = (
    r"(?:cant|cnt|cnat|cannot|can not|can t|couldnt|could not|unable to|not able to|hard to"
    r"|harder to|difficult\w*(?: to| in)?|trouble|problems?(?: with)?|issues?(?: with)?"
    r"|struggl\w*(?: to)?|hard time|fighting to|(?:can )?(?:barely|hardly)"
    r"|(?:havent|hasnt|hadnt|wasnt|werent|isnt|arent|never|not) (?:been |really |even )?able to)"
)
# Doubt about oneself: "I don't think", "not sure", "can't tell", "no idea". Before a sign of an
# emergency it is no denial ("I don't think I can breathe", "not sure I want to live"): when
# unsure, escalate.
_HEDGE = (
    r"(?:(?:dont|do not|didnt|did not|doesnt|not|never) (?:\w+ )?(?:think|feel like|feel as if"
    r"|feel as though|know|sure|certain|convinced)|unsure|uncertain|(?:cant|cannot|can not"
    r"|couldnt|hard to|difficult to) (?:\w+ )?(?:tell|say|work out|figure out|be sure|know)"
    r"|no idea|wonder\w*|doubt\w*|questioning)"
)
_VOMIT = (
    r"(?:vom+it+\w*|throw\w* up|threw up|thrown up|puk\w*|spew\w*|barf\w*|cough\w* up"
    r"|heav\w* up|spit\w* up|spat up|brought up|bring\w* up|chuck\w* up|upchuck\w*|hurl\w*)"
)
# Blood, but not blood that was given ("felt sick after giving blood") or tested.
_BLOOD = (
    r"(?<!gave )(?<!giving )(?<!give )(?<!donating )(?<!donated )(?:blood|bloody|bleeding)"
    r"(?! (?:tests?|pressure|sugars?|work|draw|results?|count|donation|orange|type|group))"
)
_NOT_BLOOD_TEST = r"(?! (?:tests?|pressure|sugars?|work|draw|results?|count))"
_VOMITING = rf"(?:{_VOMIT}|vomit|being sick|been sick|retch\w*|heaving)"
_HEAD = r"(?:head ?aches?|head ?pains?|migraines?|pain in (?:my|the) head)"
_BELLY = r"(?:belly|stomach|stomache|stomack|tummy|abdomen|abdominal|gut|guts)"
_BAD = (
    r"(?:severe\w*|terribl[ey]|excruciating\w*|unbearabl[ey]|intense|agoni[sz]ing|awful|horrible"
    r"|horrendous|extreme\w*|sharp|stabbing|crippling|worst|(?:really|very|so|super) bad)"
)
_CRAMP = r"(?:pains?|aches?|cramps?|cramping|hurts?|hurting|agony)"
# A test for an infection, whose "positive" is not a pregnancy.
_NOT_INFECTION = (
    r"(?<!covid )(?<!covid19 )(?<!flow )(?<!flu )(?<!strep )(?<!pcr )(?<!antigen )(?<!blood )"
    r"(?<!covid 19 )(?<!rsv )(?<!uti )(?<!chlamydia )(?<!ana )(?<!allergy )(?<!skin prick )"
)
# "The surgery" as the GP's practice: where it is, and what it does.
_PRACTICE = (
    r"(?<!gp )(?<!gps )(?<!doctors )(?<!doctor )(?<!drs )(?<!dr )(?<!local )(?<!at the )"
    r"(?<!to the )(?<!from the )(?<!rang the )(?<!called the )(?<!phoned the )(?<!ring the )"
    r"(?<!call the )(?<!phone the )(?<!into the )(?<!outside the )(?<!practice )(?<!rang my )"
    r"(?<!called my )(?<!phoned my )(?<!ring my )(?<!call my )(?<!phone my )"
)
_PRACTICE_DOES = (
    r"(?:rang|rung|called|phoned|rings|calls|said|says|texted|sent|emailed|told|wrote|opening"
    r"|opens|closed|closes|is closed|receptionist|reception|staff|nurse|pharmacy|dispensary"
    r"|phone|number|website|app|car park|manager|letter|message|text)"
)
_ORGANS = r"(?:appendix|gall ?bladder|tonsils|adenoids|uterus|womb|ovar(?:y|ies)|spleen|cyst|lump)"
# What people see or hear that is not there.
_APPARITION = (
    r"(?:someone|somebody|some one|people|person|man|woman|men|women|figures?|faces?|shadows?"
    r"|child|children|kids?|things|voices?|footsteps|knocking|music|my name|whispers?\w*"
    r"|talking|someone \w+|somebody \w+|animals?|dogs?|cats?|spiders?|insects?|bugs)"
)
_VISION = (
    r"(?:things|faces?|figures?|shadows?|(?:a |the )?(?:man|woman|figure|face|shadow|child|girl"
    r"|boy)|bugs|insects|spiders|voices?|footsteps|knocking|music|my name|whisper\w*)"
)
_NUMBER = r"(?:\d+|two|three|four|five|six|seven|eight|nine|ten)"
# Low on capsules or energy, down to one capsule, sad about something in particular ("so sad my
# holiday is over"): not a low mood.
_NOT_MOOD = r"(?! (?:to|on|dose|in|energy|battery|iron|that|about|my|the|when|because|for)\b)"
# Low or blue at the head of a sentence, but about a number, the capsules or the news.
_NOT_MOOD_TOO = (
    r"(?! (?:\d|capsules?|pills?|ones?|caps|key|carbs?|fat|sugars?|calories|levels?|stock|supply"
    r"|side|with|news|story|film|movie|ending|song|book|show|again on|at|by|from|a bit on)\b)"
)
# Words that join a subject to how it is: "mood's been a bit", "my mood is really".
_LINK = (
    r"(?:is|was|s|been|has|have|feels|felt|feeling|seems|seemed|getting|gotten|gone|went|a|bit"
    r"|little|quite|really|very|so|pretty|kinda|kind|of|just|still|also|slightly|definitely)"
)

# A word between a subject and what it does, that is not a denial: "my heart is not racing".
_NOT_DENIED = r"(?:(?!not |no |never |isnt |wasnt |arent |doesnt |dont |didnt |stopped )\w+ )"
# The medicines a patient may count: "two nights' worth", "took mine twice".
_DOSE = r"(?:doses?|capsules?|caps|pills?|tablets?|ones?|lots?)"
# The names of days and nights whose doses can be taken together: "today's and tomorrow's".
_DAY = (
    r"(?:tonights|todays|last nights|yesterdays|tomorrows|this evenings|tomorrow nights"
    r"|mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays)"
)
# Head pain, and the head itself pounding or splitting: "head is pounding", "splitting head".
_HEAD_HURTS = (
    rf"(?:{_HEAD}|head (?:is |was |has been |keeps |feels )?(?:pounding|throbbing|splitting"
    r"|killing me|exploding)|(?:pounding|throbbing|splitting) head)"
)
# Light that hurts: with a bad headache, the sign of a bleed or of meningitis.
_LIGHT_HURTS = (
    r"(?:photophobi\w*|(?:the )?(?:light|lights|sunlight|brightness) (?:\w+ ){0,2}(?:hurt\w*"
    r"|kill\w*|unbearable|too bright|burn\w*|pierc\w*|stab\w*)|(?:cant|cannot|can t|couldnt"
    r"|could not) (?:stand|bear|look at|handle|take|cope with|open my eyes in) (?:the |any )?"
    r"(?:light|lights|brightness|sunlight|screen)|sensitiv\w* to (?:the )?light"
    r"|light sensitiv\w*)"
)
_STIFF_NECK = r"(?:stiff\w* neck|neck (?:\w+ ){0,2}stiff\w*|neck (?:\w+ )?(?:wont|cant) bend)"
# The signs of opioid withdrawal that a cold, flu or hay fever does not bring ("yawning",
# "goosebumps", "jittery", "skin crawling", "restless legs", big pupils), and those it shares
# ("sweating", "runny nose", "chills", "aches", "cramps", "sneezing"). One of the first with one
# of either, in a sentence, is withdrawal described by its signs.
_WITHDRAWAL_OWN = (
    r"(?:yawn\w*|goose ?(?:bumps?|flesh|pimples)|goosey|jitter\w*|restless (?:legs|and|all)"
    r"|(?:skin|skin is|skin feels) crawl\w*|crawling skin|dilated pupils|pupils (?:\w+ ){0,2}"
    r"(?:huge|massive|dilated|big|pinned))"
)
_WITHDRAWAL_SHARED = (
    r"(?:sweat\w*|runny nose|nose (?:\w+ ){0,3}running|(?:nose (?:is )?|nose wont stop )?"
    r"streaming(?: nose)?|chills|shiver\w*|shak\w*|aches|aching|achy|diarrh\w*|the runs"
    r"|cramps|sneez\w*|watery eyes|eyes (?:\w+ ){0,2}watering|hot and cold)"
)
# A colour that urine should never be: cola, strong tea, whisky, rust.
# "A wee bit dark" or "my wee treat" is Scots for small.
_URINE = (
    r"(?:urine|pee|pees|peeing|wee(?! (?:bit|one|ones|while|treat|dram|drop|nap|break))|wees"
    r"|piss)"
)
_URINE_COLOUR = (
    r"(?:colou?r of (?:\w+ )?(?:cola|coke|tea|coffee|rust|guinness|bovril|whisky|whiskey|treacle"
    r"|brandy|mahogany)|(?:cola|coke|tea|coffee|rust|rusty|guinness|bovril|whisky|whiskey"
    r"|treacle|brandy|mahogany) colou?red|like (?:strong |black |dark )?(?:tea|coffee|cola|coke"
    r"|guinness|bovril|whisky|whiskey|brandy))"
)

_PATTERNS: Mapping[str, tuple[str, ...]] = {
    "breathing": (
        # Struggling to breathe, in the many ways people say it, misspelt as often as not.
        rf"{_UNABLE} (?:seem to |\w+ly )?(?:my )?{_BREATH}",
        rf"{_BREATH} (?:is |feels |was |so |really |very )*(?:hard|difficult|laboured|labored"
        r"|shallow|tight|a struggle|an effort)",
        rf"not {_BREATH} (?:right|properly|well|normally|ok)"
        rf"|{_BREATH} (?:\w+ ){{0,2}}(?:isnt|is not|doesnt feel|does not feel|dont feel|not|aint"
        r"|wasnt) (?:\w+ )?(?:right|normal|ok|okay|good|great|easy)",
        r"short(?:ness)? of breath|out of breath|breathless\w*|gasping|wheez\w*"
        r"|(?:gasp|struggl|fight)\w* for (?:air|breath)",
        r"anaphyla\w*|suffocat\w*|chok(?:e|es|ed|ing)(?! up)|air hunger",
        r"(?:cant|cannot|couldnt|could not|unable to|not able to|struggl\w* to) (?:get|catch|take)"
        r" ... (?:air|breath)"
        rf"|{_UNABLE} (?:seem to )?(?:fill|expand|inflate) (?:up )?(?:\w+ )?lungs",
        # A tight chest, or a closing throat or airway ("hard to swallow" is usually the capsules).
        r"chest ... (?:tight\w*|closing)|tight\w* ... chest|(?:throat|airways?) ... (?:clos\w*"
        r"|tight\w*|block\w*)",
        # Swelling of the face, lips, tongue or throat. Swollen joints alone are the disease
        # being treated, not this sign, so "swollen" needs one of these parts nearby.
        rf"{_FACE} ... (?:swell\w*|swollen|puff\w*|blew up|blown up)"
        rf"|(?:swell\w*|swollen|puffy|puffed) ... {_FACE}",
        # A tongue, lips or throat that feel too big or thick: swelling, in the words people use
        # for it before they think of the word "swollen".
        rf"{_SWELLS} (?:\w+ ){{0,4}}(?:{_BIG})(?! (?:smile|grin|mouth|appetite|coat\w*|white|layer"
        r"|film|fur\w*|accent))"
        rf"|(?:{_BIG}) (?:\w+ )?{_SWELLS}",
        # Lips, fingers or face gone blue or grey: too little oxygen, whatever the words for
        # breathing ("blue in the face" from shouting is a figure of speech).
        r"(?:lips?|fingers?|fingertips|face|skin|mouth|tongue) (?:\w+ ){0,2}(?:gone|going|turn\w*"
        r"|went|are|is|look\w*|getting|a bit|bit|tinged|slightly) (?:\w+ )?(?:blue|bluish|blueish"
        r"|purple|grey|gray)(?! (?:capsules?|pills?|ink|paint|polish|lipstick|dye|in the face))"
        r"|(?:blue|bluish|blueish|purple) (?:lips|fingertips)",
        # Doubt about one's own breathing is trouble breathing: "I don't think I can breathe
        # properly", "can't tell if I'm breathing right", "not sure I'm getting enough air".
        # Which way one breathes ("not sure if I breathe through my mouth") is not this.
        rf"{_HEDGE} (?:if |whether |that )?(?:i|im|i am|ive|my|me) (?:\w+ ){{0,2}}(?:{_BREATH}"
        r"|(?:get\w*|got) (?:\w+ )?(?:enough )?(?:air|oxygen)|(?:enough )?(?:air|oxygen) in)"
        r"(?! (?:through|thru|in through|out through|exercises?|techniques?|app|with my))",
    ),
    "self_harm": (
        # Suicide named outright, and its slang (misspellings are caught by _FUZZY below).
        r"suicid\w*|su[i1]c[i1]d\w*|sewer ?slide|kms|unaliv\w*",
        # Harming or ending one's own life. An accident ("hurt myself at the gym") is not.
        r"(?:kill\w*|harm\w*|hang\w*|off|top|end\w*|burn\w*) my ?self|self ?harm\w*"
        r"|self injur\w*",
        r"(?:hurt\w*|cut\w*) my ?self(?! (?:at|lifting|playing|running|falling|gardening|shaving"
        r"|cooking|moving|carrying|exercising|on (?:a|the)|in (?:a|the)|with (?:a|the)|while"
        r"|when))",
        r"slit\w* (?:my )?wrists?|(?:jump\w*|throw\w* my ?self) (?:off|from|in front of)"
        r" (?:a|the) (?:bridge|building|roof|cliff|train|bus|car)",
        # Stepping in front of traffic, or driving into something on purpose.
        r"(?:step\w*|walk\w*|lie|lying|lay|laying|run\w*|ran) (?:out )?in front of (?:a|the|an)"
        r" (?:\w+ )?(?:bus|train|car|lorry|truck|tram|van|traffic)"
        r"|(?:drive|driving|drove|crash\w*|steer\w*) (?:my car |the car )?(?:into|off) (?:a|the)"
        r" (?:tree|wall|bridge|cliff|river|lake|sea|lorry|truck|oncoming)",
        r"(?:end|ending|take|taking) (?:my (?:own )?life|it all)",
        r"(?:want|wanna|going|gonna|about|how|ready|plan\w*|tempted|think\w*|thought\w*) (?:\w+ )?"
        r"(?:to )?end it(?! with)",
        # A plan to take every pill at once, said outright or as a thought that keeps coming
        # ("keep thinking about taking all my pills and not waking up"). The intent word is
        # needed: "I take all my pills together in the morning" is a routine, and so is wanting
        # to take them all together with breakfast.
        r"(?:going|gonna|want\w*|wanna|plan\w*|think\w*|thought|tempted|about|urge|imagin\w*"
        r"|fantasi[sz]\w*|dream\w* of|feel\w* like|felt like) (?:\w+ ){0,2}(?:to )?(?:take|taking"
        r"|swallow\w*|down\w*) (?:all|every|the whole|a whole|a load of|loads of|a handful of)"
        r" (?:\w+ ){0,3}(?:at once|together|in one go|bottle|packet|box|and (?:not|never) wak\w* up"
        r"|in the (?:house|cupboard|drawer|cabinet)|i (?:have|own|can find|could find|can get|had)"
        r"|left|there is)(?! (?:\w+ ){0,2}(?:morning|evening|bedtime|breakfast|dinner|lunch|food"
        r"|meals?))",
        # Pills saved up for the purpose, and a plan for how or when: the signs that thoughts
        # have become a plan. "Planning how I'd do it" said on its own is about that.
        # Saved "in case" counts, unless the case is an everyday one ("in case the pharmacy is
        # late"): "saving my tablets in case" said alone is a plan kept in reserve.
        r"(?:stockpil\w*|hoard\w*|sav\w* up|stash\w*|hid\w*|hiding|squirrel\w* away|put\w* aside"
        r"|set\w* aside|keep\w* back|kept back) (?:\w+ )?(?:my |the |all my |all the |some |a few"
        r" )?(?:pills|tablets|capsules|meds|medication|painkillers|paracetamol)(?! (?:for (?:the"
        r" |my |a )?(?:holiday|trip|travel|weekend|journey|flight)|to take (?:away|with)|in case"
        r" (?:the |my |i |we |of )?(?:pharmacy|chemist|prescription|script|delivery|order|post"
        r"|supply|gp|doctor|run out|forget|lose|need more|travel|go away|am away|miss|delays?"
        r"|a delay|shortages?|a shortage|emergenc\w*|the (?:pharmacy|chemist|post)|lose)|from"
        r" (?:the |my |our )?(?:kids|children|grandkids|grandchildren|toddler|baby|dogs?|cats?"
        r"|pets?|visitors|grandson|granddaughter)))"
        r"|(?:stash|hoard|stockpile) of (?:\w+ )?(?:pills|tablets|capsules|meds|painkillers)"
        r"|(?:if|in case|when|once) (?:i )?(?:\w+ )?(?:decide|get the (?:courage|nerve)"
        r"|am brave enough|find the (?:courage|nerve|strength)) to (?:go through with it|do it)"
        r"|(?:brave enough|courage|nerve|strength) (?:\w+ )?to go through with it",
        r"(?:plan\w*|work\w* out|figur\w* out|decided|know|thought about|thinking about)"
        r" (?:exactly )?(?:how|when|where) (?:id|i would|ill|i will|i could|to|im going to"
        r"|im gonna) (?:do it|end it|go through with it)(?:$| (?:and|but|so|now|already|tbh"
        r"|honestly|really|soon|tonight|not)\b)",
        # Not wanting to live.
        r"(?:wants?|wanna|wanting|wish|ready) (?:\w+ ){0,2}(?:to )?die(?! down| off| out)",
        r"wish i (?:was|were) dead|feel like dying|(?:want|wish|need) (?:it all|everything"
        r"|all of it|my life) to (?:end|stop|be over)",
        r"(?:dont|do not|doesnt|does not|no longer|not|never) (?:\w+ )?(?:wants? to|wanna)"
        r" (?:live|be (?:here|alive|around)|wake up|exist)"
        r"|(?:go to sleep|fall asleep|sleep|go to bed) and (?:never|not) wak(?:e|ing) up",
        # Hoping not to wake up ("I hope I don't wake up at 3 again" is about sleep).
        r"(?:wish|hope|hoping|pray\w*|want|wanna) (?:\w+ ){0,2}(?:not|never|wouldnt|didnt|dont"
        r"|wont) (?:to )?wak(?:e|ing) up(?! (?:at|in|during|early|again|every|so|before|with|too"
        r"|as|until|til|tonight|tomorrow|this|for|feeling|tired|groggy))",
        r"(?:better|best) off (?:dead|without me|if im (?:dead|gone)|if i (?:was|were|am)"
        r" (?:dead|gone))",
        r"no (?:reason|point) (?:to|in) (?:live|living|going on)|not worth living"
        r"|point (?:in|of|to) (?:living|going on|being alive)"
        r"|(?:dont|do not|cant|cannot) see (?:the |any |a )?point (?:in|of|to) (?:\w+ )?(?:living"
        r"|life|going on)"
        r"|life (?:is not|isnt|aint) worth",
        # Finding out how: how many pills "it would take", a lethal dose, a painless way. "How
        # many capsules would it take to get to 4.5 mg" asks about the plan, not this.
        r"(?:look\w* up|looked|research\w*|googl\w*|search\w*|read\w* (?:up|about)|thought about"
        r"|think\w* about|wonder\w*|work\w* out|worked|figur\w* out|calculat\w*|count\w*"
        r"|check\w*) (?:on )?how (?:many|much) (?:\w+ ){0,4}(?:it would|would it|it will|will it"
        r"|it takes|does it|itd|it d|would|will) (?:take|be enough|do it|kill me|be fatal"
        r"|be lethal)(?! to (?:get|reach|go|step|make|build|titrate|work|kick|help|start|settle"
        r"|feel|notice|see|arrive|come))"
        r"|how (?:many|much) (?:\w+ ){0,4}(?:would|will|does|did|could|to|it would|would it"
        r"|it will|will it|it takes|does it|do you need to|do i need to|you need to) (?:\w+ )?"
        r"(?:take )?(?:to )?(?:die|kill (?:me|myself|you|someone|a person)|be fatal|be lethal"
        r"|not wake up|overdose|od)\b"
        r"|(?:lethal|fatal|deadly) (?:dose|amount|overdose)|(?:dose|amount|much|many) (?:\w+ ){0,4}"
        r"(?:is|are|would be|would|to be) (?:lethal|fatal|deadly)"
        r"|(?:ways?|methods?) (?:\w+ )?(?:to die|of dying|to end (?:it|things|my life))"
        r"|painless (?:way|death|method|exit)",
        # Saying goodbye: letters or notes left for the family, goodbyes said, belongings given
        # away, affairs put in order. A thank-you letter or a birthday card is not this.
        r"(?:goodbye|good bye|farewell|suicide) (?:letters?|notes?|messages?|texts?|videos?)"
        r"|(?:said|saying|say|sayin) (?:my )?(?:final |last )?goodbyes(?! to (?:the|my) (?:old )?"
        r"(?:house|flat|home|job|team|colleagues|office|class|students))"
        r"|(?:writ\w*|wrote) (?:\w+ ){0,3}(?:letters?|notes?) (?:\w+ ){0,2}(?:for|to) (?:everyone"
        r"|everybody|my (?:family|kids|children|wife|husband|partner|son|daughter|sons|daughters"
        r"|mum|mom|parents|girls|boys)|the (?:kids|family|children|girls|boys))(?! (?:\w+ ){0,3}"
        r"(?:birthday|christmas|xmas|thank\w*|holiday|school|teacher|party|trip|camp))"
        r"|(?:letters?|notes?|will|things|stuff) (?:\w+ ){0,4}(?:for|in case|when|after|once)"
        r" (?:im|i am) (?:gone|not here|not around|dead)"
        r"|(?:giv\w*|gave) away (?:all )?(?:my|of my) (?:things|stuff|belongings|possessions)"
        r"|(?:giv\w*|gave) (?:all )?(?:my|of my) (?:things|stuff|belongings|possessions) away"
        r"|(?:put\w*|get\w*|got) my (?:affairs|things) in order",
        # Others better off, or the world easier, without the patient in it; wishing never to
        # have been; rather dead.
        r"(?:easier|better|simpler|happier|fine|ok|okay|best) (?:\w+ ){0,4}(?:if|when|once) i"
        r" (?:\w+ ){0,2}(?:wasnt|werent|was not|were not) (?:here|around|alive|in the picture"
        r"|about|in the way)"
        r"|(?:easier|better|simpler|happier|fine|best) (?:\w+ ){0,4}(?:if|when|once) i (?:\w+ )?"
        r"(?:was gone|were gone|disappeared|vanished|died|didnt exist|did not exist|never existed"
        r"|stopped existing|went away for good|had never been born)"
        r"|wish (?:i )?(?:\w+ )?(?:wasnt|werent|was not|were not) (?:here|alive|around|born)"
        r"|wish i (?:had )?(?:never|not) (?:been born|existed)|wish i didnt exist"
        r"|(?:rather|sooner) (?:be dead|die|not be here|not be alive|not exist|not wake up)",
        # Tired of being alive; wanting to disappear for good ("disappear under the duvet for
        # a week" is a rest).
        r"(?:tired|sick|weary|done|finished|had enough) (?:of|with) (?:living|being alive|existing"
        r"|life(?! (?:admin|insurance|coach|stuff|in|at|here|there)))"
        r"|(?:want|wanna|wish|wishing|wished|like|need|tempted|could|going) (?:\w+ ){0,2}(?:to )?"
        r"(?:disappear|vanish|cease to exist|stop existing|not exist)(?! (?:under|into|to|for a"
        r"|for the|for some|off|on (?:a|holiday)|abroad|from (?:work|social)))"
        r"|(?:disappear|vanish|go away) (?:for good|forever|for ever|permanently)",
        # Doubt about wanting to live is no denial of it: "not sure I want to live", "don't know
        # if I want to wake up tomorrow", "not sure life is worth living", "don't care if I live
        # or die". Where to live ("not sure I want to live in the city") is not this.
        rf"{_HEDGE} (?:if |whether |that |why )?(?:i|im|i am|part of me) (?:\w+ ){{0,2}}(?:wants?"
        r"|wanna|care|wish) (?:to )?(?:live(?! (?:in|at|near|with (?:my|him|her|them|a|someone"
        r"|somebody|people|roommates?|flatmates?|housemates?|friends?|family|partner|boyfriend"
        r"|girlfriend|husband|wife|mum|mom|dad|parents)|there|abroad|here|on|by|next|together"
        r"|alone|close|somewhere|anywhere|off|out)\b)|be alive|stay alive|keep living|go on living"
        r"|carry on living|exist|be (?:here|around)(?! (?:for|at|in|with|when|on)\b)"
        r"|wake up(?! (?:at|in|early|so|before|during|for|every|with|and take|to take)\b)"
        r"|(?:go on|carry on|keep going)(?=$| any ?more| like this| living))"
        r"|(?:dont|do not|didnt|barely|hardly|no longer|not sure i|not sure if i) (?:really |even"
        r" |much )?care (?:\w+ )?(?:if|whether) i (?:live|die|wake up|make it|am alive|survive)"
        rf"|{_HEDGE} (?:if |whether |that )?(?:(?:life|lifes|living|being alive|staying alive"
        r"|going on|carrying on) (?:is |s |even |really |still |truly )*worth (?:it|living"
        r"|going on|carrying on|the (?:effort|bother|struggle|pain))|its (?:even |really |still )*"
        r"worth (?:living|going on|carrying on|being alive|staying alive))"
        r"|is (?:life|living) (?:even |really |still )*worth (?:it|living)"
        rf"|{_HEDGE} why (?:im|i am|i) (?:still |even )*(?:alive|living|bother (?:living"
        r"|waking up|going on))",
    ),
    "chest_pain": (
        # Pain, pressure or heaviness in the chest: a heart attack until shown otherwise.
        rf"chest ?{_PAIN}|chest ... {_PAIN}|{_PAIN} (?:\w+ ){{0,5}}chest|chest ... killing me",
        # "Like an elephant sitting on my chest": the classic words for a heart attack.
        r"chest (?:\w+ ){0,4}(?:elephant|weight on)|(?:elephant|weight) (?:\w+ ){0,3}chest",
        r"(?:pressure|squeez\w*|crush\w*|heav\w*|weight|burning|stabbing|tight\w*) ... chest"
        r"|chest ... (?:pressure|crush\w*|heav\w*|squeez\w*)",
        r"heart attack|angina|cardiac arrest",
    ),
    "seizure": (
        # A seizure, a convulsion, a fit; shaking or jerking that cannot be stopped.
        r"(?:seizure|siezure|seizer|seziure|sizure)s?|convuls\w*|epilep\w*|grand mal"
        r"|tonic clonic",
        r"(?:had|having|have|has|another|took|throwing|threw|epileptic) (?:a |some |another )?"
        r"fits?(?! of| about| over)|(?:was|been|started|start|am|im) fitting"
        r"|(?:my|the|these|those) fits|fits (?:as a|when i|since|again|are back|came back|have come"
        r" back|started|returned)",
        r"(?:shak\w*|jerk\w*|twitch\w*) (?:\w+ )?(?:uncontroll\w*|violent\w*)"
        r"|(?:uncontroll\w*|violent\w*) (?:shak\w*|jerk\w*)"
        r"|(?:body|arms?|legs?) (?:\w+ ){0,2}(?:jerk\w*|convuls\w*)",
    ),
    "vomiting_blood": (
        # Blood brought up from the stomach (or coughed up): bleeding inside, an emergency.
        rf"{_VOMIT} (?:\w+ ){{0,4}}blood{_NOT_BLOOD_TEST}|blood{_NOT_BLOOD_TEST} (?:\w+ ){{0,4}}"
        r"(?:sick|vom+it+\w*|threw up|throwing up|puk\w*)|bloody (?:vomit|sick|puke)",
        r"coffee grounds?|ha?ematemesis",
        # Black or dark vomit is old blood.
        r"(?:my|the|it) (?:vomit|sick|puke) (?:is|was|looks|looked|had|has|with|came up)"
        r" (?:\w+ ){0,2}(?:black|dark|red|blood|bloody)"
        r"|(?:black|dark) (?:vomit|sick)",
        # Being sick (the British for vomiting) with blood in it, and vomit said to be red
        # ("spewing up red stuff"): red that is not wine, sauce or a drink counts.
        rf"(?:was|been|being|got|get|am|im|is) sick (?:\w+ ){{0,6}}{_BLOOD}"
        rf"|{_BLOOD} (?:\w+ ){{0,2}}in (?:my |the )?(?:sick|vomit|puke)",
        rf"{_VOMITING} (?:\w+ ){{0,5}}(?:bright red|red (?:stuff|bits|streaks|liquid|specks|flecks"
        r"|colou?r|lumps|clots)|streaks? of red|pink (?:stuff|streaks)|blood ?stained|bloodied)"
        rf"|{_VOMITING} (?:\w+ ){{0,4}}(?:it|sick|vomit|puke|stuff|that) (?:was|is|looked|looks"
        r"|came out|came up) (?:all |bright |dark |kind of |kinda |a bit |quite )?red"
        r"(?! (?:wine|bull|sauce|pepper|cabbage|onion|juice|drink|jelly|lolly|berries))",
    ),
    "headache_worst": (
        # The worst headache of one's life, or one that comes on like a thunderclap: the
        # warning of a bleed in the brain. An everyday headache is an expected effect, not this.
        rf"worst (?:\w+ ){{0,2}}{_HEAD}|{_HEAD} (?:\w+ ){{0,8}}worst (?:ever|of my life|in my life"
        r"|ive ever|i have ever|i ever)",
        rf"thunder ?clap|sudden\w* (?:\w+ ){{0,2}}{_HEAD}|{_HEAD} (?:\w+ ){{0,5}}(?:sudden\w*"
        r"|out of nowhere|out of the blue)",
        rf"(?:severe|excruciating|unbearable|blinding|agoni[sz]ing|explosive|exploding"
        rf"|horrendous|crushing) {_HEAD}|{_HEAD} ... (?:stiff neck|neck (?:is )?stiff)",
        r"head (?:\w+ ){0,5}(?:explod\w*|burst\w*|split\w* open)",
        # Worst-ever said without "worst": "the most horrible head pain I've ever had", "never
        # had a headache like this", "a headache like nothing I've ever had".
        rf"{_HEAD} (?:\w+ ){{0,3}}(?:ive|i have|i ve|id|i had|i d) (?:ever|never) (?:had|felt"
        r"|experienced|known)"
        rf"|(?:never|not ever) (?:\w+ ){{0,2}}(?:had|felt|experienced|known) (?:\w+ ){{0,3}}{_HEAD}"
        r" (?:\w+ ){0,2}(?:like (?:this|it|that)|this bad|so bad|as bad)"
        rf"|{_HEAD} (?:\w+ ){{0,2}}like (?:nothing|none|no other) (?:\w+ ){{0,3}}(?:had|felt"
        r"|experienced)",
        # A bad headache with light that hurts, or with a stiff neck: a bleed, or meningitis.
        rf"{_BAD} (?:\w+ ){{0,2}}{_HEAD_HURTS} (?:\w+ ){{0,8}}(?:{_LIGHT_HURTS}|{_STIFF_NECK})"
        rf"|{_HEAD_HURTS} (?:\w+ ){{0,3}}{_BAD} (?:\w+ ){{0,6}}(?:{_LIGHT_HURTS}|{_STIFF_NECK})"
        rf"|{_LIGHT_HURTS} (?:\w+ ){{0,8}}{_BAD} (?:\w+ ){{0,2}}{_HEAD_HURTS}"
        rf"|{_HEAD_HURTS} (?:\w+ ){{0,8}}{_LIGHT_HURTS} (?:\w+ ){{0,8}}(?:{_STIFF_NECK}|fever"
        r"|temperature|vomit\w*|throw\w* up|confus\w*)",
    ),
    "opioids": (
        # The class named outright, and every opioid medicine or street drug we know by name.
        r"opi(?:oid|od|ate)s?|narcotics?",
        _OPIOID_NAMES,
        # Prescribed or strong painkillers, often an opioid after surgery, dental work or injury.
        rf"prescri\w* ... (?:{_PAINKILLERS}|pain relief)|strong {_PAINKILLERS}",
        rf"{_PAINKILLERS} ... (?:after|from) ... (?:surgery|operation|dentist|dental|procedure"
        r"|injury|accident|hospital|er)",
        # Something for the pain, given or prescribed: an opioid until a provider knows what.
        # A medicine known not to be one ("gave me ibuprofen for the pain") is not this.
        r"(?:gave|give|given|giving|prescribed|sent|discharged|started|put) me (?:(?!ibuprofen"
        r"|paracetamol|acetaminophen|advil|aspirin|naproxen|diclofenac|voltaren|celecoxib"
        r"|gabapentin|pregabalin|amitriptyline|antibiotics|cream|gel|ice|heat)\w+ ){0,4}for"
        r" (?:the |my )?pain"
        r"|(?:shot|jab|injection|drip) (?:of \w+ )?for (?:the |my )?pain",
    ),
    "overdose": (
        # Too much taken: an overdose named, too many capsules, the whole bottle.
        r"overdos\w*|over dos\w*",
        r"(?:took|taken|take|taking|swallowed) (?:\w+ ){0,2}too (?:many|much)"
        r"|too (?:many|much) (?:ldn|naltrexone|capsules?|pills?|tablets?|doses?|of (?:it|them))",
        r"(?:took|taken|swallowed) (?:the )?whole (?:bottle|packet|pack|box|strip)"
        r"|(?:took|taken|swallowed) all (?:of )?(?:my|the) (?:capsules|pills|tablets)",
        # A double dose: doubled, taken twice, taken again, two nights' doses together.
        r"doubl\w* (?:up|dose\w*|dosed|(?:my|the|a) (?:dose|capsules?|pills?))"
        r"(?! (?:in|with) pain)",
        r"(?:two|2|both|three|3) doses|dose twice|(?:twice|double) (?:my|the) (?:dose|amount)"
        r"|handful of (?:capsules|pills|tablets)|(?:took|taken|take|had|swallowed) (?:it|mine"
        r"|my dose|the dose|a dose|my ldn|ldn|my naltrexone|my capsules?|the capsules?|my pills?"
        r"|them"
        r"|(?:tonights|todays|last nights|this evenings)(?: dose| one| capsules?| pills?)?)"
        r" (?:\w+ )?(?:twice|two times|2 times|2x|x2|again(?! (?:tonight|today|this evening)))",
        r"(?:took|taken|take|had|swallowed) (?:an? )?(?:another|second|extra|additional|one more)"
        r" (?:dose|capsule|pill|tablet)s?",
        # Two days' doses together, named by their days or counted in nights ("today's and
        # tomorrow's", "two nights' worth").
        rf"(?:tonights|todays) and (?:last nights|yesterdays|tomorrows)"
        rf"|{_DAY} and {_DAY}(?= (?:\w+ )?(?:{_DOSE}|together|at once|by|in one go))"
        rf"|(?:took|taken|swallowed|had|popped|taking) (?:both )?{_DAY} and {_DAY}"
        r"|(?:took|taken|take|swallowed|had|popped) (?:both|two)"
        r" (?:\w+ )?(?:at once|together)"
        r"|(?:took|taken|take|swallowed|had|popped|gave me|given me) (?:\w+ ){0,3}(?:two|2|both"
        r"|three|3|several|a few|a couple of|couple of|double|a (?:weeks?|few days)) (?:nights?"
        r"|days?|evenings?)s? (?:worth|doses?)",
        # The wrong capsules or the wrong count: a dose error the provider must hear about.
        r"(?:capsules?|caps|pills?|tablets?|mg|dose) instead of"
        rf"|(?:took|taken|swallowed|had|popped) (?:\w+ )?{_NUMBER} (?:\w+ )?instead of"
        r"|wrong (?:dose|capsules?|strength|pills?)",
        r"(?:by mistake|accident\w*) (?:took|taken|double\w*|swallowed|popped)|(?:took|taken"
        r"|swallowed|popped) (?:\w+ ){0,5}by (?:mistake|accident)|(?:only|just) (?:meant|supposed)"
        r" to (?:take|have)",
        # A second dose taken after forgetting the first: "forgot I'd had it and took another",
        # "took it at 9 and again at 11", "took another one". "Took another look" is not a dose,
        # and "had another one" may be a fit or a headache.
        r"(?:(?:already|earlier|before|forgot|forgotten) (?:\w+ ){0,5}(?:took|taken|take|had"
        r"|swallowed|popped) (?:\w+ )?(?:another|a second|more|one more|an extra|again)"
        r"|(?:took|taken|swallowed|popped) another)(?=$| (?:one|dose|capsules?|pills?|tablets?"
        r"|of (?:them|it|my)|by|as|because|cos|but|so|then|too|tonight|accidentally|anyway|oops"
        r"|without|and|an hour|later|\d))"
        r"|(?:took|taken|had) (?:it|my dose|my ldn|them|my capsules?) (?:\w+ ){0,3}and again",
        # One, then another ("had one at 10 then another at midnight"), or a second dose given
        # by someone else: "my partner gave me a second dose".
        r"(?:took|taken|had|swallowed) (?:one|it|a dose|my dose|my capsules?|the capsules?|my ldn)"
        r" (?:\w+ ){0,4}(?:then|and|and then) (?:\w+ )?(?:another|again|a second)(?! (?:look|go"
        r"|try|time|day|night|week))"
        r"|(?:gave|given|give|giving) me (?:\w+ )?(?:another|a second|an extra|extra|double|two|2)"
        r" (?:doses?|capsules?|pills?|tablets?|lots?)",
        # A dose taken, or given, by someone who did not know it had been taken already: "gave
        # me mine not knowing I'd already taken it". A reminder answered "already taken it" is
        # not this: the second dose must be told.
        r"(?:gave me|took|taken|had|swallowed|popped) (?:\w+ ){0,2}(?:not knowing|without"
        r" (?:knowing|realising|realizing|thinking)|forgetting|forgot|didnt (?:realise|realize|know"
        r"|remember)|not (?:realising|realizing|remembering)) (?:\w+ ){0,2}(?:already|had already"
        r"|previously)",
    ),
    "withdrawal": (
        # Withdrawal named, or the feeling of a detox or of stopping cold.
        r"withdrawals?|(?:im|am|been|be|going through|in) withdrawing|detox\w*|dope ?sick"
        r"|cold turkey|clucking",
        # Its signs: goose bumps, cold sweats, sweating with shaking or chills, yawning with a
        # runny nose.
        r"goose ?(?:bumps?|flesh|pimples)|cold sweats?",
        rf"sweat\w* ... {_SHAKE}|{_SHAKE} ... sweat\w*",
        r"(?:chills|shivers|shivery) ... sweat\w*|sweat\w* ... (?:chills|shivers)",
        # Withdrawal described by its signs: one that a cold or hay fever does not bring
        # (yawning, goosebumps, jitters, skin crawling, restless legs) with any other.
        # Signs put down to coffee, a cold or a workout in the same breath are not this.
        rf"(?:{_WITHDRAWAL_OWN} (?:\w+ ){{0,10}}{_WITHDRAWAL_SHARED}"
        rf"|{_WITHDRAWAL_SHARED} (?:\w+ ){{0,10}}{_WITHDRAWAL_OWN}"
        r"|yawn\w* (?:\w+ ){0,10}(?:goose|jitter\w*|restless|crawl\w*|pupils)"
        r"|(?:goose ?\w+|jitter\w*|restless|crawl\w*|pupils) (?:\w+ ){0,10}yawn\w*)"
        r"(?! (?:\w+ ){0,4}(?:coffee|caffeine|espresso|energy drinks?|a cold|the cold|flu|covid"
        r"|hay ?fever|workout|the gym|a run|my run))",
    ),
    "fainting": (
        # Fainting, passing out, blacking out, collapsing: a loss of consciousness, whatever
        # the cause, is for a provider to look at before the next dose.
        r"faint(?:ed|ing|s)?(?! (?:line|smell|taste|glow|memory|idea|hope|sound|trace|mark|scar"
        r"|hint|rash|light|outline|pink|blue|red|yellow|voice|whiff))",
        r"(?:pass(?:ed|ing|es)?|past|pased) out(?! (?:the|leaflets|flyers|papers|cake|sweets))",
        # Blacking out a window or a room is covering it.
        r"black(?:ed|ing|s)? out(?! (?:curtains?|blinds?|(?:the|my|our|all the|all my|a|some)"
        r" (?:\w+ )?(?:windows?|rooms?|bedrooms?|screens?|glass|names?|text|details|lights?"
        r"|curtains?|blinds?|nursery|bits|lines|parts|dates?|faces?)|it|them|windows?))"
        r"|blackouts?(?! (?:curtains?|blinds?))",
        r"collaps\w*|(?:lost|lose|losing|loss of) consciousness|unconscious\w*|keeled over"
        r"|swoon\w*|syncope|vasovagal",
        r"was on the (?:floor|ground)|hit the (?:floor|deck)|(?:everything|it all|the world) went"
        r" (?:black|dark)",
        # Waking or coming round on the floor, found there, dropping like a stone; dizziness
        # and then the next thing remembered.
        r"(?:woke|wake|waking|came to|come to|coming to|came round|come round|coming round"
        r"|came around|came back round|found myself|find myself|ended up|found me|find me)"
        r" (?:up )?(?:\w+ ){0,2}on (?:the|my|our) (?:\w+ )?(?:floor|ground|pavement|carpet|tiles"
        r"|deck)|(?:dropped|went down|fell) like a (?:stone|sack|rock|ton|lead)"
        r"|(?:dizzy|light ?headed|woozy|spinning|went (?:fuzzy|grey|gray|blurry|black|dark))"
        r" (?:\w+ ){0,8}(?:next thing|came round|came to|woke up|on the (?:\w+ )?(?:floor|ground)"
        r"|hit my head)|next thing i (?:knew|know|remember) (?:\w+ ){0,4}(?:floor|ground"
        r"|ambulance|paramedics|hospital)",
    ),
    "liver": (
        # Jaundice: yellow skin or eyes, however far apart the words ("the whites of my eyes have
        # gone a bit yellow"), or the patient looking or turning yellow.
        r"jaundice\w*|yellow\w* ... (?:eyes?|skin|whites)"
        r"|(?:eyes?|skin|whites) (?:\w+ ){0,5}yellow\w*",
        r"(?:look\w*|gone|going|turn\w*|went|getting|im|i am) (?:\w+ ){0,2}(?:yellow\w*|jaundiced)"
        r"(?! (?:capsules?|pills?|ones?|labels?|lights?|cards?|car|dress|top|shirt|jumper|flowers?"
        r"|paint|walls?|sticky|post))",
        # Dark urine; pale or clay-coloured stools.
        rf"dark ... {_URINE}|{_URINE} ... (?:dark|brown)",
        # Urine the colour of cola, strong tea or whisky, however the words fall.
        rf"{_URINE} (?:\w+ ){{0,6}}(?:{_URINE_COLOUR}|darker|browner)"
        rf"|{_URINE_COLOUR} (?:\w+ ){{0,3}}{_URINE}",
        r"(?:pale|clay|white|grey|gray|light colou?red) ... (?:stools?|poops?|poos?|feces|faeces)",
        r"(?:stools?|poops?|poos?|feces|faeces) ... (?:pale|clay|white|grey|gray)",
        # Pain under the right ribs, where the liver sits; the liver itself named.
        rf"{_PAIN} ... {_RIGHT}|{_RIGHT} ... {_PAIN}|under (?:my |the )?right ribs?",
        rf"{_PAIN} ... right side of (?:my |the )?(?:belly|abdomen|tummy|stomach)",
        # The same place said the other way round: under the ribs, on the right.
        r"(?:under|below|beneath) (?:my |the )?(?:ribs?|rib ?cage) (?:\w+ ){0,2}(?:on )?"
        r"(?:the |my )?right|right (?:hand )?side (?:\w+ ){0,2}of (?:my |the )?(?:ribs?|rib ?cage)"
        r"|right (?:\w+ ){0,3}(?:under|below|beneath) (?:my |the )?(?:ribs?|rib ?cage)"
        r"|(?:ribs?|rib ?cage) on (?:the|my) right",
        r"liver|hepat\w*",
    ),
    "pregnancy": (
        # Pregnant, perhaps pregnant, or expecting ("expecting a parcel" is not).
        r"pregnan\w*|preg(?:gers|go|o|ers)|knocked up|bun in the oven|morning sickness",
        r"expecting (?:a |our |my )?(?:baby|child|twins|first|second|third|little)|expecting$"
        r"|baby ... on the way|(?:two|2) (?:pink |blue )?lines",
        # A period missed or late.
        r"(?:missed|late) (?:my )?periods?|periods? (?:\w+ ){0,3}late"
        r"|(?:no|havent had|not had|hasnt come|didnt get|havent got) (?:a |my )?periods?"
        r"|periods? (?:hasnt|has not|didnt|did not) (?:come|arrive|start)",
        # Planning a pregnancy.
        r"(?:trying|try|want\w*|plan\w*|hoping) (?:\w+ )?(?:to |for )?(?:conceive|get pregnant"
        r"|have a baby|(?:a )?baby|start a family)|conceiv\w*|ivf|fertility treatment",
        # Breastfeeding.
        r"breast ?(?:feed\w*|fed)|chest ?feed\w*|nursing (?:my )?(?:baby|son|daughter|newborn"
        r"|infant|little one)|(?:pumping|expressing) (?:breast )?milk"
        r"|(?:im|i am|still|currently) nursing(?! (?:a|an|my) (?:cold|injury|hangover|grudge|drink"
        r"|wound|headache|sore))",
        # The slang of a pregnancy test, of its weeks and of trying: "positive test", "8 weeks
        # gone", "ttc", "we're expecting". A positive covid or flu test is not this.
        rf"{_NOT_INFECTION}positive (?:test|pee stick|stick|hpt|result|pg test)(?! for (?!preg))"
        rf"|{_NOT_INFECTION}(?:test|stick|hpt) (?:was|is|came back|came up|showed|shows|turned"
        r"|says|said) (?:\w+ )?positive(?! for (?!preg))|bfp|(?:2|two) lines on (?:the|a) test",
        rf"{_NUMBER} (?:\w+ )?(?:weeks?|wks?|months?) (?:gone|along)(?! (?:\w+ )?(?:since|by|and"
        r"|of|in|now since|already))|\d+ ?(?:weeks?|wks?|w) (?:\d+ ?d(?:ays?)? )?"
        r"(?:preg|pg)|trimester|midwife|ante ?natal|pre ?natal|(?:dating|booking|12 week|20 week"
        r"|baby|anomaly) scan",
        r"ttc|trying for (?:a |another |our |my )?(?:baby|babies|little one|number|no|second|third"
        r"|family|sibling|another|kids?)|(?:im|i am|were|we are|officially|currently) expecting"
        r"(?:$| (?:again|in|twins|number|our (?:first|second|third|fourth|rainbow)"
        r"|my (?:first|second|third|fourth|rainbow)|a (?:baby|little|girl|boy)))",
        # Not pregnant "yet" is a pregnancy hoped for: planning one, which withholds LDN as a
        # pregnancy does. "Not pregnant" alone denies it.
        r"(?:not|no|isnt|arent|havent|hasnt|nothing) (?:\w+ ){0,2}(?:pregnan\w*|preggers|preggo"
        r"|bfp|baby|positive(?: (?:test|result|stick|hpt))?) (?:just |quite )?yet",
    ),
    "surgery": (
        # Surgery, or a procedure under anaesthesia or sedation. In Britain "the surgery" is also
        # the GP's practice ("my surgery rang", "at the surgery", "GP surgery"): not this, unless
        # its site, wound or date is named.
        rf"{_PRACTICE}surg(?:ery|eries)(?! {_PRACTICE_DOES})|surg(?:ery|eries) (?:site|wound|scar"
        r"|date)|surg(?:ical|eon)|operation|operated|(?:an|my|the) op|ana?esthe\w*",
        r"(?:knee|hip|back|spine|spinal|shoulder|ankle|foot|hand|wrist|heart|eye|bowel|hernia"
        r"|keyhole|day|minor|major) ops?|pre ?op|post ?op|under the knife",
        r"sedat(?:ion|ed)|(?:c|caesarean|cesarean) section|\w+ectom(?:y|ies)|\w+oscop(?:y|ies)"
        r"|\w+plast(?:y|ies)|biops\w*|(?:knee|hip|joint|shoulder|valve) replacement",
        r"(?:medical|surgical|minor|day) procedure|procedure ... (?:hospital|sedat\w*|ana?esth\w*)",
        # Having an organ or a lump taken out.
        rf"{_ORGANS} (?:\w+ )?(?:out|removed|removal)"
        rf"|(?:remov\w*|tak\w* out) (?:my |the )?{_ORGANS}",
        # Dental work: extractions, wisdom teeth, root canals, implants.
        r"dental (?:work|surgery|procedure|treatment|implants?)|root canal|wisdom (?:tooth|teeth)",
        r"(?:tooth|teeth) ... (?:extract\w*|pulled|removed|out)"
        r"|(?:extract\w*|pull\w*|remov\w*) ... (?:tooth|teeth)",
    ),
    "allergy": (
        # Hives, welts or a rash; a pet "called Rash" is not one.
        r"hives|hivs|hivey|urticaria|welts?|(?<!called )(?<!named )rash(?:es|y)?",
        r"(?:broke|break\w*|came|come|coming) out in (?:spots|bumps|blotches|lumps|a rash|red)",
        r"itchy (?:bumps|lumps|blotches|welts|all over|red)|red (?:itchy )?(?:bumps|blotches"
        r"|welts|patches)",
        # New spots or blotches that itch, wherever the words fall ("weird itchy spots on my
        # neck", "blotchy and itchy", "spots all over that itch").
        r"itch\w* (?:\w+ ){0,2}(?:spots|bumps|lumps|blotches|patches|blisters|pimples|dots|marks)"
        r"|(?:spots|bumps|lumps|blotches|patches|blisters|dots) (?:\w+ ){0,4}itch\w*|blotchy",
        # An allergy to something new; a long-known allergy to cats or pollen is not news.
        r"allergic (?:reaction|to(?! (?:cats?|dogs?|pets?|pollen|dust|grass|hay|nuts|peanuts"
        r"|shellfish|bees?|wasps?|latex|penicillin)))|allergy to|(?:an|bad|severe) allergy",
        r"reaction to (?:the )?(?:ldn|naltrexone|capsules?|pills?|medication|meds?|dose)",
    ),
    "vomiting": (
        # Vomiting that will not stop: the dose cannot stay down, and dehydration follows.
        r"(?:cant|cannot|couldnt|can not|unable to|not able to) (?:even |seem to |really |barely"
        r" |hardly )?(?:keep|hold|keeping|holding) (?!(?:\w+ ){0,2}(?:weight|pressure|bp|costs?"
        r"|head|voice|temper|sugars?|cholesterol|numbers|heart rate|pulse|spending|noise|job)\b)"
        r"(?:\w+ ){0,3}down"
        r"|(?:food|water|it|anything|fluids|drinks?|dose|capsules?|caps|pills?|tablets?|meds|ldn"
        r"|tea|dinner|meals?|lunch|breakfast) (?:\w+ )?(?:wont|doesnt|isnt|didnt|will not|does not"
        r"|is not|would not|wouldnt) stay\w* down"
        r"|nothing (?:\w+ )?(?:stays|staying|will stay|stayed|is staying) down",
        rf"(?:cant|cannot|couldnt|wont|can not) stop {_VOMITING}|non ?stop {_VOMITING}"
        rf"|(?:{_VOMITING}|sick) (?:\w+ )?non ?stop|(?:keep|keeps|kept|keeping) {_VOMITING}"
        r"|(?:keeps|keep) coming (?:back )?up",
        # Everything brought back up, the dose with it: "chucking up everything", "even my
        # tablets came back up", "everything I eat comes straight back up".
        rf"{_VOMITING} (?:\w+ ){{0,2}}(?:everything|all of it|every meal|every bite|every drop"
        r"|anything|whatever)"
        r"|(?:everything|anything|every ?thing|food|water|meals?|(?:my|the) (?:capsules?|caps"
        r"|pills?|tablets?|dose|ldn|meds|food|dinner|tea|lunch|breakfast)) (?:\w+ ){0,3}"
        r"(?:comes|came|coming|come|goes|went|going|keeps coming|keeps going)"
        r" (?:straight |right |back )+up",
        rf"{_VOMITING} (?:\w+ ){{0,2}}(?:all (?:day|night|morning|evening|afternoon)|every (?:hour"
        rf"|few|half|\d+)|since|for (?:hours|days|\d+|the last|a day|two days)|constantly"
        rf"|repeatedly|over and over|again and again|{_NUMBER} times|several times|many times"
        r"|multiple times|my guts|every time|each time|whenever|after (?:every|each) (?:meal|drink"
        r"|bite|dose)|after i (?:eat|drink))",
    ),
    "belly_pain": (
        # Severe belly pain: a mild upset stomach is an expected effect; severe pain is never.
        rf"{_BAD} (?:\w+ ){{0,2}}{_BELLY} ?{_CRAMP}|{_BAD} (?:\w+ ){{0,2}}{_CRAMP} ... {_BELLY}",
        rf"{_BELLY} ?(?:\w+ )?{_CRAMP} (?:(?!not |isnt |wasnt |never )\w+ ){{0,2}}{_BAD}",
        rf"{_BELLY} (?:is |was )?killing me|doubl\w* (?:over|up) (?:in|with) (?:\w+ ){{0,2}}"
        rf"(?:pain|cramps|agony)|doubl\w* over|in agony ... {_BELLY}|{_BELLY} ... agony",
        r"appendicit\w*|pancreatit\w*",
    ),
    "palpitations": (
        # A racing, pounding or irregular heart.
        r"palpitat\w*|palpatat\w*|palps|tachycard\w*|a ?fib|atrial fib\w*|arrhythm\w*",
        rf"(?:hearts?|heartbeats?|heart beats?|pulse) {_NOT_DENIED}{{0,3}}"
        r"(?:racing|pounding|thumping|hammering|flutter\w*|skipping|skips|skipped|flip ?flop\w*"
        r"|jumping|galloping|banging"
        r"|beating (?:\w+ )?(?:fast|hard|irregular\w*|out of))",
        # The slang of a heart that races or tumbles: "going like the clappers", "ten to the
        # dozen", "doing flips", "going to jump out of my chest".
        rf"(?:hearts?|heartbeats?|heart beats?|pulse|ticker) {_NOT_DENIED}{{0,5}}"
        r"(?:(?:going )?like the clappers"
        r"|going (?:mad|crazy|nuts|wild|berserk|haywire|like mad|like crazy|so fast|too fast"
        r"|really fast|like a train|like a drum|a mile a minute)|(?:ten|nineteen|twenty) to the"
        r" dozen|doing (?:flips|somersaults|backflips|cartwheels|a drum ?roll|the cha cha|a dance"
        r"|a tap dance|its own thing|loop the loops?)|flips|somersaults|thud\w*|drumming"
        r"|misfir\w*|stutter\w*|tripping|jump\w* out of|(?:wont|doesnt|will not) slow down"
        r"|all over the place|missing (?:a )?beats?|in overdrive|stopp\w* and start\w*)",
        r"(?:racing|pounding|thumping|thudding|hammering|banging|galloping|erratic|fast|rapid"
        r"|irregular|fluttering|fluttery|jumpy|skippy) (?:heart\w*|pulse)"
        r"|(?:flutter\w*|fluttery|flip ?flop\w*|jumpy) (?:\w+ ){0,4}(?:chest|ribcage|rib cage)"
        r"|(?:pounding|thumping|thudding|banging|hammering) in (?:my|the) chest"
        r"|(?:chest|ribcage|rib cage) (?:\w+ ){0,3}(?:flutter\w*"
        r"|fluttery|flip ?flop\w*|jumpy)"
        r"|skipp\w* (?:a )?beats?",
        # A resting pulse of 120 or more, as a watch or a cuff shows it, or the heart "going 120";
        # over 100 when the patient says they are at rest. A pulse in a run or a workout is not
        # this.
        r"(?:(?:pulse|heart ?rate|hr|bpm|heart) (?:\w+ ){0,3}(?:1[2-9]\d|[2-9]\d\d)"
        r"|(?:1[2-9]\d|[2-9]\d\d) bpm"
        r"|(?:resting (?:pulse|heart ?rate|hr)|(?:pulse|heart ?rate|hr|heart) (?:\w+ ){0,2}at rest)"
        r" (?:\w+ ){0,3}1[01]\d"
        r"|(?:pulse|heart ?rate|hr|heart) (?:\w+ ){0,2}1[01]\d (?:bpm )?(?:\w+ ){0,3}(?:sitting|sat"
        r"|resting|at rest|lying|in bed|doing nothing|on the (?:sofa|couch))"
        # A watch or a monitor that reads 100 or more (not steps, not a blood pressure).
        r"|(?:watch|fitbit|garmin|oximeter|monitor|cuff|machine) (?:says|said|shows|showed|reads"
        r"|read|reading|is|was|at|on|saying) (?:\w+ )?(?:1\d\d|[2-9]\d\d)(?! (?:\w+ )?(?:steps"
        r"|calories|cals|kcal|minutes|mins|km|miles|percent|over|by|slash)))"
        r"(?! (?:\w+ ){0,4}(?:run|running|jog\w*|workout|gym|exercis\w*|spin|cycl\w*|bike|training"
        r"|cardio|hiit|swim\w*|class|sprint\w*))",
    ),
    "hallucinations": (
        # Seeing or hearing what is not there: a reason to stop and ask.
        r"hall?uc+inat\w*|hearing voices|hear\w* (?:voices|things)(?! about)",
        r"seeing things(?! (?:more|differently|clearly|in a|as|through|from))",
        r"(?:see|saw|seeing|seen|hear|heard|hearing|feel|felt|feeling) (?:\w+ ){0,8}(?:that|who"
        r"|which) (?:arent|are not|werent|were not|wasnt|was not|isnt|is not) (?:really )?"
        r"(?:there|real)",
        r"(?:nobody|no one|noone) else (?:can )?(?:sees?|hears?)|psychos\w*|psychotic"
        r"|bugs crawling",
        # Someone seen or heard, and then nobody there: "saw someone standing in my room and
        # nobody was there", "heard my name called but there was no one". The one seen or heard
        # is named, so "went to see the GP and nobody was there" is not this.
        rf"(?:see|saw|seeing|seen|hear|heard|hearing) (?:a |an |some |my )?{_APPARITION}"
        r" (?:\w+ ){0,8}(?:(?:nobody|no one|noone|nothing|nobodys|noones|no ones) (?:was |is |were"
        r" )?(?:actually |really |even )?(?:there|home|in|around|about|in the (?:house|room))"
        r"|there (?:was|is|were|wasnt|isnt|werent)"
        r" (?:nobody|no one|noone|nothing|anyone|anybody|anything)"
        r"|(?:wasnt|werent|isnt|arent|was not|were not) (?:anyone|anybody|anything|really) there"
        # ...or the patient alone: "but I'm home alone", "when I'm on my own", "the house was
        # empty", "I live alone".
        r"|(?:im|i am|i was|i m|i live|i lived|i was home|im home|i am home|home|while im"
        r"|when im|and im|but im) (?:\w+ )?(?:alone|on my own|by myself)"
        r"|(?:house|flat|room|place|home) (?:was|is) (?:completely |totally )?empty)",
        # Seen again and again, or seen and then gone: "keep seeing a man in the corner",
        # "saw a face at the window and then it vanished". Seeing someone (a therapist, a
        # friend) is not this, so only things and figures count.
        rf"(?:keep|keeps|kept|keeping) (?:on )?(?:seeing|hearing) (?:a |an |some |my )?{_VISION}"
        r"|(?:keep|keeps|kept|keeping) (?:on )?hearing (?:someone|somebody|people|a voice|a baby"
        r"|children|kids|a child) (?!(?:say|says|saying|talk about|talking about|mention\w*"
        r"|recommend\w*|rave|raving)\b)\w+"
        rf"|(?:see|saw|seeing|seen|hear|heard|hearing) (?:a |an |some |my )?{_VISION}"
        r" (?:\w+ ){0,6}(?:vanish\w*|disappear\w*|then (?:hes|shes|its|theyre|they were|it was"
        r"|he was|she was|they was) gone)",
        # Voices that tell the patient things, or speak in their head.
        r"voices (?:\w+ ){0,3}(?:telling|told|tell|tells|saying|say|talking to|talk to|talks to"
        r"|in my head|ordering|order)|(?:a|the) voice in my head",
    ),
    "mood_worse": (
        # Hopelessness, worthlessness, feeling a burden: the signs that low mood is becoming
        # dangerous. The crisis line is named to the patient.
        r"hopeless\w*|hopless\w*|worthless\w*|despair\w*|no hope|lost (?:all )?hope|no future"
        r"|no way out|(?:theres|there is) no point$|feel\w* like (?:theres|there is) no point"
        r"|(?:life|everything|living|it all) (?:\w+ ){0,2}(?:pointless|meaningless)"
        r"|(?:a )?(?:really |very |such a )?dark place",
        r"(?:cant|cannot|can not|couldnt) (?:go on|carry on|keep going|do this any ?more"
        r"|cope any ?more|cope with (?:anything|life|everything)|face (?:anything|tomorrow"
        r"|another day))|(?:cant|cannot) take (?:it|this) any ?more|(?:cant|cannot) take (?:much"
        r"|any) more",
        r"nothing (?:\w+ )?matters|(?:no|whats the) point (?:in|of) (?:anything|living|life"
        r"|trying|going on|it all|any of (?:it|this))|whats the point$|no point any ?more",
        # Mood getting worse, in so many words.
        r"mood (?:\w+ ){0,3}(?:worse|worsening|darker|lower|deteriorat\w*)"
        r"|(?:depression|depressed|low mood) (?:\w+ ){0,3}(?:worse|worsening|deteriorat\w*)"
        r"|(?:more and more|even more|increasingly|getting more|much more) (?:depressed|down|low)"
        r"|worse and worse|(?:dark|darker) thoughts|darker (?:every|each) day"
        r"|everything ... darker",
        r"(?:im|i am|feel like|feel|being) (?:such )?a burden|burden (?:to|on) (?:everyone"
        r"|everybody|my family|them)",
        r"(?:no ?one|nobody) (?:would|will|cares?|would even) (?:\w+ )?(?:care|miss|notice)"
        r"|give up on (?:life|everything|myself)|giving up on (?:life|everything)"
        r"|feel like giving up|(?:want|wanna) to give up$",
        # Mood going downhill, spiralling, getting darker: worse, in the words people use for
        # it. The weather going downhill or prices spiralling are not this, so the mood, the
        # mind or the patient is named.
        r"(?:moods?|mental health|depressions?|anxiety|anxietys|headspaces?|heads?|state of mind"
        r"|minds?|i|im|ive|me|feel\w*) (?:\w+ ){0,4}(?:gone|going|went|goes|heading|headed"
        r"|slid\w*|slipp\w*|taken|took|take|had|taking) (?:\w+ )?(?:downhill|a nosedive|a dive"
        r"|a turn for the worse"
        r"|a dark turn)(?! (?:ski\w*|on (?:my|a|the) bike|biking|cycling|walking|running))"
        r"|(?:moods?|mental health|depressions?) (?:\w+ ){0,3}(?:tank\w*|crash\w*|plummet\w*"
        r"|nosediv\w*|in the (?:bin|gutter|toilet)|through the floor|hit the floor)"
        r"|(?:moods?|mental health|depressions?|anxiety|anxietys|thoughts?|heads?|minds?|i|im|ive"
        r"|been|me|feel\w*)"
        r" (?:\w+ ){0,3}(?:spiral+(?:ing|ed)|spirals|spiral (?:down|out))|^spiral+(?:ing|ed)"
        r"|(?:downward|dark|negative) spiral"
        r"|(?:thoughts?|minds?|heads?|headspaces?|moods?|feelings?|feel|feeling|felt) (?:\w+ ){0,4}"
        r"darker"
        r"|(?:dark|darker) (?:\w+ ){0,3}(?:in|inside) my (?:head|mind)|^darker (?:than|and|every"
        r"|each)|(?:getting|get|feel\w*|sinking|sink) (?:lower|darker|deeper) (?:and (?:lower"
        r"|darker|deeper)|every|each|by the)",
        # Rock bottom, a breakdown, falling apart, not coping; tired of it all.
        r"rock bottom|(?:mental|nervous) breakdown|(?:having|had|on the verge of|close to"
        r"|heading for) a (?:\w+ )?breakdown|(?:im|i am|i feel|feel like im|feel like i am|i m)"
        r" (?:\w+ ){0,2}(?:falling apart|falling to pieces|not coping|going under|at the end of my"
        r" (?:tether|rope))|not coping|(?:tired|sick|weary) of (?:it all|everything|my life"
        r"|this life|feeling like this)|had enough of (?:everything|it all|my life"
        r"|feeling like this)",
        # Doubt about going on is no denial of it: "I don't think I can go on", "not sure I can
        # cope any more". Coping with something ("not sure I can cope with the nausea") is not.
        rf"{_HEDGE} (?:if |whether |that )?(?:i|im|i am) (?:\w+ )?(?:can|could|am able to)"
        r" (?:go on|carry on|keep going|cope|do this|take (?:it|this|much|any))(?=$| any ?more"
        r"| much longer| like this| with (?:life|anything|everything|any of it))",
    ),
    "mood": (
        # Low mood in the patient's own words ("very low dose" or "energy so low" is not a mood).
        r"depress\w*|low mood|mood ... low|tearful|teary|weepy|miserable|down in the dumps",
        # "Mood's been low", "moods a bit flat": the mood, then a word for low.
        rf"moods? (?:{_LINK} ){{0,4}}(?:low|down|flat|rubbish|poor|crap|meh|not (?:great|good"
        r"|the best))",
        r"(?:cant|cannot|can not) stop crying|crying (?:all|every|constantly|non ?stop|a lot|lots"
        r"|for no reason)|been crying|(?:sad|teary|weepy|tearful|emotional) (?:a lot|lots|loads"
        r"|most days|all day|all the time|every day|most of the time|constantly|so often)"
        r"|lost interest in (?:everything|things)",
        rf"(?:very|really|so|extremely|super) (?:down|sad){_NOT_MOOD}",
        r"(?:feel\w*|felt|im|i am) (?:(?:a bit|a little|quite|very|really|so|pretty|kind of|kinda"
        rf"|bit) )?(?:low|down|sad|blue|empty|flat|glum|gloomy){_NOT_MOOD}",
        # Low said in passing, with no "I feel": "bit low today", "ok, just a bit down", "meh.
        # sad for no reason". It opens the sentence or follows a word that says how things are.
        rf"(?:^|(?:(?<!up )and|but|tho|though|just|ok|okay|fine|good|today|tonight|thanks|done"
        r"|yeah|yes|honestly|tbh|ngl|ive been|i have been|been feeling|been) )(?:a |abit |just )?"
        r"(?:(?:bit|little|tad|touch|wee bit|kinda|kind of|quite|pretty|rather|slightly) )?"
        rf"(?:low|down|flat|glum|gloomy|blue|sad|teary|weepy){_NOT_MOOD}{_NOT_MOOD_TOO}",
        r"(?:sad|low|down|blue|flat|emotional|upset|tearful|weepy|miserable) (?:\w+ ){0,2}for no"
        r" (?:\w+ )?reason",
        # Words for low mood that mean nothing else, wherever they fall ("bit glum, the weather
        # doesn't help", "in a funk", "not in a great headspace").
        r"glum|gloomy|mopey|in a (?:bit of a )?(?:funk|slump|rut|bad place|low place|dark mood)"
        r"|(?:not in a (?:good|great|nice) |bad |rubbish |poor |crap |not a good )headspace"
        r"|headspace (?:\w+ ){0,3}(?:bad|not (?:great|good)|rubbish|poor|off|crap)",
    ),
}

# Words that flag only in a message about the category: "we're still trying" is trying for a
# baby in a message that speaks of a pregnancy, a baby wanted, a period or fertility, and
# nothing in one about sleep ("still trying to find the best time for my dose") or about a baby
# already here ("the baby won't settle, still trying"). Category: (the message's words, the
# pattern then read in each of its sentences).
_IN_CONTEXT: Mapping[str, tuple[str, str]] = {
    "pregnancy": (
        r"pregnan\w*|preggers|preggo|(?:a|another|second|third|next|for) bab(?:y|ies)|conceiv\w*"
        r"|fertil\w*|infertil\w*|ovulat\w*|ivf|iui|ttc|bfp|bfn|periods?|expecting|family|sibling"
        r"|clomid|letrozole|sperm|miscarr\w*|(?:pregnancy|pee|hpt|positive|negative) tests?"
        r"|two week wait|tww",
        # Trying, said on its own or for a time: "we're still trying", "trying again", "been
        # trying for months". Trying something ("trying iron tablets") is not this.
        r"(?<!stopped )(?<!stop )(?<!quit )(?<!gave up )(?<!given up )(?<!give up )trying"
        r"(?=$| (?:again|for (?:\w+ ){0,2}(?:months?|years?|weeks?|while|ages|ever|some time|\d+)"
        r"|since|now|already|naturally|properly|actively|seriously|(?:this|last|next) (?:month"
        r"|year|cycle|time)|soon|from|after|though|tho|still|anyway|lol|haha|x+|hopefully"
        r"|fingers|and|but|so|with (?:ivf|iui|clomid|letrozole)|every month|each month)\b)"
        r"|(?:no|any|not much|without) luck (?:\w+ )?yet",
    ),
}

# One slip of the keyboard (a letter added, dropped or changed, or two swapped) in the words that
# matter most, on words of six letters or more whose first letter is right, so short everyday
# words stay clear. "oxicodone", "tramadal", "sucidal", "pregant", "withdrawl", "fanted" count.
_FUZZY: Mapping[str, tuple[str, ...]] = {
    "self_harm": ("suicide", "suicidal"),
    "seizure": ("seizure", "seizures", "convulsion", "convulsions"),
    "opioids": tuple(d for d in _OPIOIDS if len(d) >= 7 and d.isalpha()),
    "overdose": ("overdose", "overdosed"),
    "withdrawal": ("withdrawal",),
    "fainting": ("fainted", "fainting", "unconscious", "collapsed"),
    "liver": ("jaundice",),
    "pregnancy": ("pregnant", "pregnancy"),
    "surgery": ("surgery", "operation", "anesthesia", "anaesthetic", "colonoscopy"),
    "palpitations": ("palpitations",),
    "hallucinations": ("hallucinating", "hallucination", "hallucinations"),
    "mood_worse": ("hopeless",),
}
# Real words one slip from a word above.
_REAL_WORDS = frozenset({"morphing", "overdone", "homeless", "feinting", "seizing"})

# Emoji that say something on their own; every other symbol is read as a space.
_EMOJI = {
    "\U0001f92e": "vomit",  # face vomiting
    "\U0001fa78": "blood",  # drop of blood
    "\U0001f930": "pregnant",  # pregnant woman
    "\U0001fac4": "pregnant",  # pregnant person
    "\U0001fac3": "pregnant",  # pregnant man
    "\U0001f931": "breastfeeding",
    "\U0001f493": "heart pounding",  # beating heart
    "\U0001fac0": "heart",  # anatomical heart
}
_PREPARE = str.maketrans(
    {**dict.fromkeys("\u2018\u2019\u02bc\u0060\u00b4\u2032", "'"), **{
        e: f" {w} " for e, w in _EMOJI.items()}}
)  # fmt: skip


def normalise(text: str) -> str:
    """Casefold, strip accents from Latin letters, drop apostrophes; keep letters of any script."""
    return " ".join(_clean(text).split())


def _clean(text: str) -> str:
    """Normalise, leaving the spaces where they fall."""
    text = unicodedata.normalize("NFKD", text.translate(_PREPARE).replace("'", "").casefold())
    out = []
    latin = False  # whether the last letter kept was a Latin one, whose accents go
    for c in text:
        if unicodedata.combining(c) and latin:
            continue
        latin = c.isascii() and c.isalpha()
        kept = c.isalnum() if c.isascii() else unicodedata.category(c)[0] in "LMN"
        out.append(c if kept else " ")
    # Recompose what was only decomposed to find accents: Cyrillic "й", Hangul, kana.
    return unicodedata.normalize("NFC", "".join(out))


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """Join a category's patterns into one, matched on whole words."""
    body = "|".join(p.replace(" ... ", r" (?:\w+ ){0,3}") for p in patterns)
    return re.compile(rf"\b(?:{body})\b")


_COMPILED = {category: _compile(patterns) for category, patterns in _PATTERNS.items()}
_CONTEXTS = {c: re.compile(rf"\b(?:{words})\b") for c, (words, _) in _IN_CONTEXT.items()}
_COMPILED_IN_CONTEXT = {c: _compile((pattern,)) for c, (_, pattern) in _IN_CONTEXT.items()}
_FUZZY_BY_LETTER: dict[str, list[tuple[str, str]]] = {}
for _category, _targets in _FUZZY.items():
    for _target in _targets:
        _FUZZY_BY_LETTER.setdefault(_target[0], []).append((_target, _category))


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


def _fuzzy(word: str) -> set[str]:
    """The categories of which the word is a near miss of a key word."""
    if len(word) < 6 or word in _REAL_WORDS:
        return set()
    # The word itself, spelt right, is the patterns' to judge ("my surgery rang" is the GP's).
    return {c for t, c in _FUZZY_BY_LETTER.get(word[0], ()) if word != t and _one_slip(word, t)}


# --- Negations -----------------------------------------------------------------------------
# A negation counts when it governs the flag word: right before it, or through a few neutral
# words ("I haven't taken any oxycodone", "no signs of jaundice"), or through a list that ends
# in "or" ("no hives, rash or swelling"). "no, I can't breathe" is an answer followed by a
# symptom; "no fever, rash on my arms" lists no "or", so only the fever is denied.
_NEGATIONS = frozenset(
    "no not never dont didnt doesnt havent hasnt hadnt isnt arent wasnt werent wont wouldnt"
    " without neither nor".split()
)
_NEUTRAL = frozenset(
    "a an the any some of signs sign symptoms symptom history more further real new other such"
    " much at all really actually currently ever even yet been be being have has had having take"
    " takes taking taken took use uses using used get gets getting got gotten feel feels feeling"
    " felt experience experienced experiencing notice noticed noticing see seen saw on with from"
    " for suffer suffered suffering there is are was were".split()
)
# Words that end what a negation can reach: the patient speaking of themselves, doubt, and the
# joints of a sentence. "not sure if I'm pregnant" and "no idea why I fainted" stop here.
_FIRST_PERSON = frozenset("i im ive id me myself we weve us".split())
_DOUBT = frozenset(
    "sure idea know knew think thought maybe might may perhaps possibly probably wonder"
    " wondering worried worry scared afraid fear suspect unsure certain tell seem seems guess if"
    " whether why what how".split()
)
_JOINTS = frozenset(
    "but and just only except though although however yet still also too now then because cos"
    " coz cause so since longer until when while".split()
)
_STOP = _FIRST_PERSON | _DOUBT | _JOINTS | {"my", "our"}
_OR = frozenset({"or", "nor"})
# A negation said in doubt ("not sure I didn't have a seizure", "I'm not sure I'm not
# pregnant", "I hope I'm not having a heart attack") denies nothing, and one turned by what
# follows ("never had chest pain like this", "no rash until today") says the flag is here now.
# For an emergency a negation must also deny plainly: softened ("not really short of breath",
# "not exactly chest pain", "never been this breathless"), it denies nothing: when unsure,
# escalate.
_DOUBTED = re.compile(
    r"\b(?:(?:not|dont|do not|didnt|cant|cannot|can not|couldnt|no) (?:\w+ )?(?:sure|certain"
    r"|know|tell|say|idea|convinced)|unsure|uncertain|think|thought|reckon|guess|wonder\w*|maybe"
    r"|might|perhaps|possibly|probably|whether|if|hope|hoping|seems?|doubt\w*)\b"
)
_SOFTENERS = frozenset(
    "really actually exactly quite this that so as too very much totally entirely fully"
    " completely necessarily particularly real such properly technically strictly precisely"
    " overly terribly super always".split()
)
_TURNED = re.compile(
    r"^(?:\w+ ){0,2}(?:like (?:this|that|it|today|tonight|now)|(?:this|that|so|as) (?:bad"
    r"|severe|strong|intense|tight|hard|painful|scary|much|often|long)|until|till|til|up to"
    r"|before (?:today|tonight|now|this|last|yesterday))\b"
)
# After the flag words: "opioid free", "rash: none", "pregnancy test was negative".
_DENIED_AFTER = re.compile(
    r"^(?:free(?! (?:from|of charge|samples?))|none|nil|nope)\b"
    r"|^(?:\w+ )?(?:tests?|results?|levels?|enzymes?|function|bloods?|scans?|panel|numbers)"
    r" (?:\w+ ){0,2}(?:normal|negative|clear|fine|ok|okay|good|great|perfect)\b"
)

# --- Someone else --------------------------------------------------------------------------
# People and pets the patient may write about. A sentence that opens with one of them ("my dog
# had surgery", "my best friend is pregnant", "the cat") and has no "I", "me" or "my <something
# of mine>" is about someone else. "took my friend's oxycodone" opens with the patient, who is
# meant. A baby is left out: "my baby is feeding well" says the patient is breastfeeding.
_OTHERS = re.compile(
    r"(?:mum|mom|mother|mam|mummy|mommy|dad|father|daddy|papa|parent|husband|hubby|wife|partner"
    r"|boyfriend|girlfriend|fiancee?|spouse|son|daughter|child|children|kid|brother|sister"
    r"|sibling|aunt|auntie|uncle|cousin|niece|nephew|grandma|grandmother|granny|gran|nan|nana"
    r"|nanna|grandpa|grandfather|grandad|granddad|grandson|granddaughter|friend|mate|buddy|pal"
    r"|colleague|coworker|neighbou?r|boss|roommate|flatmate|housemate|family|relative|dog|cat"
    r"|puppy|pup|kitten|pet|horse|someone|somebody|people|others|patient)s?"
)
# After a flag about someone else, the clauses that only ask, hope or worry about the patient:
# "my husband takes tramadol, does that affect me?", "son has a rash, hope I don't catch it".
_CLAUSE_OPENERS = frozenset("but so and hope hopefully does wonder wondering".split())
_ASIDE_OPENERS = frozenset(
    "hope hopefully does is will would could can should wonder wondering worried scared"
    " afraid how what whether if might may".split()
)
_SUBJECT = re.compile(rf"(?:(?:my|our|a|the|his|her|their) (?:\w+ )?)?{_OTHERS.pattern}\b")
# When the flag follows the other person at once ("my husband fainted", "my son had his tonsils
# out"), it is theirs: "my" later in the sentence ("at the sight of my blood test") does not
# make it the patient's, and neither does a clause of the patient's own that claims nothing ("I
# was up all night with him"). "Too", "also", "so do I", "mine", "it" claim it ("and now I have
# it too"). A report ("my wife says I had a seizure") is not at once.
_REPORTING = frozenset(
    "said says saying told tells think thinks thought reckons reckon noticed asked found saw"
    " heard wants wanted gave gives give giving given".split()
)
_PRONOUNS = frozenset("i im ive id me myself we weve us".split())
_CLAIMS = frozenset(
    "too also well aswell same both so mine it its them that those his hers theirs some one any"
    " again either neither my me myself".split()
)
# Someone else's medicine that the patient took is the patient's: "my mom takes oxycodone and I
# borrowed a few", "my boyfriend had leftover percocet so I took two". For a medicine, the
# patient's clause claims it when it says they took, borrowed or used some, or had it too; one
# that only handles it claims nothing ("I keep it locked away from the kids", "I take it to
# him", "I had a bad night").
_MEDICINES = frozenset({"opioids"})
_TOOK_SOME = (
    r"(?:(?:take|takes|took|taken|taking|tried|try|trying|had|have|has|having|use|used|using"
    r"|borrow\w*|nick\w*|pinch\w*|stole|steal\w*|stolen|swip\w*|swallow\w*|pop|popped|popping"
    r"|shar\w*|raid\w*|sneak\w*|snuck|nabb?\w*|been on|im on|i am on) (?:\w+ )?(?:a |an )?(?:few"
    r"|couple|handful|bit|some|one(?! look)|ones|two|three|four|2|3|4|half|several|pills?"
    r"|tablets?|capsules?|patch\w*|doses?|drops?|it|them|hers|his|theirs|leftovers?|spares?"
    r"|(?:her|his|their) (?:\w+ )?(?:pills|tablets|capsules|meds|medicine|medication|painkillers"
    rf"|prescription|script|stash|supply|leftovers|patch\w*|bottle|packet|box)|{_OPIOID_NAMES})"
    r"(?! (?:to (?:the|her|him|his|their|my|a|an|school|work)|home|back|out|round|around|over"
    r"|off|away|locked|hidden|safe)\b)|help\w* myself)"
)
_TOOK = re.compile(rf"\b(?:{_TOOK_SOME}|too|also|as well|aswell|same|both|either|neither|mine)\b")
# The patient saying so in a clause that also asks: "is it ok that I took two of hers?"
_PATIENT_TOOK = re.compile(
    r"\b(?:i|ive|im|id|i have|i had) (?:(?!not |never |didnt |dont |havent |hadnt |wont |wouldnt"
    rf" )\w+ ){{0,2}}{_TOOK_SOME}\b"
)

# --- Not real, or not now ------------------------------------------------------------------
# LDN brings vivid dreams, and patients tell them: "a dream about a heart attack", "dreamt I was
# pregnant" are dreams. Thoughts of self-harm or hopelessness count even in a dream, and what
# happened on waking is real ("had a nightmare, woke up and couldn't breathe").
_DREAM = re.compile(
    r"\b(?:dream\w*|nightmares?) (?:(?:last night|again|earlier|today) )?(?:about|of|that|where"
    r"|i|im|id|my|we|were|someone|somebody)\b"
)
_DREAM_COUNTS = frozenset({"self_harm", "mood_worse"})
_AWAKE = re.compile(r"\b(?:woke|wake|waking|awake|since|now|still|after|then|real)\b")
# Long ago, and over: "had hives as a kid, nothing since", "stopped the codeine 2 years ago".
# A history, not news, for the flags where only the present matters; liver trouble, overdoses,
# fits and every emergency count however old. "Since I was a kid" goes on to this day, and
# "now", "again" or a date to come make the sentence about the present.
_LONG_AGO = re.compile(
    r"\b(?:(?:\d+|a few|few|several|many|two|three|four|five|six|seven|eight|nine|ten|a couple"
    r" of|couple of|couple|a|one) (?:years?|yrs?|decades?) ago|years ago|yrs ago|ages ago|long"
    r" (?:time )?ago|as a (?:kid|child|teen\w*|baby|toddler|youngster|student)|(?<!since )when i"
    r" was (?:a )?(?:kid|child|little|young|younger|small|teen\w*|baby|student|at school|in"
    r" school|pregnant|\d+)|at (?:the )?age (?:of )?\d+|aged \d+|(?<!since )in (?:19\d\d|20[01]\d)"
    r"|in my (?:teens|twenties|20s)|back in (?:19|20)\d\d|back in the day"
    r"|(?<!since )last year|years back|(?<!since )(?<!from )childhood|growing up)\b"
)
_NOT_OVER = re.compile(
    r"\b(?:(?<!fine )(?<!ok )(?<!okay )(?<!good )(?<!problems )(?<!issues )(?<!better )"
    r"(?<!healed )(?<!gone )(?<!nothing )now|again|today|tonight|currently|still|recently"
    r"|lately|this (?:week|morning|evening|month)|last night|yesterday|next|tomorrow|soon"
    r"|booked|coming up|upcoming|scheduled|going to|gonna|will|since (?:starting|i started|ldn"
    r"|taking))\b"
)
_PAST_ONLY = frozenset(
    {"opioids", "surgery", "allergy", "pregnancy", "fainting", "withdrawal", "vomiting",
     "belly_pain", "palpitations", "hallucinations", "mood"}
)  # fmt: skip
# "Should I double up?" asks; it has not happened.
_QUESTION = re.compile(
    r"\b(?:(?:should|can|could|do|shall|may) i|is it (?:ok|okay|safe|alright|fine)|ok to"
    r"|okay to|allowed to|what if i|what happens if)\b"
)
_QUESTION_COUNTS = frozenset({"overdose"})
# Low mood that is lifting: "my depression is much better since LDN".
_BETTER_AFTER = re.compile(r"^(?:\w+ ){0,3}(?:better|improv\w*|lift\w*|gone|eas\w*|clear\w*)\b")
_BETTER_BEFORE = re.compile(r"\b(?:help\w*|improv\w*|lift\w*) (?:with )?(?:my )?$")
# Asking ahead, for a case that has not come: "what if I ever needed morphine", "if I ever
# needed an operation", "hypothetically, would codeine work", or a question said to be only a
# question ("just asking, nothing planned", "just curious, not planning anything"). For the
# flags that are plans or exposures, not symptoms; and never when the sentence names a time or
# says the patient is in it now ("what if I need surgery next month", "just curious, I'm on
# tramadol, is that ok?").
_HYPOTHETICAL = re.compile(
    r"\b(?:(?:what if|if|in case|suppose|supposing|say|when|should) i (?:ever|were|was ever|was to"
    r"|were to|one day|someday|eventually|later)|(?:what if|suppose|supposing|in case) i (?:need"
    r"|needed|had to|have to|got|get)|hypothetical\w*|in theory|(?:in|for) (?:the )?future"
    r"|one day|someday|down the (?:line|track|road)|future reference)\b"
)
_JUST_ASKING = re.compile(
    r"\b(?:just|only) (?:asking|curious|wondering|a question)|out of (?:curiosity|interest)"
    r"|(?:nothing|none|no \w+) (?:is |are )?(?:planned|booked|scheduled|coming up|on the cards)"
    r"|not (?:planning|planned|trying|pregnant|booked|scheduled)\b(?! (?:\w+ )?yet)|no plans"
    r"|future reference"
    r"|asking for (?:a friend|the future|later)|not that i (?:am|have|need|do|will|plan)"
    r"|hypothetical\w*|in theory\b"
)
_QUESTION_OPENER = re.compile(
    r"^(?:\w+ ){0,6}?(?:would|could|can|is|are|does|do|should|will|what|whats|how|why|when"
    r"|which)\b"
)
_CONCRETE = re.compile(
    r"\b(?:yesterday|today|tonight|tomorrow|next|last|this (?:week|month|morning|evening|year)"
    r"|booked|scheduled|due|coming up|upcoming|ive had|have had|im|i am|ive been|i have been"
    r"|we are|currently|now|already|weeks?|months?|days?|on (?:monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday))\b"
)
_HYPOTHETICAL_OK = frozenset({"opioids", "surgery", "pregnancy", "allergy", "overdose"})
# Figures of speech that use a flag's words: "nearly had a heart attack", "laughed so hard I
# couldn't breathe", "my heart skipped a beat when I saw the bill", "killing myself laughing".
# A fright or a laugh, not a symptom. They still reach the care team as a message.
_FRIGHT = (
    r"(?:\w+ ){0,2}(?:when (?:i|we) (?:saw|see|heard|hear|read|opened|got|looked at|found out"
    r"|realised|realized|checked|noticed|spotted)|at the (?:sight|thought|price|bill|cost|news)"
    r"|(?:seeing|reading|hearing) (?:the|that|him|her|how))"
)
_IDIOMS: Mapping[str, re.Pattern[str]] = {
    category: re.compile(rf"\b(?:{pattern})\b")
    for category, pattern in {
        "chest_pain": r"(?:nearly|almost|practically|virtually) (?:\w+ )?"
        r"(?:had|have|having|gave me|give me|given me|giving me|gonna give me|going to give me)"
        r" a (?:\w+ )?heart attack|(?:gave|give|given|giving) (?:me|us|everyone|everybody) a"
        r" (?:mini |small |little )?heart attack",
        "breathing": r"(?:laugh\w*|giggl\w*|in stitches|crying laughing|cry laughing)"
        r" (?:\w+ ){0,6}(?:cant|couldnt|could not|cannot|can not|barely|hardly|struggl\w* to"
        r"|not able to) (?:\w+ )?breath\w*",
        "palpitations": rf"(?:skipp\w*|skips|missed) (?:a )?beats? {_FRIGHT}"
        rf"|(?:hearts?|heartbeat) (?:\w+ ){{0,3}}(?:skipped|skips|jumped|leapt|flipped|stopped)"
        rf" (?:a beat )?{_FRIGHT}",
        "fainting": rf"(?:nearly|almost|practically) (?:fainted|passed out|collapsed|keeled over)"
        rf" {_FRIGHT}",
        "self_harm": r"kill\w* my ?self laugh\w*|(?:laugh\w*|giggl\w*) (?:\w+ ){0,2}kill\w*"
        r" my ?self",
    }.items()
}

# Sentences end at a full stop (not the one in "4.5 mg"), a question or exclamation mark, a
# semicolon or a new line; list commas are kept to read "no X, Y or Z".
_SENTENCE = re.compile(r"([\n\r!?;\u2026\u3002\uff01\uff1f]+|\.(?!\d))")
_COMMA = re.compile(r"[,\uff0c\u3001]")


@dataclass(frozen=True)
class _Hit:
    """One match of a category's pattern, as a range of word positions in its sentence."""

    category: str
    start: int
    end: int


def _words(sentence: str) -> tuple[list[str], frozenset[int]]:
    """The sentence's normalised words, and the positions of the words a comma follows."""
    words: list[str] = []
    commas = set()
    for part in _COMMA.split(sentence):
        words.extend(_clean(part).split())
        if words:
            commas.add(len(words) - 1)
    commas.discard(len(words) - 1)
    return words, frozenset(commas)


def _matches(words: list[str], patterns: Mapping[str, re.Pattern[str]]) -> list[_Hit]:
    """Every match of every pattern in the sentence, as ranges of word positions."""
    text = " ".join(words)
    starts = [0]
    for w in words[:-1]:
        starts.append(starts[-1] + len(w) + 1)
    hits = []
    for category, pattern in patterns.items():
        for m in pattern.finditer(text):
            first = bisect_right(starts, m.start()) - 1
            last = bisect_right(starts, max(m.end() - 1, m.start())) - 1
            hits.append(_Hit(category, first, last + 1))
    return hits


def _find(words: list[str], contexts: frozenset[str]) -> list[_Hit]:
    """Every match of every category in the sentence, in the order they start.

    contexts names the categories the message speaks of, whose _IN_CONTEXT patterns are read.
    """
    hits = _matches(words, _COMPILED)
    if contexts:
        hits += _matches(words, {c: _COMPILED_IN_CONTEXT[c] for c in contexts})
    covered = {(h.category, i) for h in hits for i in range(h.start, h.end)}
    for i, word in enumerate(words):
        hits.extend(_Hit(c, i, i + 1) for c in _fuzzy(word) if (c, i) not in covered)
    return sorted(hits, key=lambda h: (h.start, -h.end))


def _negated(
    words: list[str], commas: frozenset[int], hits: list[_Hit]
) -> tuple[set[int], set[int]]:
    """The word positions a negation in the sentence reaches, and those it denies plainly.

    A negation reaches forward only: a flag that opens with its own negative ("can't breathe",
    "no reason to live") is never reached by it, nor by one said in doubt ("not sure I'm not").
    It denies plainly when no softening word ("really", "exactly", "this") comes between it
    and the position.
    """
    starting: dict[int, _Hit] = {}
    for h in hits:
        starting.setdefault(h.start, h)  # the longest match at each start comes first
    reached: set[int] = set()
    plainly: set[int] = set()
    for c, word in enumerate(words):
        # "No, rash on my arms": a "no" followed by a comma answers; it denies nothing after.
        if word in _NEGATIONS and c not in commas:
            if _DOUBTED.search(" ".join(words[max(0, c - 6) : c])):
                continue
            denied = _denied(words, commas, starting, c + 1)
            reached |= denied
            plainly |= {p for p in denied if not _SOFTENERS.intersection(words[c + 1 : p])}
    return reached, plainly


def _denied(
    words: list[str], commas: frozenset[int], starting: Mapping[int, _Hit], i: int
) -> set[int]:
    """The positions a negation just before position i denies: one item, or a list ending in or."""
    n = len(words)
    # Neutral words first: "haven't [taken any] oxycodone", "no [signs of] jaundice".
    for _ in range(4):
        if i >= n or words[i] not in _NEUTRAL or i in starting or i in commas:
            break
        i += 1
    items: list[range] = []
    separators: list[str] = []
    while i < n:
        end = _item_end(words, commas, starting, i)
        if end == i:
            break
        items.append(range(i, end))
        if end < n and words[end] in _OR:
            separators.append("or")
            i = end + 1
        elif end - 1 in commas:
            separators.append(",")
            i = end
        else:
            break
    # "no X, Y or Z" denies all three; "no X, Y" denies only X, since Y may be affirmed
    # ("no fever, rash on my arms"); so does "not X or Y, Z" beyond the "or".
    count = min(len(items), 1)
    if "or" in separators:
        k = separators.index("or")
        if all(s == "," for s in separators[:k]):
            count = k + 2
    return {p for item in items[:count] for p in item}


def _item_end(
    words: list[str], commas: frozenset[int], starting: Mapping[int, _Hit], i: int
) -> int:
    """Where a list item starting at i ends: after a flag, or after up to three plain words."""
    j = i
    while j < len(words) and j - i < 3:
        if j in starting:
            return starting[j].end
        if words[j] in _STOP or words[j] in _NEGATIONS or words[j] in _OR:
            break
        j += 1
        if j - 1 in commas:
            break
    return j


def _about_someone_else(words: list[str], commas: frozenset[int], hit: _Hit) -> bool:
    """Say whether the sentence speaks of another person or a pet, and never of the patient.

    A clause after the flag that only asks or hopes ("my husband takes tramadol, does that
    affect me", "son has a rash, hope I don't catch it") does not make the flag the patient's.
    Nor, when the flag follows the other person at once, does a later "my" ("my husband fainted
    at the sight of my blood test") or a clause of the patient's that claims nothing of it.
    """
    subject = _SUBJECT.match(" ".join(words[: hit.start])) if hit.start else None
    if subject is None:
        return False
    mine = [i for i in range(len(words)) if _mine(words, i)]
    if any(i < hit.end for i in mine):
        return False
    between = words[len(subject.group().split()) : hit.start]
    at_once = len(between) <= 2 and not _REPORTING.intersection(between)
    if at_once:
        mine = [i for i in mine if words[i] in _FIRST_PERSON]
    medicine = hit.category in _MEDICINES
    return not mine or set(mine) <= _asides(words, commas, hit.end, at_once, medicine)


def _mine(words: list[str], i: int) -> bool:
    """Say whether the word at i speaks of the patient: "I", "me", or "my <something>"."""
    w = words[i]
    if w in _FIRST_PERSON:
        return True
    return w in ("my", "our") and not (i + 1 < len(words) and _OTHERS.fullmatch(words[i + 1]))


def _asides(
    words: list[str], commas: frozenset[int], start: int, at_once: bool, medicine: bool
) -> set[int]:
    """The positions, from start on, of the clauses that only ask, hope or deny.

    After a flag that follows the other person at once, also the patient's own clauses that
    claim nothing of it ("my son had his tonsils out, I was up all night with him"); after a
    medicine, those that do not say the patient took some.
    """
    aside: set[int] = set()
    clause: list[int] = []
    for i in range(start, len(words)):
        if clause and words[i] in _CLAUSE_OPENERS:
            aside |= _aside(words, clause, at_once, medicine)
            clause = []
        clause.append(i)
        if i in commas:
            aside |= _aside(words, clause, at_once, medicine)
            clause = []
    return aside | _aside(words, clause, at_once, medicine)


def _aside(words: list[str], clause: list[int], at_once: bool, medicine: bool) -> set[int]:
    """The clause's positions if it asks, hopes or denies ("does that affect me"), else none."""
    said = [words[k] for k in clause if words[k] not in ("and", "but", "so", "then")]
    if medicine and _PATIENT_TOOK.search(" ".join(said)):
        return set()
    if said and (said[0] in _ASIDE_OPENERS or any(w in _NEGATIONS for w in said)):
        return set(clause)
    claims = _TOOK.search(" ".join(said)) if medicine else _CLAIMS.intersection(said)
    if at_once and said and said[0] in _FIRST_PERSON and not claims:
        return set(clause)
    return set()


@dataclass(frozen=True)
class _Sentence:
    """One sentence as read: its words, its flags, and what holds for every flag in it."""

    words: list[str]
    commas: frozenset[int]
    hits: list[_Hit]
    negated: set[int]
    plainly_negated: set[int]  # denied plainly: the only denial an emergency's sign yields to
    long_over: bool  # tells of something long ago and over
    now: bool  # names a time, or says the patient is in it now: not asking ahead
    question_only: bool  # a question, in a message that says it only asks
    idioms: list[_Hit]  # figures of speech that use a flag's words


def _sentence(
    text: str, question: bool, only_asking: bool, contexts: frozenset[str]
) -> _Sentence | None:
    """Read one sentence; question says it ended with a question mark."""
    words, commas = _words(text)
    if not words:
        return None
    joined = " ".join(words)
    hits = _find(words, contexts)
    negated, plainly_negated = _negated(words, commas, hits)
    return _Sentence(
        words=words,
        commas=commas,
        hits=hits,
        negated=negated,
        plainly_negated=plainly_negated,
        long_over=_long_over(joined),
        now=bool(_CONCRETE.search(joined)),
        question_only=only_asking and (question or bool(_QUESTION_OPENER.match(joined))),
        idioms=_matches(words, _IDIOMS) if hits else [],
    )


def _affirmed(hit: _Hit, s: _Sentence) -> bool:
    """Say whether the match is the patient's own, real and present: a red flag."""
    before, after = " ".join(s.words[: hit.start]), " ".join(s.words[hit.end :])
    emergency = CATEGORY_TIERS[hit.category] is Tier.EMERGENCY
    negated = s.plainly_negated if emergency else s.negated
    if hit.start in negated and not _TURNED.match(after):
        return False
    if _DENIED_AFTER.match(after):
        return False
    if any(
        i.category == hit.category and i.start < hit.end and hit.start < i.end for i in s.idioms
    ):
        return False
    if _about_someone_else(s.words, s.commas, hit):
        return False
    if (
        hit.category in _HYPOTHETICAL_OK
        and not s.now
        and (s.question_only or _HYPOTHETICAL.search(before))
    ):
        return False
    if hit.category not in _DREAM_COUNTS and _dreamt(before):
        return False
    if hit.category in _PAST_ONLY and s.long_over:
        return False
    if hit.category in _QUESTION_COUNTS and _QUESTION.search(before):
        return False
    if hit.category == "mood" and (_BETTER_AFTER.match(after) or _BETTER_BEFORE.search(before)):
        return False
    return True


def _dreamt(before: str) -> bool:
    """Say whether a dream is told before the flag, with no waking in between."""
    told = [m.end() for m in _DREAM.finditer(before)]
    return bool(told) and not _AWAKE.search(before, told[-1])


def _long_over(sentence: str) -> bool:
    """Say whether the sentence tells of something long ago and over."""
    return bool(_LONG_AGO.search(sentence)) and not _NOT_OVER.search(sentence)


@lru_cache(maxsize=256)
def _read(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The categories the patient affirms, and those only negated or about someone else."""
    said: set[str] = set()
    seen: set[str] = set()
    message = normalise(text)
    only_asking = bool(_JUST_ASKING.search(message))
    contexts = frozenset(c for c, words in _CONTEXTS.items() if words.search(message))
    parts = _SENTENCE.split(text)
    for part, end in zip(parts[::2], [*parts[1::2], ""], strict=True):
        s = _sentence(part, "?" in end or "\uff1f" in end, only_asking, contexts)
        if s is None:
            continue
        for hit in s.hits:
            seen.add(hit.category)
            # One affirmed match is enough: the rest of the category's are not read.
            if hit.category not in said and _affirmed(hit, s):
                said.add(hit.category)
    return frozenset(said), frozenset(seen - said)


def scan(text: str) -> tuple[Finding, ...]:
    """Return one finding per red-flag category the patient affirms, most serious first."""
    said, _ = _read(text)
    # CATEGORY_TIERS is kept most serious first, so its order is the order of the findings.
    return tuple(Finding(CATEGORY_TIERS[c], f"words_{c}", c) for c in CATEGORY_TIERS if c in said)


def mentions(text: str) -> tuple[str, ...]:
    """Return the categories whose words appear, but only negated, about someone else, asked
    ahead, long past, dreamt or as a figure of speech."""
    _, only_mentioned = _read(text)
    return tuple(c for c in CATEGORY_TIERS if c in only_mentioned)

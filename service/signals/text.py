"""Does this text hide a complaint? VADER for tone, plus a complaint-intent layer for what
VADER misses: plain statements of a problem ("Where is my order??", "Never again.", "I want my
money back.") carry no sentiment words, and sarcasm ("Great, another broken mug") reads as
positive. The intents are the reasons a merchant acts on: harm, refund, return, late or missing
delivery, broken, wrong item, poor quality, no reply, never again.

The same detector serves the workers, `clout text` and the benchmark.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from service.signals import complaint_model, languages, prefilter

# A body's symptoms a product can cause (a food, a drink, a supplement): said of the product
# they are harm; `NEGATED` takes out the denials, other products, allergens, a period's or an
# illness's cramps. Not "relief" from them.
_SYMPTOMS = (
    r"(?:diarrh(?:o)?ea|diarhea|stomache? ?(?:aches?|cramps|pains?|upsets?|problems|issues)"
    r"|tummy ?(?:aches?|upsets?|troubles?|problems|issues)|(?:an )?upset (?:stomach|tumm(?:y|ie))s?"
    r"|nausea|vomiting|gas and (?:cramps|bloating)|bloating|cramps and (?:bloating|gas|diarrh\w{0,4})"
    r"|cramps)\b(?! relief\b| in the best way\b)"
)
# Words saying a symptom or a rash got better, not that it came.
_BETTER = (
    r"(?:clear\w{0,3}|gone|go|going|went|disappear\w{0,3}|better|heal\w{0,3}|improv\w{0,3}"
    r"|fad\w{0,3}|cured|calm\w{0,3}|reduced|stopped|less|eas\w{0,3}|subsid\w{0,3}|vanish\w{0,3}"
    r"|settled|lessened|smaller|down|non|shr[iau]nk\w{0,2}|under|control|lighter|milder"
    r"|reliev\w{0,3}|relief|none|no)\b"
)
# Words that are no kind of thing said in general ("beans give me cramps"): a determiner, a
# pronoun, an adverb ("definitely gives me a rash" is the product's).
_NOT_A_KIND = (
    r"(?:this|these|the|your|my|our|those|they|it|its|i|we|you|he|she|pls|please|just|guys|can"
    r"|will|would|could|why|does|do|did|how|still|also|mine|yours|that|which|always|sometimes"
    r"|is|was|has|\w{2,14}ly)\b"
)
# The things that can give a shock, catch fire or swell.
_DEVICES = (
    r"(?:charger|plug|cable|cord|battery|adapter|socket|outlet|device|unit|toaster|heater|kettle"
    r"|lamp|casing|hair ?dryer|dryer|straightener|curling iron|iron|switch|blanket|blender|mixer"
    r"|microwave|drill|vacuum|washer|fridge|freezer|stove|oven|grill|toothbrush|shaver|razor"
    r"|massager|fan|power ?bank|appliance|machine|thing|extension lead|lead)"
)

# A word that says no, so that what follows it in the clause is not praise ("won't buy again").
_NO_WORD = (
    r"(?:not|never|no|nope|unlikely|doubt\w{0,2}|hardly|nor|wont|cant|dont|didnt|wouldnt"
    r"|would'?nt|[\w]{1,8}n'?t)\b"
)

# "Would I buy again?" answered no ("No.", "Absolutely not", "No way"), not "no doubt", and
# not an answer that goes on ("definitely not from anyone else", "doubt it'll ever wear out").
_NO_ANSWER = (
    r"(?:no(?![- ](?:doubt|question|hesitation|brainer|second))|nope|never|hell no"
    r"|not a chance|no way|(?:(?:absolutely|definitely|certainly|probably|hell) not|not likely"
    r"|doubt it)(?=\s{0,3}(?:[.!,;…?]|$)))\b"
)
# "I'll totally buy again. Not.": the praise taken back by a lone "not" after it.
_TAKEN_BACK = r"(?:[.!…]{1,3}|,)\s{0,3}not(?:[.!]|$)"

# The reasons a merchant acts on, in the order an agent reads them: reason code → (sentence for
# the merchant, firm patterns, weak patterns). Patterns are matched on lower-cased text. A weak
# pattern is a word that also turns up in balanced, happy reviews ("a few problems, but I love
# it"): it counts only when the tone is not clearly positive. The codes are stable (they are
# stored with every signal); the sentences are what agents read.
INTENTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # Someone made ill or hurt, or a product that could: the case a merchant must see first
    # (a recall, an allergen, a claim), whatever the stars.
    "unsafe": (
        "says it made someone ill or hurt them, or is unsafe",
        (
            # Someone made ill by it: not sick of something, with envy, or by the flu the
            # product helped with (`NEGATED`).
            (
                r"\b(?:made|making|makes) (?:me|us|him|her|them|(?:my|our|his|her|both (?:my|our)"
                r"|all (?:of )?(?:my|our)|the) (?:\w{1,12}'? ){0,2}?\w{1,12})(?: both| all)?"
                r" (?:feel )?(?:so |really |very |violently |quite |extremely |horribly )?(?:sick"
                r"|ill|poorly|nauseous|vomit|throw up|blister|swell|swollen|infected|break out(?! in"
                r" (?:a (?:cold )?sweat|tears|laughter|song|giggles|(?:a )?(?:big )?(?:smiles?|grin))))"
                r"\b(?! (?:with|of)\b)"
                # An effect promised is no harm: "made my lips swell, exactly as promised".
                r"(?![^.!?]{0,40}\b(?:as promised|as expected|as intended|as advertised"
                r"|exactly what|the whole point)\b)"
            ),
            (
                r"\b(?:got|became|was|were|been) (?:so |really |very |violently )?(?:sick|ill)"
                r"(?: to (?:my|our|his|her) stomach)? (?:after|from) (?:(?:eating|drinking|using"
                r"|taking|chewing|trying|switching to) (?!at\b|out\b|bad\b|something\b|takeout\b"
                r"|too\b)|it\b|this\b|these\b|them\b|your\b)"
                r"|\b(?:threw up|throws up|vomit(?:s|ed|ing)?|diarrh(?:o)?ea)\b[^.!?]{0,40}?"
                r"\b(?:after (?:(?:we|i|he|she|they) )?(?:(?:eating|drinking|using|taking|chewing"
                r"|switch(?:ed|ing) to) (?:it|this|these|them|your|the|a|one|some)\b|it|this|these"
                r"|them)|every time (?:she|he|they|i|we|it)"
                r" (?:eats?|drinks?|uses?|takes?) (?:it|this|these|them))\b"
            ),
            # A child or a pet choked on it or a piece of it; a night of symptoms after it
            # ("ate half the bag and was up all night with diarrhea"), not one it eased.
            (
                r"\b(?:(?:my|our|his|her) (?:\w{1,12} )?(?:toddler|baby|son|daughter|child|kid"
                r"|little one|grandson|granddaughter|dog|puppy|cat|kitten)|he|she|i|we)"
                r" (?:nearly |almost |literally |actually )?(?:choked|choking) on (?:it|this|these"
                r"|them|one of (?:the|its|these|them)|(?:a|the) (?:small |tiny |loose )?(?:piece|part"
                r"|bit|bead|button|magnet|battery|eye|cap|lid|wheel)s?(?! of (?!it\b|this\b|these\b"
                r"|them\b)))\b(?![^.!?]{0,60}\b(?:last (?:year|month|week)|years? ago|so (?:i|we)"
                r" (?:bought|got|ordered)|which is why)\b)"
                r"|\b(?:was|were|been) (?:all )?up all night (?:with (?:bad |terrible |awful"
                r" |the )?" + _SYMPTOMS + r"|being sick|throwing up|vomiting)"
                r"(?![^.!?]{0,60}\b(?:helped|relief|relieved|soothed|settled|saved|fixed|cured)\b)"
            ),
            (
                r"\b(?:gave|giving|gives|caused?|causing) (?:\w{1,12} ){0,2}food pois[oe]ning\b"
                r"|\bfood pois[oe]ning (?:from|after)\b|\b(?:got|get) food pois[oe]ning(?: \w{1,12})"
                r"{0,5}? (?:from|after|because)\b"
                r"|\b(?:got|had) (?:\w{1,12} )?food pois[oe]ning\b(?![^.!?]{0,60}\b(?:this|these"
                r"|it)\b[^.!?]{0,30}\b(?:helped|saved|got me|was all|kept|perfect|great|back on))"
                # A title that is the whole report.
                r"|^(?:food poisoning|allergic reaction|(?:fire|choking|safety|electrical) hazard"
                r"|unsafe|not safe|dangerous)[.!]{0,3}$|^(?:unsafe|not safe)\b"
                r"|^(?:it )?(?:caught (?:on )?fire|exploded|burst into flames)\b(?! (?:with|in)\b)"
                r"|^(?:my |our |the )?(?:dogs?|cats?|kids|baby|son|daughter|puppy|we|husband|wife)"
                r" got (?:very |so |really )?(?:sick|ill)[.!]{0,3}$"
            ),
            # Symptoms it gave someone: "this tea gave me diarrhea", "stomach cramps after
            # drinking this". Not a question ("will this give me cramps?"), nor a laugh.
            (
                r"(?<!other )(?<!others )\b(?:gave|give|gives|giving|has given|have given|caused"
                r"|causes|causing) (?:me|us(?: all)?|him|her|them|(?:me|us) and (?:my|our) \w{1,12}"
                r"|(?:my|our|his|her) (?:\w{1,12} ){0,2}\w{1,12}) (?:an? |the )?(?:worst |bad"
                r" |terrible |awful |severe |horrible |really bad |such bad |explosive )?"
                + _SYMPTOMS
                + r"(?![^.!?]{0,40}(?:\?|\b(?:lol|haha|lmao|laugh\w{0,6}|as expected|as intended"
                r"|exactly what|the whole point|my own fault)\b|😂))"
                r"|(?:^|(?<=[.!?] )|\b(?:got|get|had|have|getting|having) )(?:(?:really|very|so"
                r"|such) )?(?:bad"
                r" |terrible |awful |severe |horrible )?"
                + _SYMPTOMS
                + r"(?: and \w{1,12})?(?: (?!"
                + _BETTER
                + r")\w{1,12}){0,4} (?:from|after|within (?:an?|one|\d{1,2}) (?:hours?|minutes?"
                r"|mins?) of) (?:(?:eating|drinking|taking|using|trying) (?:the \w{1,12}|it|this|these"
                r"|them|your)|it|this|these|them|your)\b(?![^.!?]{0,30}\?)"
                r"|\b(?:this|it|they|these) (?:\w{1,12} )?(?:gave|gives|give) (?:me|us|him|her"
                r"|my \w{1,12}) the runs\b|\bcaused (?:bad |severe |terrible )?"
                + _SYMPTOMS
                # A complaint asked as a question: "why does this tea give me cramps??"
                + r"|\bwhy (?:does|do|did|is|are) (?:this|it|these|they|the \w{1,12}) (?:\w{1,12} )?"
                r"(?:give|make|cause|giving|making|causing) (?:me|us|him|her|my \w{1,12}) (?:an? )?"
                r"(?:\w{1,12} )?" + _SYMPTOMS
            ),
            # A rash or an allergy it caused, not another product's (`NEGATED`), nor one that
            # cleared up.
            (
                r"(?<!other )(?<!others )\b(?:gave|give|gives|giving|caused?|causing) (?:me|us|him"
                r"|her|them|(?:my|our|his|her) \w{1,12})? ?(?:an? )?(?:\w{1,12} )?(?:rash|hives"
                r"|blisters|allergic reaction|chemical burns?|eczema|welts)\b"
                r"|\b(?:rash|hives)(?: all over)?(?: (?!"
                + _BETTER
                + r")\w{1,12}){0,4} (?:after|within) (?:(?:an?|the|one|1|two|three|four|five|six"
                r"|a few|a couple(?: of)?|several|\d{1,2}) )?(?:(?:hours?|days?|weeks?|minutes?"
                r"|nights?)(?: of)? )?(?:first )?(?:one|use|uses|wash|washes|application"
                r"|applications|wear|wears|using|eating|wearing|applying|a bath|the first|taking"
                r"|putting (?:it|them|this|these) on|(?:i|we|he|she|they) (?:used|wore|applied"
                r"|put on|tried) (?:it|them|this|these))\b"
                r"|\b(?:rash|hives) from (?:it|this|these|them|using|wearing|applying|your|the last"
                r" (?:bottle|one|batch|tube|jar|pack|bag|tub|order))\b"
                r"(?! (?:brand|company|shop|store|site|seller)\b)"
                # Skin that broke out because of it.
                r"|\bbroke (?:me|him|her|us|my \w{1,12}) out in (?:an? )?(?:\w{1,12} )?(?:rash"
                r"|hives|welts|blisters)\b"
                r"|\bbroke out in (?:an? )?(?:\w{1,12} )?(?:rash|hives|welts|blisters)\b(?=[^.!?]"
                r"{0,30}\b(?:the first (?:night|day|time|use|wear|week)|the (?:next|same) (?:day"
                r"|night|morning)|within|after (?:(?:i|we|he|she) )?(?:using|wearing|applying"
                r"|eating|taking|used|wore|applied|ate|took|putting|one use|first use)|from (?:it"
                r"|this|these|them|using|wearing))\b)"
            ),
            (
                r"\b(?:reports?|reported|reporting|suffered|had|having|got) (?:an? )?(?:bad |severe"
                r" |nasty |terrible |serious )?(?:allergic|anaphylactic) reaction (?:to|from|after)"
                r" (?:it|this|these|them|your|the|using|wearing|eating)\b"
                r"|\b(?:reports?|reported|reporting|suffered) (?:an? )?(?:bad |severe |nasty"
                r" |terrible |serious )?(?:allergic|anaphylactic) reaction\b"
                r"|\b(?:allergic|anaphylactic) reaction (?:to|from|after) (?:it|this|these|them|your"
                r"|using|wearing|eating)\b"
            ),
            # The thing itself on fire, sparking or shocking, not tinder, a kitchen or a flambé.
            (
                r"\b(?:it|(?:the|this|these|my|our) (?:new )?(?:\w{1,12} )?(?:charger|plug|cable"
                r"|cord|battery|batteries|adapter|device|unit|toaster|heater|lamp|bulb|kettle|phone"
                r"|power ?bank|appliance|fan|socket|blanket|hair ?dryer|straightener|diffuser"
                r"|air fryer|fryer|e-?bike|scooter|laptop|lights?|one))(?: \w{1,12})?"
                r" (?:caught (?:on )?fire|burst into flames|went up in flames|exploded)\b"
                r"(?! with\b| into\b| in (?:flavou?r|colou?r|popularity)\b| on the first\b| easily\b"
                r"| quickly\b| instantly\b| right away\b| first time\b| every time\b)"
                r"|\b(?:it|the (?:\w{1,12} )?(?:charger|plug|cable|cord|battery|adapter|socket|outlet"
                r"|device|unit|toaster|heater|kettle|motor|fan|power bank|lamp))(?: \w{1,12}){0,2}"
                r" (?:started|began) (?:to )?(?:spark|smoke|smoking|sparking)\b"
                r"(?![^.!?]{0,40}\b(?:coating|burning off|first (?:time|use))\b)"
                r"|\b(?:cord|plug|cable|charger|socket|outlet|battery|adapter) (?:sparks|sparked"
                r"|smokes|smoked|melted)\b"
                r"|\bsparks? (?:came|coming|flew|flying|shot|shooting) (?:out of|from) (?:it|the (?:plug"
                r"|socket|outlet|charger|cable|cord|battery|adapter|device|unit|motor|back|wall))\b"
                r"|\b(?:the|this|my) (?:\w{1,12} )?(?:charger|plug|cable|cord|battery|adapter|socket"
                r"|outlet|device|unit|toaster|heater|kettle|motor|fan|power bank|lamp|casing|lead"
                r"|power strip)(?: \w{1,12}){0,2} (?:gave|gives) (?:me|us|him|her|my \w{1,12}) (?:an? )?"
                r"(?:electric(?:al)? |nasty |bad )?shock\b|\belectric(?:al)? shock (?:from|off)"
                r" (?:it|the|this)\b|\b(?:it|this|they) (?:\w{1,12} )?(?:gave|gives) (?:me|us|him|her"
                r"|my \w{1,12}) (?:an? )?electric(?:al)? shock\b"
                # Shocked by the thing itself, not by how good or cheap it is: "the kettle
                # shocked me twice", "it shocked me when I touched it", not "the heater
                # shocked me, it warmed the room" nor "if it shocked me…".
                r"|\b(?:sparked|sparking|sparks) and (?:\w{1,12} )?(?:shocked|zapped|burned|burnt)"
                r" (?:me|us|him|her|my)\b"
                r"|(?<!\bif )(?<!\bof )(?:\b(?:it|this(?: \w{1,12})?|they|(?:the|this|my|our)"
                r" (?:\w{1,12} )?"
                + _DEVICES
                + r")|^(?:\w{1,12} )?"
                + _DEVICES
                + r")(?: (?:has|have|just|also|then|actually))? (?:shocked|shocks|zapped|zaps"
                r"|electrocuted) (?:me|us|him|her|you|my \w{1,12}) (?:when|while|as|every ?time"
                r"|each time|whenever) (?:i|we|he|she|they|you) (?:was |were )?(?:touch\w{0,6}"
                r"|plug\w{0,6}|unplug\w{0,6}|held|hold\w{0,6}|grab\w{0,6}|pick\w{0,6}|using"
                r"|fill\w{0,6}|went to \w{1,12})\b(?![^.!?]{0,40}\b(?:how"
                r"|so (?:good|bright|quiet|fast|powerful|warm|easy|nice)|such (?:a |an )?(?:good"
                r"|great|nice)|love|great|amazing|awesome|static|lol|haha|the whole point"
                r"|as expected)\b)"
                # The device named, and hurt told: "the kettle shocked me twice", not "it
                # shocked me again with how good it is", nor a blender that "shocked me!!".
                r"|(?<!\bif )(?<!\bof )\b(?:the|this|my|our) (?:\w{1,12} )?"
                + _DEVICES
                + r"(?: (?:has|have|just|also|then|actually))? (?:shocked|zapped|electrocuted)"
                r" (?:me|us|him|her|my \w{1,12})(?: (?:twice|again|(?:pretty |really |so )?bad(?:ly)?"
                r"|three times|through the)\b|,? (?:exposed|bare|live|faulty|loose) wir|,? and"
                r" (?:burn|burnt|burned|hurt|cut)|(?<=\bhim|\bher)[.!]{0,3}$|(?<=\bthem)[.!]{0,3}$"
                r"|(?:(?<=son)|(?<=daughter)|(?<=husband)|(?<=wife)|(?<=child)|(?<=kid)|(?<=baby)"
                r"|(?<=toddler)|(?<=partner)|(?<=dad)|(?<=mum)|(?<=mom))[.!]{0,3}$)(?![^.!?]{0,40}\b"
                r"(?:static|lol|haha|with how|over)\b)"
                r"|\b(?:was|were|got) (?:badly )?shocked by (?:the|this|my|it) (?:\w{1,12} )?"
                + _DEVICES
                + r" (?:when|while|as) (?:i was |we were )?(?:touch\w{0,6}|plug\w{0,6}|unplug\w{0,6}"
                r"|fill\w{0,6}|using|hold\w{0,6})\b"
                r"|\bgot (?:badly )?(?:shocked|zapped|electrocuted) by (?:the|this|my|its)"
                r" (?:\w{1,12} )?"
                + _DEVICES
                + r"(?= ?[^\w\s']|$| (?:when|while|as|and|so|today|again|twice|yesterday)\b)"
                r"|\b(?:it|this(?: \w{1,12})?|the \w{1,12}) electrocuted (?:me|us|him|her"
                r"|my \w{1,12})\b"
                r"|\bgot an? (?:\w{1,12} )?(?:electric(?:al)? )?shock (?:off|from) (?:the|this|my)"
                r" (?:\w{1,12} )?(?:casing|metal|base|handle|" + _DEVICES[3:-1] + r")\b"
                # A battery swelling: a fire waiting to happen. The product's own ("the
                # battery swelled"), not "my battery swelled, so I bought this".
                r"|(?<!\bafter )(?<!\bbecause )(?<!\bsince )(?<!\bwhen )(?<!\bif )(?:\b(?:the|this"
                r"|its|my(?: (?!old\b|previous\b|last\b|former\b)\w{1,12})?) |^(?!(?:the|my|our|an?"
                r"|his|her|their|other)\b)(?:\w{1,12} ){0,2})"
                r"(?:\w{1,12}'s )?(?:batter(?:y|ies)|power ?bank)(?: pack)?(?: (?:on|in) (?:this|it"
                r"|mine|one|the \w{1,12})| inside)?(?: (?:has|have|is|was|had|already|started|began"
                r"|got|became|also|then|just|now|super|hot|and|completely|to)){0,4} (?:swelled"
                r"|swells|swollen|swell|swelling(?! (?:issues?|problems?)\b)|bulged|bulging|puffed up"
                r"|ballooned)\b"
                r"(?![^.!?]{0,60}(?:\?|\b(?:on my (?:last|old|previous)|so (?:i|we)(?:'m| am)?"
                r" (?:bought|got|needed|am|trying|ordered)|needed a new|replacement|this one"
                r"|new one)\b))"
                r"|\b(?:it|this(?: \w{1,12})?|mine) (?:has|had|came with|arrived with|now has) (?:an?"
                r" )?(?:swollen|bulging|swelling) batter(?:y|ies)\b|^swollen batter(?:y|ies)\b"
            ),
            # A visit to hospital (or an emergency vet) the product caused, not one it was
            # bought for.
            (
                r"\b(?:in|at|to) (?:the |an )?(?:hospital|a ?& ?e|er|emergency room|urgent care"
                r"|emergency vet)\b[^.!?,]{0,30}?"
                r"\b(?:after (?:eating|drinking|using|taking|swallowing|chewing|wearing|applying"
                r"|it|this|these|them|one)|because of (?:it|this|these|them))\b"
                r"|\bafter (?:\w{1,12} ){0,3}?(?:of )?(?:eating|using|taking|switching to|drinking"
                r"|swallowing|chewing) (?:it|this|these|them|your|the)\b[^.!?]{0,60}?\b(?:ended up"
                r"|went|rushed|taken|landed) (?:\w{1,12} ){0,2}(?:at|in|to) (?:the |an )?(?:er"
                r"|urgent care|hospital|emergency|a ?& ?e|vet)\b"
                r"|\b(?:needed|required) (?:stitches|(?:emergency )?surgery) (?:to remove|after"
                r" (?:eating|using|swallowing|chewing)|because of (?:it|this|these|them))\b"
            ),
            # Hurt by it: choked on a piece of it, cut by its edge, burned by its handle.
            (
                r"\b(?:choked|choking|gagged|gagging) on (?:(?:a |the |one )?(?:piece|part|bit|eye"
                r"|button|bead|small part)s?\b(?! of (?!it\b|the\b|this\b|plastic\b|metal\b|glass"
                r"\b)\w{1,12})|it\b|them\b)"
                r"|\b(?:burned|burnt|cut|scalded) (?:myself|himself|herself|themselves|ourselves)"
                r" (?:on|with|using) (?:it|this|its|these|them|the (?:handle|side|lid|edge|case"
                r"|casing|base|top|blade|vent))\b"
                r"|\bshattered in (?:my|his|her|our) hands?\b"
                # A part said to be a hazard after a "but": not a warning given in praise ("not
                # for under 3s, this is a choking hazard, otherwise the kids love it").
                r"|\b(?:but|however|though|unfortunately|sadly)\b[^.!?]{0,30}?\b(?:this(?: \w{1,12})?"
                r"|the (?:\w{1,12} )?(?:eyes|buttons?|beads?|wheels?|lid|cord|cable|plug|battery"
                r"|batteries|magnets?|charger|wick|zip|clasp|parts?|pieces?)|it'?s|they'?re)"
                r"(?: (?:is|are|was|were))? (?:a |an )?(?:real |serious |total |major |definite |huge"
                r" |potential )?(?:fire|choking|safety|electrical|burn|health) hazard\b"
                r"|\b(?:i|we|he|she|(?:my|our) (?:son|daughter|baby|child|kid|toddler|husband|wife))"
                r" (?:\w{1,12} )?(?:cut|burned|burnt|scalded|sliced) (?:my|our|his|her)(?: own)?"
                r" (?:hands?|fingers?|thumbs?|wrists?|arms?|legs?|feet|foot|face|skin|scalp)"
                r"(?: open)? on (?:it|this|these|them|its|the (?:sharp|edge|blade|handle|lid|side"
                r"|casing|rim))\b(?! of (?:my|our|an?|the) (?:old|other|previous|last)\b)"
                r"|\b(?:came (?:loose|off|apart)|snapped|broke|shattered) and (?:cut|burned|burnt"
                r"|scalded|sliced|injured|hurt) (?:my|his|her|their|our) (?:(?:son|daughter|baby"
                r"|child|kid|toddler|husband|wife)'?s )?(?:skin|hands?|fingers?|thumbs?|wrists?"
                r"|arms?|legs?|neck|feet|foot|face|eyes?|son|daughter|baby|child|toddler)\b"
                # The thing said to be unsafe, not the streets a customer feels unsafe in.
                r"|\b(?:it|this|that|they|these|the (?!kids\b|neighbo(?:u)?rhood\b|area\b|street\b"
                r"|streets\b|park\b|road\b|roads\b|city\b|house\b|home\b|world\b)\w{1,12})"
                r"(?: \w{1,12})? (?:feels|seems|looks|is|are|was|were) (?:\w{1,12} )?(?:unsafe|not"
                r" safe)\b(?! (?:for|to|in|to"
                r" put in) (?:the |a )?(?:microwave|dishwasher|oven|freezer|dryer|tumble|work)\b| to"
                r" (?:leave|walk|go|be out|park|ride|drive|let)\b| (?:at night|after dark|around"
                r" here)\b)"
                r"|\b(?:it|this|these|they|its \w{1,12}|the (?:edge|blade|handle|lid|side|case"
                r"|casing|vent|steam|glass|wax|metal|clasp|buckle|spring|product|toy|device"
                r"|knife|jar))(?: (?!i\b|we\b|he\b|she\b|you\b|they\b|when\b)\w{1,12}){0,2}"
                r" (?:cut|burn(?:ed|t)|scald(?:ed)?|injur(?:ed)|sliced"
                r"|pinched) (?:my|his|her|their|our) (?:own )?(?:(?:son|daughter|baby|child|kid"
                r"|toddler|husband|wife)'?s )?(?:skin|hands?|fingers?|thumbs?|wrists?|arms?|legs?"
                r"|neck|feet|foot|face|eyes?|scalp)\b"
            ),
            # Glass, metal or plastic where food is (bone in it is a fault: `poor_quality`).
            (
                r"\b(?:found|there (?:was|were|is|are))\s(?:\w{1,12} ){0,5}(?:pieces?|bits?|shards?"
                r"|slivers?|chunks?|fragments?) of (?:glass|metal)\b(?! in the (?:box|kit|set|pack))"
                r"|\b(?:(?:glass|metal|plastic) (?:shards?|fragments?|pieces?)|(?:pieces?|bits?"
                r"|shards?|chunks?|fragments?) of (?:glass|metal|hard plastic|plastic)) in (?:my|the"
                r"|our|each) (?:\w{1,12} )?(?:food|mouth|jar|jam|sauce|soup|salad|drink|meal|bread"
                r"|cereal|bag|tin|can|cookies?|biscuits?|chocolate|candy|sandwich|pizza|burger"
                r"|rice|pasta|yogh?urt|coffee|tea|kibble|treats?|chips|crisps|snack)\b"
            ),
        ),
        (),
    ),
    "refund": (
        "asks for a refund",
        (
            r"\brefund",
            r"money back",
            r"\bcharge ?back",
            r"\bdispute\b",
            r"(?<!not )(?<!n't )\bdisput(?:ing|ed)\b",
            r"reimburs",
            r"want (?:my|a) (?:refund|credit)",
            r"give me my money",
            r"charged (?:me )?twice",
            r"double charg",
            r"\bcompensation\b",
            r"kept my money",
            r"money taken",
        ),
        (),
    ),
    "return": (
        "wants to return or exchange it",
        (
            # Not a visit back: "I returned the next day", "we returned for dinner".
            (
                r"\breturn(?:ed|ing)? (?:it|this|them|the)\b(?! (?:next|following|other)"
                r" (?:day|week|night|morning|evening|weekend|year)\b| (?:weekend|week|month|year"
                r"|summer|winter|christmas|evening|afternoon|morning|time|favou?r)\b)"
            ),
            r"sen(?:t|d|ding) (?:it|this|them) back",
            r"\bexchange (?:it|this|for)",
            r"return label",
            r"\bwant to return",
            r"\breturn request",
            r"\breturned \d{1,3} (?:hours?|days?)",
            # The item is going back, or went back: "needless to say it will be going back",
            # "... would not stay up. Returned."
            (
                r"\b(?:it|this|they|these|this one|that one|both|the \w{1,20})(?: is| are| will be"
                r"|'s|'re| was| were)? (?:definitely |probably |sadly |so |all )?going back\b"
                r"(?! to (?:its|their|basics|roots)\b)"
            ),
            (
                r"(?:^|[.!?;,]\s{0,3}|\b(?:so|and|i|we|sadly|unfortunately) )returned"
                r"(?=\s{0,2}[.!]|\s{0,3}$)"
            ),
        ),
        (),
    ),
    "late_delivery": (
        "the order is late or has not arrived",
        (
            r"where(?:'s| is| are) my (?:order|package|parcel|stuff|item)",
            # Not "didn't receive what I ordered": that is the wrong thing, not a late one.
            r"(?:never|hasn'?t|has not|have not|haven'?t|didn'?t|did not|still not|not yet|yet to) (?:arrived?|received?|receive|come|shown up|showed up|delivered|get|got)\b(?! what (?:i|we|was) (?:ordered|paid for|asked for))",
            r"still (?:waiting|no sign of|hasn'?t (?:arrived|come|shipped)|haven'?t (?:received|got(?:ten)?))",
            r"\b(?:weeks?|days?|months?) late\b",
            # "The parcel was late", "it arrived late" (not "ordered it late at night").
            (
                r"\b(?:(?:parcel|package|order|delivery|shipment)s? (?:was|were|is|are|arrived|came"
                r"|got here|turned up|showed up)|(?:it|they|everything) (?:arrived|came|got here"
                r"|turned up|showed up)) (?:very |so |really |again |far too |too )?late\b"
                r"(?! (?:at night|in the evening|last night))"
            ),
            r"\blate (?:delivery|arrival|shipping)",
            r"\bdelay(?:ed|s)?\b",
            r"\blost (?:in (?:the )?(?:post|mail|transit)|(?:the |my |our )?(?:package|parcel|order|shipment|delivery))",
            r"\blost (?:my|our|the) (?:last|previous|first|other) (?:\w{1,10} )?(?:packages|parcels|orders|deliveries|shipments|package|parcel|order|delivery|shipment)\b",
            r"\bno tracking",
            r"tracking (?:hasn'?t|has not|doesn'?t|does not|not) (?:updated|moved|changed|work)",
            r"\btook (?:forever|ages|weeks|over a month)",
            r"\bnever (?:got|received|came)",
            r"\bmissing (?:package|parcel|order)",
            r"\b(?:order|package|parcel) is still missing",
            r"\bwrong address",
            r"waiting (?:over |for )?(?:a|an|one|two|three|four|five|six|several|\d{1,4}) (?:days|weeks?|months?)",
            r"(?:took|takes|taking|take) (?:over |almost |nearly )?(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|\d{1,4}) (?:whole )?(?:days|weeks?|months?)",
            r"(?:a|one|two|three|\d{1,4}) (?:days?|weeks?|months?) (?:to (?:deliver|arrive|ship|come)|after (?:the|it|my)|later)",
            r"(?:hasn'?t|has not|not yet|wasn'?t|was not|not been|never|still not) (?:shipped|dispatched|sent|delivered)",
            r"\bnot arrived\b",
            # The tracking says delivered, the customer has nothing.
            (
                r"\b(?:says?|said|marked|shows?|showed|showing|listed)(?: it| as| it as| it was)?"
                r" delivered\b[^.!?]{0,60}?\b(?:but|when|yet|and (?:it|i|we|they|nothing)"
                r" (?:wasn'?t|was not|isn'?t|is not|haven'?t|have not|never|didn'?t|did not"
                r"|can'?t|cannot|don'?t|do not|has(?:n'?t| not)? ?(?:arrived|come|turned up)))\b"
            ),
            r"nothing (?:has )?(?:arrived|come|turned up)",
            r"\bchas(?:e|ed|ing) (?:the|my|up)",
            # What a tracking page says, not "it still shows my waist".
            r"\bstill (?:says|shows|showing):? (?:(?:it'?s|it is|it|as|that) )?[\"'“‘]?(?:in transit|processing|pending|not (?:yet )?(?:shipped|delivered|dispatched)|label|pre-?transit|awaiting|out for|being prepared)",
            r"\bno updates? on my (?:order|shipment|package|parcel)",
            r"\breturned to sender",
            r"\b(?:driver|courier) never",
        ),
        (
            # A wait told in minutes, hours or weeks ("waited 40 minutes for our food", "waited
            # three weeks for it"): only when the tone is not happy ("I waited a week to review").
            (
                r"\b(?:waited|been waiting|had to wait) (?:for )?(?:well )?(?:over |more than |almost "
                r"|nearly |about |around |at least )?(?:an? |\d{1,3}\+? |one |two |three |four |five "
                r"|six |seven |eight |nine |ten |eleven |twelve |fifteen |twenty |thirty |forty "
                r"|fifty )(?:more |whole |full )?(?:minutes|mins|hours?|hrs|days|weeks?|fortnight"
                r"|months?)\b(?! (?:to|before) (?:write|review|post|see|try|test|give|rate|leave|writing"
                r"|reviewing|posting|trying|testing|giving|rating|leaving))"
            ),
        ),
    ),
    "missing_item": (
        "something is missing from the order",
        (
            r"\b(?:arrived|came) empty",
            r"\b(?:box|package|parcel) (?:was|came|arrived) empty",
            r"\bmissing (?:items?|parts?|pieces?|from (?:the|my))",
            r"\b(?:is|are|was|were) missing\b",
            r"(?<!\bno )\b(?:items?|parts?|pieces?) missing\b",
            r"\bthe missing \w{1,20}",
            r"\bonly (?:one|two|three|half|some|part) of\b",
            r"\bhalf (?:of )?(?:my|the) order",
            r"\bcame without\b",
            r"\bincomplete order",
            (
                r"\b(?:bag|box|jar|tin|packet|bottle|can|pack|container|package|pouch)s?"
                r" (?:was|were|is|are|came|arrived) (?:only half[- ](?:full|filled)|(?:only )?(?:half"
                r"|partly|partially)[- ]empty)\b"
            ),
            r"\b(?:wasn'?t|was not|weren'?t|were not) (?:in|inside|included in) (?:the|my) (?:box|parcel|package|bag|order)\b",
            # "Not a single item arrived", "not one of them came"; not "not one arrived late"
            # (a praise) nor "not one arrived intact" (damage, below).
            (
                r"\bnot (?:a single|one)(?: \w{1,20}){0,3}? (?:arrived|came|turned up|showed up"
                r"|was delivered)\b(?! (?:late|broken|damaged|cracked|chipped|crushed|smashed"
                r"|dented|scratched|bent|torn|leaking|melted|spoiled|stale|wrong|open|opened|warm"
                r"|on time|in time|early|intact|whole|in one piece|undamaged|unbroken|safe|safely"
                r"|ok|okay|fine|in (?:good|perfect|bad|poor) (?:condition|shape)))"
            ),
        ),
        (r"\bnot included\b",),
    ),
    "broken": (
        "it arrived damaged or spoiled, or stopped working",
        (
            # "Not one of the plates arrived intact", "not a single glass came in one piece".
            (
                r"\bnot (?:a single|one)(?: \w{1,20}){0,3}? (?:arrived|came|survived|made it)"
                r"(?: \w{1,12}){0,2}? (?:intact|whole|in one piece|undamaged|unbroken|safe(?:ly)?"
                r"|in (?:good|perfect) (?:condition|shape))\b"
            ),
            # Skin breaking out is no damage; a handle that "broke out in two pieces" is.
            (
                r"\bbroke(?:n)?\b(?! out in (?:an? )?(?:\w{1,12} )?(?:rash|rashes|hives|spots"
                r"|pimples|acne|welts|blisters|bumps|sweat|tears|laughter|song|a sweat)\b"
                r"|(?: me| him| her| us| my \w{1,12}) out\b)"
            ),
            r"\bdamaged?\b",
            r"\bcrack(?:ed|s)?\b",
            r"\bdefect",
            r"\bfaulty",
            r"stopped working",
            r"(?:doesn'?t|does not|didn'?t|did not|won'?t|will not) (?:work|turn on|charge|function)",
            r"fell apart",
            r"\bripped\b",
            r"\btorn\b",
            r"\bleak(?:s|ed|ing|y)\b",
            r"\bshattered",
            r"\bdead on arrival",
            r"\bdoa\b",
            r"\bmalfunction",
            r"came apart",
            r"\bdented",
            r"\bscratch(?:ed|es)\b",
            r"\bstain(?:ed|s)\b",
            r"\bmou?ldy\b",
            r"\bexpired\b",
            r"\bspoiled\b",
            r"\brust(?:ed|y)\b",
            r"\bpeel(?:ed|ing)\b",
            r"\bsnapp(?:ed|ing)\b",
            # Chipped china, not the chips a food shop sells ("best chips ever").
            r"\bchipp(?:ed|ing)\b(?! in\b)",
            r"\b(?:a|one|small|tiny|big|large|little|huge|deep) chip (?:in|on|out of|off)\b",
            (
                r"\bchips? (?:in|on|out of|off) (?:the |its |my |one |each |every |both )?"
                r"(?:rim|glaze|edge|edges|paint|enamel|lid|base|handle|corner|screen|glass|finish"
                r"|surface|plate|bowl|mug|cup|top|side of the (?:mug|bowl|cup|plate))\b"
            ),
            r"\b(?:paint|glaze|enamel|varnish|finish|polish|coating) (?:\w{1,20} )?chips\b",
            r"\bwarp(?:ed|s)?\b",
            r"\bmou?ld\b(?! (?:of|for|shape|making)\b)",
            r"\b(?:came|fell|come|falls?) off\b",
            r"\barrived (?:soaked|wet|open(?:ed)?|torn|crushed)",
            r"\bsuddenly died\b",
            r"\b(?:it|replacement|battery|screen) died\b",
            r"\bno longer work",
            r"\bonly worked once\b",
            r"\bwent (?:black|dead)\b",
            r"\b(?:coming|came|come|comes) (?:undone|unstitched|unglued|unravell?ed)\b",
            r"\bunravell?(?:ing|ed|s)\b",
            r"\bseams? (?:split|splitting|came apart|ripped|burst|gave way)",
            r"\b(?:arrived|came|was|were|got) (?:all |badly )?bent\b",
            # Smashed in transit, not "you smashed it" (did it well).
            r"\b(?:arrived|came|was|were|got|is|are|been) (?:all |completely |totally )?smashed\b",
            r"\bsmashed (?:to (?:pieces|bits)|in (?:transit|the post|the mail))",
            (
                r"\b(?:arrived|came|delivered) with (?:a |an )?(?:big |small |huge |deep |large )?"
                r"(?:scratch|dent|chip|crack|hole|tear|rip|stain|mark)(?:e?s)?\b"
                r"(?![- ](?:off|remover|free|resistant|proof|sample|pen|stick))"
            ),
        ),
        (r"\bcrushed\b",),
    ),
    "wrong_item": (
        "it was not what they ordered or not as described",
        (
            r"wrong (?:item|colou?r|product|order|one|thing|model|version)",
            r"not what i (?:ordered|paid for|asked for)",
            r"\b(?:didn'?t|did not|never) (?:receive|get) what (?:i|we|was) (?:ordered|paid for|asked for)",
            r"(?:sent|shipped|received|got) (?:me )?the wrong (?!size)",
            r"not as (?:described|pictured|advertised|shown)",
            r"\b(?:wrongly|falsely) advertised",
            r"looks nothing like",
            r"nothing like the (?:photos?|pictures?|description)",
            r"\bdoesn'?t match",
            r"does not match",
            r"\bordered (?:a |an |the )?[\w ]{0,25}? and (?:got|received|was sent)",
            r"\b(?:sent|shipped|received|got|came|arrived|delivered|gave me)\b[^.!?]{0,40}\binstead of\b",
            r"\binstead of (?:the (?:one|item|colou?r|size|model|product) )?(?:what )?(?:i|we) (?:ordered|paid for|asked for|chose)",
            r"someone else'?s",
            r"\b(?:completely |totally )?different (?:model|item|product|version|from)",
            # A colour is wrong when it arrived so, not when the customer wishes for another.
            r"\b(?:came|arrived|sent|received|got|delivered|is|was)\b (?:in )?(?:a |an )?(?:completely |totally )?different (?:colou?r|shade)\b(?! (?:i|we) would)",
            r"\bdifferent colou?r (?:than|from|to) (?:the |what |pictured|shown|ordered|advertised|described)",
            r"\bnot the (?:one|product|item|colou?r|version|model)",
            r"\bwas not new\b",
        ),
        (),
    ),
    "size_fit": (
        "the size or fit is wrong",
        (
            r"\bwrong size",
            r"\bdoesn'?t fit",
            r"does not fit",
            r"\bdidn'?t fit",
            r"(?:wa{1,6}y |far |much )?too (?:small|big|large|tight|short|long|narrow|wide|loose)",
            r"\bfits? (?:badly|poorly)",
            r"\bnot the (?:right )?size",
            (
                r"\b(?:it|this|dress|top|shirt|jacket|coat|jumper|sweater|tunic|blouse|skirt|hoodie"
                r"|cardigan|on me) (?:\w{1,12} )?looks? like (?:a |an |i'?m wearing a )?(?:tent|sack"
                r"|potato sack|bin bag|garbage bag)\b|\b(?:i|she) (?:look|looked|looks) like (?:i'?m |i"
                r" was |she was |she'?s )?(?:wearing )?an? (?:tent|sack|potato sack)\b"
            ),
            r"\bdoesn'?t stay (?:in|on)",
            # A garment that falls short, not a battery life that does.
            (
                r"\b(?:sleeves?|arms?|legs?|length|hem|inseam|torso|straps?|dress|top|skirt|shirt"
                r"|jacket|coat|trousers|pants|jeans|shoes?|boots?|gloves?|it|they)(?: (?:is|are|was"
                r"|were))?(?: still| just)? (?:not|isn'?t|aren'?t|wasn'?t|weren'?t) (?:nearly |quite "
                r"|really )?(?:long|big|wide|tall|large|roomy) enough\b"
            ),
        ),
        (
            # Sizing advice in a happy review ("runs small, order a size up", "smaller than I
            # thought but lovely") is no complaint.
            r"(?:smaller|bigger|larger|thinner|shorter|tighter|looser) than (?:i |we )?(?:expected|thought|imagined|hoped|it looks|the (?:picture|photo))",
            r"\bsize chart",
            r"\bruns? (?:small|large|big|narrow)",
            r"\bfits? (?:small|big|large|tight)",
        ),
    ),
    "poor_quality": (
        "is disappointed with the quality",
        (
            r"\bfad(?:ed|es|ing)\b",
            r"\bstale\b",
            r"\btasteless\b",
            # Food that is off: a food shop's "damaged", said of the food ("the salsa was
            # bland", "good but watery"), not of what the product fixes ("turns bland chicken
            # into…", "watery eyes"), a colour ("burnt orange") or a care label ("lukewarm
            # water").
            (
                r"\b(?:was|were|is|are|tastes?|tasted|arrived|came|went|got|but|and|too|very|so"
                r"|really|quite|rather|pretty|completely|totally|a bit|bit|slightly)"
                r" (?:bland|flavou?rless|inedible|rancid|soggy|watery|rubbery|under-?cooked"
                r"|over-?cooked|lukewarm|burnt|burned|slimy|rotten)\b(?! out\b)"
            ),
            r"^(?:bland|flavou?rless|inedible|rancid|soggy|watery|rubbery|slimy|rotten)\b",
            r"\bburn(?:t|ed) (?:on the (?:bottom|edges?|outside)|to a crisp)\b",
            (
                r"\b(?:milk|cream|meat|fish|chicken|yoghurt|yogurt|food|fruit|veg|bread|cheese"
                r"|juice|salad|eggs?|butter|sauce|it|they)(?: had| has| have)? (?:already )?(?:gone"
                r"|went|turned) (?:sour|off|bad|rancid|mou?ldy)\b"
            ),
            (
                r"\b(?:smelled|smells?|tasted|tastes?) (?:already |a bit |slightly )?(?:sour|rancid"
                r"|off)\b(?! (?:white|the)\b)|\b(?:was|were|is|are) (?:already |a bit |slightly )?"
                r"(?:sour|rancid)\b"
            ),
            (
                r"\b(?:found|there (?:was|were|is|are)|with|had|has|got)\s(?:a |an |some |several "
                r"|two |three |lots of |loads of )?(?:long |dead |live |small |tiny )?(?:hairs?|bugs?"
                r"|insects?|worms?|maggots?|weevils?|slugs?|flies|fly|mouse droppings|droppings)"
                r" (?:\w{1,12} ){0,2}(?:in|on|into|inside) (?:my|the|our|it|each|every|one of)\b"
                r"(?! (?:app|software|website|site|system|code|update|firmware|game)\b)"
            ),
            r"\bmouse droppings\b",
            (
                r"\b(?:found|there (?:was|were))\s(?:\w{1,12} ){0,5}(?:pieces?|bits?|shards?|chunks?"
                r"|fragments?) of bone\b"
            ),
            r"\b(?:no|zero|lacks?|lacked|lacking|without (?:any|much)) (?:real )?(?:flavou?r|taste)\b",
            r"\b(?:flavou?rs?|taste) (?:was|were|is|are) (?:lacking|missing|weak|off)\b|\bfell flat\b",
            r"\bswimming in (?:grease|oil)\b",
            # Cooked wrong or served cold, said of the food: not a steak pink as ordered, a
            # towel "bone dry" or "a stone cold classic".
            (
                r"\b(?:chicken|turkey)(?: \w{1,12})? (?:was|were|is|are) (?:still )?(?:raw|pink"
                r"|bloody)\b(?! (?:delicious|good|great|lovely|brilliant|amazing|tasty|gorgeous))"
                r"|\b(?:pork|sausages?|burgers?|meat)(?: \w{1,12})? (?:was|were|is|are) (?:still )?raw\b"
                r"|\b(?:raw|undercooked) (?:in the (?:middle|centre|center)|inside)\b"
            ),
            (
                r"\b(?:cake|bread|meat|chicken|turkey|muffins?|brownies?|cookies?|scones?|loaf"
                r"|sponge|pie|pastry)(?: \w{1,12})? (?:was|were|is|are) (?:\w{1,12} )?(?:dry as a bone"
                r"|bone[- ]dry|dry as dust|like sawdust)\b"
            ),
            (
                r"\b(?:food|pizza|soup|coffee|meal|fries|chips|burger|order|curry|noodles|dinner"
                r"|lunch|it|everything)(?: \w{1,12})? (?:arrived|came|was|were|is) (?:(?!never\b"
                r"|not\b|no\b)\w{1,12} )?stone[- ]cold\b"
            ),
            (
                r"\btast(?:e|es|ed|ing) (?:like |of )?(?:chemicals?|cardboard|plastic|soap|metal"
                r"|nothing(?! (?:else|like))|dirt|medicine|sawdust|burnt|rubber|mou?ld|off|old"
                r"|stale)\b"
            ),
            # Pilling knitwear, not the pills a pharmacy sells.
            r"\b(?:pilled|pilling|bobbl(?:ed|ing|y)|started to pill|pills? after)\b",
            (
                r"\b(?:weird|strange|funny|bad|awful|terrible|horrible|nasty|chemical|bitter"
                r"|metallic|odd|off|fishy) (?:after)?taste\b(?! in\b| (?:humou?r|jokes?)\b)"
            ),
            # Shedding fibres, not a garden shed.
            (
                r"(?<!\bgarden )(?<!\bthe )(?<!\ba )(?<!\bmy )(?<!\bour )(?<!\btool )(?<!\bbike )"
                r"(?<!\bbin )(?<!\bin )(?<!\bby )(?<!\bwooden )(?<!\bbehind )(?<!\bnear )\bsheds?\b"
            ),
            r"\bnever (?:germinated|grew|sprouted)",
            r"smells? (?:like )?nothing",
            r"\bno (?:scent|smell)\b",
            r"lasted (?:only |just )?(?:a|one|two) (?:whole )?(?:days?|weeks?)",
            r"\bsmells? (?:strongly )?of (?:chemicals|mou?ld|damp|mildew)",
        ),
        (
            r"\bpoor(?:ly)? (?:quality|made|built|constructed|construct)",
            r"\bcheap(?:ly)? (?:made|quality|material|plastic)",
            r"\bflimsy",
            r"\bjunk\b",
            r"\bgarbage\b",
            r"\btrash\b",
            r"\bcrap(?:py)?\b",
            r"\bfake\b",
            r"\bknock-?off",
            r"\bsmell(?:s|ed)? (?:bad|awful|terrible|like)",
            # Smoke is a fault in a coat, a virtue in a whisky: only when the tone is not happy.
            r"\bsmells? (?:strongly )?of (?:smoke|petrol|gasoline|cigarettes)",
            r"\bunusable",
            # Taste, when the tone is not happy ("not too sweet" is read as no problem).
            r"\b(?:way |far |much )?too (?:salty|sweet|sour|bitter|greasy|oily|dry|spicy|chewy)\b",
            r"\b(?:disgusting|yucky|yuck|revolting|gross)\b(?! (?:weight|income|margin|profit))",
            r"(?<!non-)(?<!non )(?<!not )\b(?:greasy|mushy)\b",
            r"\buncomfortable",
            r"(?:lasted|broke after) (?:only )?(?:a|one|two|\d{1,4}) (?:day|week)s?",
            r"\bbad quality",
            r"\bquality (?:is|was) (?:poor|bad|terrible|awful)",
            r"\bworthless",
        ),
    ),
    "price": (
        "thinks it costs too much",
        (
            r"\bovercharg",
            r"\bnot worth (?:the )?(?:money|price|cost)",
            r"\bhidden (?:fees?|costs?|charges?)",
            r"\b(?:shipping|delivery|customs|import) (?:fees?|costs?|charges?) (?:were|was|are|is) (?:too |so |ridiculous|outrageous|crazy|extortionate)",
            r"\b(?:ridiculous|outrageous|extortionate|crazy|steep) (?:prices?|fees?|shipping|costs?)",
            r"\bnot a good (?:bargain|deal|value)",
            r"\bpoor value",
        ),
        (
            r"\bover ?priced\b",
            r"\btoo (?:expensive|pricey|much money)\b",
            r"\bfor (?:the|that) price\b",
            r"\brip ?-?off\b",
            r"\bwaste of (?:money|\d{1,4} (?:bucks|dollars|euros|pounds))",
            r"\bwast(?:ed|ing) (?:my|your) (?:\w{1,10} )?money",
            r"\bexpensive\b",
            r"\bcosts? (?:as much|so much|a lot)",
        ),
    ),
    "no_reply": (
        "got no answer or poor help from the store",
        (
            r"no (?:response|reply|answer|one (?:answers|replies|responds|got back))",
            r"(?:nobody|no one|no-one) (?:has |have |ever )?(?:answered|replied|responded|got back|gets back|answers|replies)",
            r"(?:haven'?t|hasn'?t|have not|has not) (?:answered|replied|responded|heard back)",
            r"(?:never|nobody|no one|not) (?:responded|replied|answered|got back|gets back|respond|reply)",
            r"(?:ignor(?:ed|ing)|unanswered) (?:all )?(?:my )?(?:emails?|messages?|calls?|requests?)",
            r"(?:can'?t|cannot|could not|couldn'?t|unable to) (?:reach|contact|get (?:a hold|ahold|through))",
            r"customer (?:service|support|care) (?:is|was) (?:terrible|awful|useless|horrible|non-?existent|rude|slow|bad|poor)",
            r"\b(?:rude|unhelpful) (?:staff|support|service|agent|rep)",
            r"(?:emailed|messaged|called|contacted)(?: them| you| the store| support)? (?:\w{1,20} )?(?:times|twice)",
            r"stopped (?:replying|responding|answering)",
            r"(?:nobody|no one|never) (?:has )?(?:gotten|got|gets) back",
            r"closed my (?:ticket|case|request)",
            r"promised (?:a |me a )?call ?back",
            r"never happened",
            r"\bno human to talk",
        ),
        (
            r"(?:terrible|awful|worst|horrible|bad|poor|rude|useless) (?:customer )?(?:service|support)",
            r"\bforget (?:\w{1,20} )?(?:tech )?support",
            r"\bdon'?t care about (?:the )?(?:customer|consumer)",
            r"\bunprofessional\b",
        ),
    ),
    "never_again": (
        "will not buy again, or warns others off",
        (
            r"never (?:again|buy(?:ing)?|order(?:ing)?|shop(?:ping)? (?:here|there|with)|purchas|recommend)",
            r"\b(?:won'?t|will not|wouldn'?t|would not) (?:be )?(?:buy|order|shop|purchas|recommend|return|com)(?:ing|e)?",
            r"\bnot (?:buying|ordering|purchasing) (?:\w{1,12} ){0,4}again\b",
            # "not gonna buy again", "won't ever buy again", "never ever", "unlikely to buy
            # again", "can't say I'll buy again", "I don't think I'll buy again".
            (
                r"\b(?:(?:not|never|won'?t|wont|will not|wouldn'?t|wouldnt|would'?nt|would not)"
                r"(?: (?:ever|gonna|going to|be|ever be)){1,2}|unlikely to|never will (?:i|we)"
                r"|(?:can'?t|cannot) say (?:i'?ll|i will|i'?d|i would|we'?ll)|(?:don'?t|dont|do not)"
                r" think (?:i'?ll|i will|we'?ll|we will|i'?d|i would)(?: ever)?)"
                r" (?:buy|order|purchas|shop)\w{0,3}\b(?: \w{1,12}){0,3}? again\b"
            ),
            r"\bfirst and (?:the )?last (?:time|order|purchase)\b",
            r"\bbuy(?:ing)? (?:it |this |them |these )?again\?\s{0,3}" + _NO_ANSWER,
            r"\bbuy(?:ing)? (?:it |this |them |these )?again" + _TAKEN_BACK,
            r"last time i (?:order|buy|bought|shop)",
            r"(?:lost|losing) (?:a|my|your) (?:customer|business)",
            r"\bdo(?:n'?t| not) recommend",
            r"\bnot recommend",
            r"\bstay away",
            r"\bbuyer[- ]{1,3}(?:beware|be (?:very )?careful)",
            r"\bzero stars?",
            r"\bno stars?",
            r"\b(?:one|1) star\b",
            r"\bif i could give (?:zero|0|no)",
            r"\bshop elsewhere",
            r"\btake my business elsewhere",
            r"business elsewhere",
        ),
        (
            r"\bdo(?:n'?t| not) (?:buy|order|purchase|waste|be fooled|make the same mistake)",
            r"\bbuy a different\b",
            r"\bavoid\b",
            r"\bscam\b",
        ),
    ),
    # The two below say only that something is wrong, not what: shown to an agent only when no
    # reason above says what ("Terrible, it broke" is "damaged", not also "writes in negative
    # terms"), so the reasons an agent reads name the problem.
    "product_problem": (
        "reports a problem with the product",
        # Faint praise: "mediocre at best", "edible at best" (VADER hears "best").
        (
            (
                r"\b(?:mediocre|average|ok|okay|decent|passable|so-so|edible|adequate|fine"
                r"|alright|tolerable|meh) at best\b"
            ),
        ),
        (
            r"\b(?:problems?|issues?|trouble)\b",
            r"\bfail(?:s|ed|ing|ure)?\b",
            r"\berrors?\b",
            r"\bcrash(?:es|ed|ing)?\b",
            r"\bglitch",
            r"\bfreez(?:e|es|ing)\b",
            r"\bfroze\b",
            r"\b(?:noisy|grainy|blurry|fuzzy|distorted|static|hiss(?:ing)?|buzz(?:ing)?)\b",
            r"\boverheat",
            r"\b(?:sluggish|unreliable|inconsistent|mediocre|meh|so-so)\b",
            (
                r"\b(?:underwhelm(?:ing|ed)|sub-?par|lacklust(?:er|re)|over-?rated|over-?hyped"
                r"|nothing special"
                r"|nothing to write home about)\b"
            ),
            r"\b(?:hard|difficult|impossible|a pain) to\b",
            r"\bconfusing\b",
            r"\bunfortunately\b",
            r"\bbut (?:the|it|they|this)\b[^.!?\n]{0,120}?\b(?:not|no|poor|bad|only)\b",
            r"\btoo (?:heavy|loud|slow|hot|cold|thin|weak)\b",
            r"\black(?:s|ing)?\b",
            r"\b(?:stuck|jams?|jammed|skips?|lags?)\b",
            r"\bloose\b",
            r"\bwobbl",
            r"\bdrains?\b",
            r"\b(?:doesn'?t|does not|didn'?t|did not|won'?t|can'?t|cannot) (?:seem to |even |really |always )?(?:work|hold|stay|last|read|play|connect|recogni[sz]e|load|open|close|stick)",
            r"\bnot (?:working|compatible|reliable|accurate|durable|sturdy|clear|bright|loud enough)",
            r"\bpoor\b",
            r"\bbad\b",
            r"\bweak\b",
            r"\bwors[et]\b",
            r"\bsucks?\b",
            r"\bno (?:picture|sound|signal|power|instructions|manual)\b",
        ),
    ),
    "unhappy": (
        "is unhappy with the purchase",
        # "Not worth the wait" is never praise (VADER hears "worth"); the money is "price".
        (
            r"\bnot worth (?:the (?:wait|hype|trouble|effort|calories|time|drive|trip)|it)\b",
            (
                r"\bthank(?:s|s? you) (?:a lot |very much |so much )?for (?:absolutely )?nothing\b"
                r"(?! (?:short of|but|less than|more than|else))"
            ),
            r"\b(?:a |such a )?(?:total|real|complete|huge|big|major) let-? ?down\b",
        ),
        (
            r"\bdisappoint",
            r"\blet-? ?downs?\b",
            r"\blet (?:me|us|him|her|them|my \w{1,12}) down\b",
            r"\bwaste of (?:time|money)",
            r"\bnot worth",
            r"\buseless",
            r"\bterrible\b",
            r"\bawful\b",
            r"\bhorrible\b",
            r"\bworst\b",
            r"\bfalse advertis",
            r"\bnot (?:happy|satisfied|impressed|good)",
            r"\bunhappy\b",
            r"\bdissatisfied",
            r"\bfrustrat",
            r"\bannoy",
            r"\bupset\b",
            r"\bangry\b",
            r"\bfurious",
            r"\bcomplain(?:ed|ing|s)?\b",
            r"\bcomplaints? (?:re|about|from|regarding)\b",
            r"\bdisaster\b",
        ),
    ),
}

# Phrases that look like a cue but say the opposite ("no complaints", "not broken").
NEGATED = (
    r"\b(?:never|haven'?t ever|have never) had an? (?:issue|problem)",
    r"\bproblems?\b[^.!?]{0,120}?\b(?:fixed|sorted|resolved|solved)",
    r"\b(?:fixed|sorted|resolved|solved)\b[^.!?]{0,120}?\bproblems?",
    r"\bnot (?:a single |one )?(?:crack|scratch|chip|mark|dent)",
    # A fault looked for and not found: "not a single flaw", "couldn't find a single defect";
    # not "not problem-free", a magazine's issue, or a flaw not seen "until I washed it".
    (
        r"\b(?:not|without|(?:could|can|did)(?:n'?t| not) (?:find|see|spot)|never (?:found|saw)"
        r"|haven'?t (?:found|seen)) (?:a |one |any )?(?:single )?(?:flaw|fault|defect"
        r"|imperfection|issue(?! of| arrived| came)|problem|snag|hiccup)s?\b(?!-)"
        r"(?![^.!?]{0,80}\b(?:until|till|at first)\b)"
    ),
    r"\brefunded (?:\w{1,20} ){0,3}without (?:me )?(?:even )?asking",
    # A refund already made, and praised for it: "I was refunded quickly", "got a full refund,
    # no hassle", "a quick refund". Not one still owed or slow ("not refunded quickly", "still
    # waiting for a refund"), which no praise word follows.
    (
        r"(?<!not )(?<!n't )(?<!never )(?<!n't been )(?<!not been )(?<!never been )"
        r"\b(?:refunded|reimbursed) (?:me |us |my money |the money |it |in full )?"
        r"(?:\w{1,12} ){0,2}?(?:quickly|promptly|fast|swiftly|immediately|straight away"
        r"|right away|within (?:an? |\w{1,8} )?(?:hours?|days?|minutes?)|no questions asked"
        r"|without (?:any )?(?:hassle|fuss|issue|problem|question)s?)"
    ),
    (
        r"(?<!not )(?<!n't )(?<!never )\b(?:got|received|had|was given|were given|was issued"
        r"|gave me|issued) (?:a |an |my |the )?(?:full |prompt |quick |fast |immediate )?"
        r"(?:refund|money back)\b[^.!?]{0,30}?\b(?:quickly|promptly|fast|swiftly|immediately"
        r"|straight away|right away|within (?:an? |\w{1,8} )?(?:hours?|days?|minutes?)"
        r"|no questions asked|no hassle|hassle[- ]free|no problems?|no fuss"
        r"|without (?:any )?(?:hassle|fuss|issue|problem|question)s?)"
    ),
    (
        r"(?<!want a )(?<!need a )(?<!for a )(?<!like a )(?<!expect a )"
        r"\b(?:quick|prompt|fast|speedy|swift|immediate|hassle[- ]free|easy|no[- ]fuss)"
        r" (?:full )?refund\b(?! (?:please|asap|now|is needed|needed|wanted)\b)"
    ),
    r"\b(?:haven'?t|have not|hasn'?t|has not|never) (?:had|seen|noticed|experienced|taken) (?:a |any |one )?(?:single |real |major )?(?:bad \w{1,20}|problems?|issues?|trouble|complaints?)",
    r"\bno (?:real |major |big |serious )?(?:problems?|issues?|complaints?|trouble)\b",
    r"\b(?:a )?(?:few |one |some )?minor (?:problems?|issues?|flaws?|complaints?|gripes?)",
    r"\bnothing has (?:broken|failed|gone wrong)",
    r"\b(?:have|had) not been disappointed",
    r"\bwithout (?:a )?(?:hitch|glitch)",
    r"\bno (?:complaints?|problems?|issues?|damage)\b",
    r"\bnot (?:a single )?(?:broken|damaged|late|disappointed|a problem)\b",
    # "No broken creamers!", "none of the jars were broken", "no more stale chips": damage
    # that did not happen.
    (
        r"\b(?:no|none|zero|not one|not a single)(?: more| \w{1,20}| of (?:them|the \w{1,20}"
        r"|my \w{1,20}))?(?: (?:were|was|are"
        r"|is|arrived|came|got))? (?:broken|damaged|cracked|crushed|chipped|smashed|dented|stale"
        r"|mouldy|moldy|soggy|leaking|leaky)\b(?: (?:or|nor) (?:broken|damaged|cracked|crushed"
        r"|chipped|smashed|dented|stale|mouldy|moldy|soggy|leaking|leaky)\b)?"
    ),
    r"\bnothing (?:wrong|broken|damaged|to complain)",
    r"\b(?:didn'?t|did not|never) (?:break|disappoint|leak|crack)",
    r"\bwithout (?:any )?(?:damage|problems?|issues?|delay)",
    r"\b(?:arrived|came|shipped|delivered) (?:early|quickly|fast|on time|ahead of schedule|promptly|in perfect condition|safely)",
    r"\b(?:not|wasn'?t|isn'?t|was not|is not|never|aren'?t|weren'?t) (?:too|very|overly) (?:small|big|large|tight|short|long|loose|narrow|wide|thick|thin|heavy|warm|hot|salty|sweet|sour|bitter|greasy|oily|dry|spicy|chewy)",
    r"\b(?:not|isn'?t|wasn'?t|never|no) (?:at all )?(?:bland|soggy|greasy|watery|mushy|stale)\b",
    (
        r"\b(?:no|zero|none of (?:that|the)|without (?:any|the|that|a)?) ?(?:\w{1,12} ){0,2}"
        r"aftertaste\b"
    ),
    r"\bpleasant(?:ly)? (?:\w{1,12} )?(?:after)?taste\b",
    (
        r"\b(?:doesn'?t|does not|don'?t|do not|won'?t|never|not|no more|nothing|haven'?t had"
        r" (?:a|any)|hasn'?t|has not|didn'?t|did not)(?: (?:go|get|gets|getting|goes|went|gone"
        r"|turn|turns|turned|stay|stays|been))?(?: \w{1,10}){0,2}? (?:soggy|bland|watery"
        r"|lukewarm|over-?cooked|under-?cooked|burnt|burned|rancid|stale|mushy|greasy|sour|off"
        r"|bad)\b"
    ),
    r"\bover-?rated\?\s{0,2}(?:not|no|never)\b",
    r"\blet (?:me|us) down,? but not (?:this|these|that|yours|you)\b",
    (
        r"\b(?:doesn'?t|does not|didn'?t|did not|don'?t|do not|never) (?:taste|smell)"
        r" (?:at all )?(?:\w{1,12} )?(?:watery|bland|stale|burnt|like|of|bitter|greasy|soggy)"
    ),
    # Feelings and taste, not a broken thing: "I'm torn between the two", "didn't work for me".
    r"\b(?:i'?m|i am|i was|was|am|feel|felt)(?: so| a bit| a little| really)? torn\b",
    r"\btorn (?:between|about|as to|on)\b",
    r"\b(?:doesn'?t|does not|didn'?t|did not|won'?t|will not|just didn'?t) (?:really |quite )?work (?:for|with|on) (?:me|my|any|anything|everything|us|her|him)",
    # A star taken off is a rating explained, not a customer lost.
    r"\b(?:drop(?:ped)?|took|take|taking|knock(?:ed)?|minus|dock(?:ed)?|deduct(?:ed)?|los(?:e|t|ing)) (?:off )?(?:one|1|a) star",
    r"\b(?:one|1) star (?:off|less)\b",
    # Praise in the same breath: "never received so many compliments".
    r"\bnever (?:received|got|had|gotten) (?:so many|such|more|as many) (?:compliments|praise)",
    # Praise: "it has never let me down"; "spoiled me for other popcorn"; a brand the customer
    # leaves for this one.
    (
        r"\b(?:never|not|didn'?t|did not|won'?t|will not|doesn'?t|does not|hasn'?t|has not"
        r"|haven'?t|have not) (?:\w{1,12} )?let (?:me|us|you|him|her|them|my \w{1,12}) down\b"
    ),
    r"\b(?:spoil(?:ed|s)?|spoilt) (?:me|us|him|her|them)\b",
    (
        r"\bnever (?:again )?(?:buy|order|use|go back to) (?:a |any )?(?:different|another|other"
        r"|store[- ]bought|supermarket|regular|generic)\b[^.!?]{0,40}?\bagain\b"
    ),
    r"\b(?:does not|doesn'?t|did not|didn'?t) come in\b",
    # A colour's name: "a faded black".
    r"\bfaded (?:black|blue|denim|grey|gray|green|pink|red|navy|rose|look|wash|effect|finish|vintage)",
    r"\bcan'?t (?:wait|beat|go wrong|get enough(?! \w{1,12} (?:out of|from|to|for)\b)|recommend (?:\w{1,20} ){0,3}enough|say enough)",
    # Praise asked as a question, and a price that is low: "how can you go wrong?", "low cost".
    r"\bhow (?:can|could) (?:you|one|anyone|anybody|i|we) (?:possibly )?go wrong\b",
    r"\b(?<!too )(?:low|lower)[- ](?:cost|price[sd]?)\b",
    # Another product's fault, which this one is better than or replaces: "nothing like the
    # crappy stuff I grew up on", "an answer to the expensive cups", "makes water less boring";
    # not across a "but" ("cheaper than the store but stale"), and not a dearer product this
    # one falls short of ("nothing like the expensive ones").
    (
        r"\b(?:nothing like|better than|unlike|compared (?:to|with)|cheaper than|tastier than)"
        r"(?: (?!but\b|and\b|though\b|yet\b|it\b|is\b|was\b|are\b|were\b|arrived\b|came\b"
        r"|pictures?\b|photos?\b|pics?\b|images?\b|description\b|listing\b|advert\b|ad\b"
        r"|website\b)\w[\w-]{0,19}){0,3}? (?:crappy|cheap|bland|stale|awful|terrible|nasty|gross"
        r"|soggy|watery|boring|flimsy)\b"
        r"|\b(?:better than|cheaper than|(?:an )?alternative to|(?:an )?answer to|fix for"
        r"|replaces|replaced my|replacement for|(?<!not )(?<!n't )as good as)(?: (?!but\b|and\b"
        r"|though\b|yet\b|it\b|is\b|was\b)\w[\w-]{0,19}){0,3}? (?:expensive|over-? ?priced"
        r"|pricey|pricier)\b"
        r"|\bless (?:boring|bland|dull)\b"
    ),
    # A product the customer had before, and its fault: "my last phone case cracked in a
    # week, this one survived a drop", "unlike my old heater, which was a fire hazard". Not
    # an earlier order ("my last order arrived broken").
    (
        r"\b(?:(?:my|our) (?:old|previous|last|former)|the (?:old|previous|former)) (?!(?:order"
        r"|delivery|parcel|package|box"
        r"|shipment|purchase|one|\d{1,3}|two|three|four|few|couple|batch|bag|jar|bottle|tin|time"
        r"|pack|lot|tub|can|case|set|pair)\b)\w{1,12}(?: (?!(?:order|delivery|parcel|package|box"
        r"|one)\b)"
        r"\w{1,12})?(?:,? (?:which|that))? (?:was |were |had |kept |always |also )?(?:cracked"
        r"|broke|shocked me|sparked|zapped me|caught fire|leaked|ripped|tore|died|stopped working"
        r"|swelled|swollen"
        r"|bulged|an? (?:\w{1,12} )?"
        r"hazard|made me sick|gave me (?:a )?rash|exploded|burst into flames|went up in flames)\b"
    ),
    r"\bused to (?:feel|be|get) (?:so |very |really )?(?:unsafe|sick|ill)\b",
    r"\bto die for\b",
    # "Crack" of a food the customer cannot stop eating: "like crack", "crack for toddlers".
    (
        r"\b(?:like|pure|kitty|doggy|doggie|puppy|baby|chocolate|sugar|mom'?s|dad'?s|green) crack\b"
        r"|(?<!\ba )(?<!\bto )(?<!\bscreen )(?<!\bhairline )\bcrack (?:for (?:kids|toddlers"
        r"|dogs|cats|adults|grown[- ]?ups|me|us|\w{1,12} lovers)|cocaine|cookies|pie|dip|chicken"
        r"|open (?:a|the|another) (?:cold one|beer|bottle|can|book)|(?:me|us|him|her|them) up)\b"
        r"|\b(?:i|we|you|they|he|she|kids|always|just) crack up\b|\bcracks? (?:me|us|him|her"
        r"|them) up\b|\bcracking (?:up|open (?:a|the|another) (?:cold one|beer|bottle|can|book))\b"
    ),
    r"\bdon'?t (?:hesitate|think twice|miss)",
    (
        r"\b(?:would(?:n'?t| not)|won'?t|wont|will not) (?:hesitate|think twice)(?: (?:to|about)"
        r" buy(?:ing)? (?:it |this |them |these )?again\b)?"
    ),
    r"\bnot (?:worth|a waste) (?:the )?(?:hype)?\b(?=[^\n]{0,300}?(?:love|great|amazing))",
    r"\bhighly recommend",
    # "Will be back", "will return" to the shop; "I will return it" is a return.
    (
        r"\bwill (?:definitely )?(?:be )?(?:buying|ordering|shopping|back|return(?:ing)?\b"
        r"(?! (?:it|this|that|them|these|those|the (?!store|shop|site)|my|both|one|all|everything"
        r"|for|if|unless|as)\b))"
    ),
    # "Would buy again", "but I'd buy again": buying again where nothing before it in the
    # clause says no ("won't buy again", "not gonna buy again", "unlikely to buy again").
    (
        r"(?:^|(?<=[.!?,;:])|\b(?:but|and|so|because|though|although|yes)\b)(?: ?(?!"
        + _NO_WORD
        + r")[\w']{1,14}){0,6}? ?buy(?:ing)? (?:it |this |them |these )?again\b(?![^.!]{0,60}\?)"
        + r"(?!"
        + _TAKEN_BACK
        + r")"
    ),
    # In a question, the words alone, where no no is just before: "can I buy again with the
    # same code?" (not "would I buy again? No.").
    (
        r"(?<!n't )(?<!nt )(?<!not )(?<!never )(?<!n't be )(?<!not be )\bbuy(?:ing)?"
        r" (?:it |this |them |these )?again\b(?=[^.!]{0,60}\?)"
        r"(?!\?\s{0,3}" + _NO_ANSWER + r")"
    ),
    # Not again, and that is the point: "won't be buying again because I bought a lifetime
    # supply", "not buying again, because this one will last forever".
    (
        r"\b(?:won'?t|will not|not|never)(?: be)? (?:buy|order|purchas)\w{0,3} (?:\w{1,12} ){0,2}?"
        r"again,? (?:because|since|as|cause|cuz) (?:i (?:bought|got|have|stocked)|(?:this|it)"
        r" (?:one )?(?:will|should|'ll) last|they(?:'ll| will) last)\b"
    ),
    # Someone else's never-again, answered: "my friend said she won't buy again but I
    # disagree", "the reviews said people won't buy again, but mine was perfect".
    (
        r"\b(?:said|says|say|claim\w{0,2}|told me|reckons?)\b[^.!?]{0,40}?\b(?:won'?t|will not"
        r"|never|wouldn'?t|would not) (?:\w{1,12} ){0,2}?(?:buy|order|purchas)\w{0,3}[^.!?]{0,20}?"
        r"(?=,? ?\bbut (?:i|mine|not me|we)\b)"
    ),
    # Loyalty: "wouldn't buy anything else again".
    (
        r"\b(?:buy|order|purchase|use)(?:ing)? (?:anything|any) (?:else|other (?:brand|kind"
        r"|one)s?)\b[^.!?,]{0,20}\bagain\b"
    ),
    # A size that would have been wrong, that others may find wrong, or that the customer feared
    # and did not find, is no size problem: "a petite would have been far too short".
    (
        r"\b(?:would(?:n'?t)?(?: have|'ve)? been|would be|might be|might think (?:it is|it's)"
        r"|may (?:find|think)(?: \w{1,20}){0,3}|(?:worried|afraid|feared|scared) (?:that )?"
        r"(?:it|they) (?:would|might|will) be|(?:worried|afraid|feared|scared) (?:that )?"
        r"(?:it|they)'d be|(?:don'?t|didn'?t|do not|did not) (?:find|think)"
        r" (?:it|they|them)(?: is| are| was| were|'s| to be)?) (?:a (?:little|bit|tad) |a bit |"
        r"way |far |much |slightly )?too (?:small|big|large|tight|short|long|loose|narrow|wide)"
        # ... unless the customer says it came true: "I was afraid it would be too small, and
        # it is", "you may find the sleeves too short, mine are".
        r"(?![^.!?]{0,20}?(?:[.!?]\s{0,3})?\b(?:and |so |but )?(?:it|they|mine|which)"
        r" (?:\w{1,12} )?(?:is|are|was|were|did)(?: indeed| really| too)?\s{0,3}(?:[.!?,;]|$))"
    ),
    # A habit, another reviewer's rating, a choice, a fastening.
    # A fault the customer says the item does not have: "the material is not at all stiff",
    # "not see-through at all", "it does not look like a sack". Not "not long enough".
    (
        r"\b(?:not|isn'?t|aren'?t|wasn'?t|weren'?t|never|doesn'?t (?:feel|look|seem)|does not"
        r" (?:feel|look|seem)|didn'?t (?:feel|look|seem)|did not (?:feel|look|seem))"
        r"(?: (?:at all|in the least|remotely|overly|super|very|that|so|even a (?:little|bit)))?"
        r" (?:stiff|itchy|scratchy|see-? ?through|sheer|transparent|cheap(?:ly made)?|flimsy"
        r"|boxy|frumpy|clingy|bulky|shapeless|wrinkly|wrinkled|smelly|scratchy|rough|stretched"
        r"|faded|pill(?:y|ed|ing))\b(?! enough)"
    ),
    (
        r"\b(?:doesn'?t|does not|didn'?t|did not|won'?t|will not|never) (?:look|feel|make (?:me|you)"
        r" (?:look|feel)) like (?:a |an |i'?m (?:wearing )?(?:a |an )?)?(?:\w{1,12} ){0,2}(?:sack"
        r"|tent|bag|box|maternity|muumuu|nightgown|costume|potato)(?: (?:sack|tent|bag|dress))?"
    ),
    # A worry the item did not bear out: "I was concerned the arm holes came too low, but on me
    # that is not the case", "I was afraid it would be itchy but it isn't".
    (
        r"\b(?:was|were|i'?m|am|had been) (?:a (?:little|bit) )?(?:concerned|worried|afraid"
        r"|nervous|scared|skeptical|sceptical|hesitant)\b[^.!?]{0,120}?\bbut\b[^.!?]{0,40}?"
        r"\b(?:(?:that|this) (?:is|was) not the case|(?:that|this)(?:'s| is| was) not the case"
        r"|(?:it|they|that) (?:isn'?t|wasn'?t|aren'?t|weren'?t|is not|was not|are not|were not)"
        r"(?= ?[.!?,;]|$))"
    ),
    r"\bi (?:\w{1,20} )?never (?:buy|pay|purchase|order) (?:\w{1,20} ){0,3}(?:at |for )?full price",
    (
        r"\b(?:the|other|those|these|some|many|all|bad|negative) (?:\w{1,20} )?(?:one|1)[- ]stars?"
        r" (?:reviews|ratings)\b"
    ),
    (
        r"\b(?:someone|somebody|others?|people|reviewers?|they) (?:gave|give|have given|had given)"
        r" (?:it|this) (?:one|1) star"
    ),
    r"\bwas given (?:one|1) star",
    (
        r"\b(?:didn'?t|did not) (?:get|buy|order) (?:the |a |an )?(?:petite|regular|tall|plus"
        r"|larger|smaller|bigger|other|x{0,2}s|x{0,3}l|small|medium|large|size|colou?r|one)"
        r"(?: size| version| one)? (?:because|since|as) (?:i|we)\b"
    ),
    r"\b(?:un)?snapped or (?:un)?snapped\b",
    # What an order note tells the courier or the shop: a fixture at the door that does not
    # work, the buyer's own slip, a refund the shop has already made, an expense claim.
    (
        r"\b(?:buzzer|door ?bell|intercom|entry ?phone|door release|door entry)s?"
        r" (?:\w{1,12} )?(?:is |was |has been |seems )?(?:broken|out of order"
        r"|not working|doesn'?t work|does not work|isn'?t working|is not working|won'?t work"
        r"|don'?t work)"
    ),
    (
        r"\b(?:i|we) (?:\w{1,12} )?(?:ordered|picked|chose|selected|clicked|added|put) (?:in )?"
        r"the wrong (?:size|colou?r|one|item|address|variant|quantity)"
    ),
    (
        r"\b(?:discount|code|coupon|difference|overpayment|shipping|postage|out of stock)\b"
        # ... not one still owed: "I still haven't been refunded the postage".
        r"(?:(?!\b(?:not|never|n't|still|yet|haven'?t|hasn'?t|wasn'?t|weren'?t)\b)[^.!?]){0,60}?"
        r"(?<!n't been )(?<!not been )(?<!never been )(?<!never )\brefunded\b"
        r"|(?<!n't been )(?<!not been )(?<!never been )(?<!never )\brefunded (?:the )?"
        r"(?:difference|shipping|postage|overpayment)"
    ),
    r"\b(?:invoice|receipt)\b[^.!?]{0,60}?\bfor (?:\w{1,12} )?reimbursement",
    r"\b(?:doesn'?t|does not|didn'?t|did not|won'?t|will not|never|hardly|barely) (?:\w{1,10} )?shed\b",
    # Harm that did not happen, or came from another product: "it never made me sick", "shoes
    # that don't hurt my feet", "no allergic reaction", "other deodorants gave me a rash". Not
    # across an "and" ("doesn't work and broke out of the box" is a complaint).
    (
        r"\b(?:never|not|no longer|don'?t|doesn'?t|didn'?t|do not|does not|did not|won'?t"
        r"|will not|hasn'?t|haven'?t|has not|have not|no more|nor|without)"
        r"(?: (?:it|this|that|they|these|ever|once|even|really|actually|yet|at all|one bit"
        r"|always|usually|anymore)){0,2}"
        r" (?:made|make|makes|making|gave|give|gives|given|giving|caused?|causing|hurt|hurts"
        r"|hurting|burn|burns|burned|burning|cut|cuts|cutting|irritate|irritates|sting|stings"
        r"|pinch|pinches|rub|rubs|got|get|gets|getting)"
        r"(?: (?!and\b|but\b|then\b|so\b|buy\b|work\b|fit\b)\w{1,12}){0,3}?"
        r" (?:sick|ill|nauseous|rash|rashes|hives|reactions?|blisters|feet|foot|hands?|fingers?"
        r"|eyes?|skin|scalp|ears?|food poisoning|diarrh(?:o)?ea|diarhea|the runs|cramps|stomach"
        r"|stomachs|stomach ?aches?|tummy|tummy ?aches?|nausea|bloating|gas|vomiting)\b"
    ),
    (
        r"\b(?:no|zero|without|not a single|not one|nor|never (?:had|got|get|have)|didn'?t (?:have"
        r"|get)|did not (?:have|get)|haven'?t had|hasn'?t had)(?: \w{1,12})?? (?:allergic )?"
        r"(?:reactions?|rash(?:es)?|hives|irritation|breakouts?|side effects?|swelling"
        r"|swollen batter(?:y|ies))\b"
    ),
    (
        r"(?<!\bthe )(?<!\bthis )(?<!\byour )\b(?:other|others|every other|most(?! of)|cheaper"
        r"|regular"
        r"|previous|old|store[- ]bought|every (?:\w{1,12} ){0,1}\w{1,12} (?:i'?ve|i have|we'?ve|we have) (?:tried"
        r"|used|had)|all the \w{1,12} brands|\w{1,12} brands)"
        r" (?:\w{1,12} ){0,2}(?:made|make|makes|gave|give|gives|caused?|cause)(?: (?:me|us"
        r"|my \w{1,12}|him|her|them))? (?:\w{1,12} ){0,2}?(?:sick|ill|a rash|rash|hives"
        r"|reactions?|an allergic|blisters|headaches?|eczema|break out|diarrh(?:o)?ea|the runs"
        r"|cramps|stomach ?(?:aches?|cramps|pains?|upsets?|problems|issues)|upset stomachs?"
        r"|nausea|bloating|gas)\b"
    ),
    r"\b(?:without|never|not|no|didn'?t|did not|won'?t) (?:\w{1,12} )?(?:catch(?:ing)?|caught) fire\b",
    # Harm from something else, which the product helped with: "when the flu made me sick",
    # "wool usually gives me hives", "everything makes me break out", "food poisoning on
    # vacation", "my old toaster went up in flames".
    (
        r"\b(?:the |my |a |her |his )?(?:flu|covid|chemo(?:therapy)?|pregnancy|morning sickness"
        r"|eczema|psoriasis|chicken ?pox|measles|hay ?fever"
        r"|virus|migraine|surgery) (?:made|makes|making|gave|gives|giving|left)\b"
        r"|(?<!\bit )(?<!\bthis )(?<!\bthey )(?<!\bthese )(?<!\bthat )(?<!\bsoap )\b(?:usually"
        r"|normally|used to|everything else) (?:\w{1,12} )?(?:gives?|makes?|gave|made|give|make)"
        r" (?:me|us"
        r"|my \w{1,12}|him|her) (?:\w{1,12} )?(?:sick|ill|a rash|rash|hives|break out|headaches?"
        r"|blisters|itch\w{0,3})\b"
        r"|\beverything(?: else)? (?:makes|gives) (?:me|us|my \w{1,12}) (?:\w{1,12} )?(?:sick|ill"
        r"|a rash|rash|hives|break out|itch\w{0,3})\b"
        r"|\bfood poisoning (?:on|during|from) (?:holiday|vacation|(?:a|our|the|my) (?:trip|cruise"
        r"|holiday|takeaway|takeout|restaurant|buffet|food truck))\b"
        r"|\b(?:suffered|had|got) (?:an? )?(?:bad |severe |nasty |terrible |serious )?(?:allergic"
        r"|anaphylactic) reaction to (?:a|an|some|other) [^.!?,]{0,40}?\b(?:last (?:year|month"
        r"|week|summer|time)|years? ago|before|once|in the past)\b"
        r"|\b(?:my|our|the) (?:old|previous|last|former) [\w-]{1,12}(?: [\w-]{1,12})? (?:went up"
        r"|burst) (?:in|into) flames\b"
        # An allergen, not the product: "dairy makes me sick, so I love that this is vegan".
        r"|(?<!\bthis )(?<!\bthese )(?<!\bthe )(?<!\byour )(?<!\bmy )\b(?:dairy|gluten|milk"
        r"|lactose|nuts?|peanuts?|pollen|fragrances?|perfumes?|nickel"
        r"|wool|latex|soy|shellfish|eggs|wheat|sulphites|sulfites) (?:always |usually |just )?"
        r"(?:makes?|made|gives?|gave|causes?|caused) (?:me|us|him|her|my \w{1,12})\b"
        # A kind of thing, or the body, said in general at a clause's start: "beans give me
        # cramps, but this soup was fine", "caffeine gives me nausea", "my period gives me awful
        # cramps", "stress gives me an upset stomach" (not "the iced coffee made me sick",
        # "these bars give me diarrhea", nor "pls just give me my money").
        r"|(?:^|(?<=[,;:.!?]) ?|\b(?:and|but|so|because|since|as) )(?:my |our )?(?:(?!"
        + _NOT_A_KIND
        + r")[\w-]{1,14} ){0,2}(?!"
        + _NOT_A_KIND
        + r")(?:[\w-]{2,13}s(?: always| usually| often| just| all| sometimes)?|[\w-]{2,14}"
        r" (?:always|usually|often|sometimes)|(?:caffeine|alcohol|sugar|spicy food|msg|fib(?:er|re)"
        r"|whey|lactose|gluten|dairy)(?: always| usually| often| just| sometimes)?)"
        r" (?:give|gives|make|makes|cause|causes|gave|made|caused) (?:me|us|him|her"
        r"|my \w{1,12}) (?:an? |the )?(?:\w{1,12} ){0,2}?(?:sick"
        r"|ill|nauseous|rash|hives|headaches?|migraines?|cramps|diarrh(?:o)?ea|diarhea|nausea"
        r"|bloating|gas|heartburn|upset stomachs?|stomach ?\w{1,8}|tummy ?\w{1,8}|break out)\b"
        r"|\b(?:my )?(?:period|periods|ibs|crohn'?s|endometriosis|stress|anxiety|antibiotics"
        r"|medications?|meds|chemo) (?:always |usually |often )?(?:gives?|gave|makes?|made|causes?"
        r"|caused) (?:me|us|him|her|my \w{1,12})\b"
        r"|\b(?:i'?m|i am|we'?re|we are|he'?s|she'?s|he is|she is|(?:my|our) \w{1,12} (?:is|are))"
        r" allergic to (?!it\b|this\b|these\b|them\b)\w{1,14}(?: \w{1,14})?,? (?:it|which|that"
        r"|they) (?:always |usually )?(?:gives?|makes?|causes?)\b"
    ),
    # Praise said as sickness: "so good they're making me sick".
    (
        r"\bso (?:good|tasty|yummy|delicious|addictive|moreish|nice|sweet)(?: that)? (?:they'?re"
        r"|it'?s|they are|it is|these are|this is|i'?m|i am) (?:making|gonna make|going to make"
        r"|getting) (?:me |myself )?(?:sick|ill)\b"
    ),
    # Harm set against this product's praise is another's: "the own-brand ones from Tesco made
    # me sick, these are perfect", "the old kibble gave him diarrhea, this one suits him".
    (
        r"\b(?:made|makes|gave|gives|caused|causes)\b[^.!?]{0,60}?,? (?:but |whereas |while |and"
        r" |so )?(?:these|this one|these ones|this brand|yours|this \w{1,12}) (?:(?:is|are|seems?"
        r"|feels?)(?: so| really| very| totally| absolutely| just)? (?:perfect|fine|great|gentle"
        r"|lovely|brilliant|ok|okay|good|amazing|excellent|wonderful)|(?:suits?|agrees? with)"
        r" (?:him|her|me|us|them))\b"
    ),
    # Another brand's or a copy's harm: "the generic brand gave me stomach cramps, this one
    # doesn't", "the cheap knockoff shocked me" (not "the last one made me sick", "your store
    # brand multivitamin made me sick", "this cheap one made me sick": this one's).
    (
        r"(?<!\bthis )(?<!\byour )(?<!\bthese )\b(?:(?:the|a|my|our) )?(?:(?:last|generic|store"
        r"|off-?brand|other) (?:brand|version)|(?:supermarket|pharmacy|drugstore|hotel|store)"
        r" (?:brand|version|soap|one)"
        r"|(?:cheap|cheaper|knock-?off|fake|counterfeit) (?:knock-?off|version|copy|imitation"
        r"|brand)|knock-?offs?|[\w-]{1,14}'s version)s?(?: \w{1,12})? (?:made|makes|gave"
        r"|gives|caused?|shocked|zapped|sparked)\b"
    ),
    # Other people's word about harm, answered: "some reviews say it gave them diarrhea but not
    # me", "saw a review saying the battery swelled, mine is perfect" (agreeing is the
    # customer's own, and so is any other complaint told beside a "but I").
    (
        r"\b(?:people|some|others|reviewers?|reviews|folks|someone|a review|my (?:friends?|sister"
        r"|brother|cousin|coworker|colleague|neighbou?r))(?: keep)? (?:say|said|saying|says|claim"
        r"|claimed|claims|claiming|warn|warned|report(?:ed|s)?|swears?)\b"
        r"(?=[^.!?]{0,60}?\b(?:rash|hives|reaction|sick|ill|diarrh\w{0,4}|cramps|nausea|swell"
        r"\w{0,3}|swollen|shock\w{0,3}|hazard|fire|burn\w{0,3})\b)[^.!?]{0,80}?(?=,? ?\b(?:but"
        r" (?:not (?:me|for me|mine|us)|never (?:me|for me|mine))|mine (?:is|was|has been)"
        r" (?:fine|perfect|great|ok|okay)|(?:had|have|got|used) (?:mine|it)|not (?:for )?(?:me|mine)"
        r"|but i (?:love|think|still)|i'?m fine"
        r"|never had (?:that|this|any))"
        r"\b)"
    ),
    # A question, a condition or a doubt about harm, not a report: "will this give me a rash?",
    # "if you get a rash after using it, stop", "not sure if it gave me cramps or it was
    # something". (A reader's condition about anything else stays: "if you have a long torso
    # it's too short" is a fit complaint.)
    (
        r"(?<!\bwhy )(?<!\bhow )\b(?:will|would|does|do|did|can|could|might|may|has) (?:it|this"
        r"|these|they"
        r"|the \w{1,12}"
        r"|anyone'?s? \w{1,12}) (?:\w{1,12} )?(?:(?:give|make|cause) (?:me|you|us|him|her|my"
        r" \w{1,12}|anyone) (?:an? )?(?:\w{1,12} )?(?:rash|hives|reaction|cramps|diarrh\w{0,4}"
        r"|sick|ill|nausea|headaches?)|swell\w{0,3}|shock\w{0,3}|hurt)\b[^.!?]{0,60}\?"
        r"|\bif (?:you|u|anyone) (?:get|gets|have|has|experience|notice|develop) (?:an? )?"
        r"(?:\w{1,12} )?(?:rash|hives|reaction|irritation|cramps|diarrh\w{0,4}|nausea|shock)\b"
        r"(?! (?:like|as) (?:i|we|my \w{1,12}) did\b)[^.!?,]{0,40}"
        r"|\bif (?:it|this|they|these) (?:ever )?(?:gives?|makes?|causes?|shocks?)\b[^.!?,]{0,40}"
        r"|\bnot sure (?:yet )?(?:if|whether) (?:it|this|these|they|the \w{1,12})(?:'s| is| was)?"
        r" (?:gave|made|caused|giving|making|causing)\b[^.!?]{0,60}"
        r"|\b(?:worried|afraid|scared|nervous|concerned) (?:that )?(?:it|this|these|they|the"
        r" \w{1,12}) (?:would|might|will|could|may) (?:give|make|cause|hurt|shock)\b[^.!?]{0,60}"
        # Static, a carpet's or a fleece's: no fault of the product's wiring (static on a phone
        # line is a fault, and no shock).
        r"|\b(?:zap|shock)(?:s|ped|ed)? (?:me|us|him|her|you)\b[^.!?]{0,60}\bstatic\b"
        r"|\bstatic\b[^.!?]{0,40}\b(?:zap|shock)(?:s|ped|ed)? (?:me|us|him|her|you)\b"
    ),
    r"\b(?:not|never|isn'?t|wasn'?t|aren'?t|no longer)(?: (?:feel|be|look|seem)s?)? unsafe\b",
    (
        r"\b(?:people|some|others|reviewers?|reviews|they|folks) (?:say|said|claim|claimed"
        r"|warn|warned)\b[^.!?]{0,40}?\bhazard\b"
    ),
    r"\b(?:can'?t|cannot|couldn'?t|could not|won'?t|wouldn'?t|nothing to|no reason to) complain",
    # A habit of the writer's, said before praise.
    (
        r"\bnot (?:usually|normally|generally|really) (?:one|someone|the type|a person) (?:to|who)"
        r" (?:leave|leaves|write|writes|post|posts)(?: a| any)? reviews?\b"
    ),
    # A colour wished for: "if this was in a different color I would have bought it".
    (
        r"\bif (?:only )?(?:this|it|they|the \w{1,20}) (?:was|were|came|come|had come) (?:in )?"
        r"(?:a |an )?(?:different|another|other) colou?rs?\b"
    ),
)

# Requests, not tones: a firm cue of these is never overruled by the model.
STRONG = {"refund", "never_again", "no_reply"}
# Say only that something is wrong: shown when no other reason says what.
GENERIC = ("product_problem", "unhappy")


def _either(patterns: tuple[str, ...]) -> prefilter.Alternatives | None:
    return prefilter.Alternatives(patterns) if patterns else None


# Each pattern is searched only where the words it needs are in the text (`prefilter`): the
# cues are some 300 alternatives, and nearly every text holds the words of a few.
_COMPILED = {
    reason: (sentence, _either(firm), _either(weak))
    for reason, (sentence, firm, weak) in INTENTS.items()
}


@lru_cache(maxsize=1)
def _some_cue_always_searched() -> bool:
    return any(
        pattern is not None and pattern.always_searched
        for _, firm, weak in _COMPILED.values()
        for pattern in (firm, weak)
    )


@lru_cache(maxsize=1)
def _cue_words() -> prefilter.Finder:
    """The words any cue pattern needs, looked for once per text for all of them."""
    return prefilter.Finder(
        needle
        for _, firm, weak in _COMPILED.values()
        for pattern in (firm, weak)
        if pattern is not None
        for needle in pattern.finder.needles
    )


_NEGATED = prefilter.Alternatives(NEGATED)
# "Great, another broken mug", "Perfect. Just perfect.", "oh great just what I needed"; not
# "Love the jam but…" (a thing loved, then a fault: no mockery in that).
_SARCASM = re.compile(
    r"\b(?:great|perfect|wonderful|fantastic|thanks|love|nice|awesome)\b(?:[,.!…]{1,3} {0,2}"
    r"(?:just |another |now |so |it |the )| {1,2}(?:just |another ))",
)


@dataclass
class Verdict:
    complaint: bool
    severity: str  # "none", "low", "normal", "high"
    reasons: list[str]  # reason codes
    sentences: list[str]  # the reasons in the merchant's words
    sentiment: float  # VADER compound, -1 … 1
    stars: float | None = None
    hidden_complaint: bool = False  # 4–5 stars, complaint text
    disagreement: bool = False  # 1–2 stars, glowing text
    model: float | None = None  # the trained second signal's probability of a complaint
    by_model: bool = False  # the model alone is sure it is a complaint (a reason of its own)
    language: str = "en"  # a code for the languages read, a name for one that was not
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# What is read of one text: reviews and notes are a few hundred characters; a longer one is read
# by its first 4,000 and last 1,000 characters (where a complaint opens or signs off). The whole
# text is still kept and shown; only the reading is bounded, so no text costs more than this.
MAX_READ = 5_000
READ_HEAD, READ_TAIL = 4_000, 1_000
# VADER's cost grows with the square of the words in one call ("not bad" and some idioms are
# looked up with list.index): a longer text is scored a sentence (or 400 characters) at a time.
VADER_WHOLE = 1_000
VADER_PIECE = 400
_SENTENCE_END = re.compile(r"(?<=[.!?\n])\s+")


def read_part(text: str) -> str:
    """The part of `text` the detector reads (all of it up to MAX_READ characters)."""
    if len(text) <= MAX_READ:
        return text
    return f"{text[:READ_HEAD]} … {text[-READ_TAIL:]}"


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def _pieces(text: str) -> list[str]:
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        pieces += [sentence[i : i + VADER_PIECE] for i in range(0, len(sentence), VADER_PIECE)]
    return [p for p in pieces if p.strip()]


# Harm told in an order note as the reason for this order: "my wife got food poisoning last
# week, so I'm ordering the plain broth", not harm from the shop's own ("I got sick from your
# last batch, so I'm trying another flavour") nor a customer leaving ("we got sick, so we're
# never ordering again"). Read only in notes (`signals.events`): in a review the same words
# tell why the customer is leaving or wants their money back.
_HARM_AS_WHY_ORDERED = re.compile(
    r"\b(?:got|had|has|have|been|was|were)(?:(?!\b(?:from|after|your|yours|this|these|it"
    r"|them|the \w{1,12} one|last (?:one|time|order|batch|bottle|bag|jar|tin|pack))\b)"
    r"[^.!?]){0,60}?\b(?:food pois[oe]ning|sick(?! of\b| and tired\b)|ill|allergic reaction"
    r"|reaction|rash|hives)\b(?:(?!\b(?:from|after|your|this|these|it|them|the \w{1,12} one"
    r"|last (?:one|time|order|batch|bottle|bag|jar|tin|pack))\b)[^.!?]){0,40}?\bso (?:i'?m"
    r"|i am|we'?re|we are|i'?ll|we'?ll|i will|we will|i|we) (?:(?!never\b|not\b|no\b"
    r"|won'?t\b|stop\w{0,4}\b)\w{1,12} )?(?:ordering|trying|getting|buying|ordered|tried"
    r"|bought|order|try|get|buy)\b(?! (?:a |my |our )?(?:refund|money|replacement)\b)"
)


def harm_told_as_why_ordered(note: str) -> bool:
    """Whether an order note's harm is the reason for this order (see `_HARM_AS_WHY_ORDERED`).
    Reads the part the detector reads (`read_part`), as bounded as its verdict: the pattern
    costs microseconds a character, and a handler runs it inside its transaction."""
    return bool(_HARM_AS_WHY_ORDERED.search(read_part(note.strip()).lower().replace("’", "'")))


def prepare() -> None:
    """Do now what a process's first text would otherwise wait for (about 0.3 s): the model
    read, every pattern's words read off it and each alternative compiled, VADER's lexicon and
    the language identifier loaded. A worker calls it as it starts."""
    complaint_model.model()
    for _, firm, weak in _COMPILED.values():
        for pattern in (firm, weak):
            if pattern is not None:
                pattern.prepare()
    _NEGATED.prepare()
    _cue_words()
    _some_cue_always_searched()
    _analyse("It arrived broken, never again.", None)  # VADER and the language identifier
    _analyse.cache_clear()


def sentiment(text: str) -> float:
    """VADER's compound score (-1 … 1); a long text's is its pieces' average, by length."""
    if len(text) <= VADER_WHOLE:
        return float(_vader().polarity_scores(text)["compound"])
    scored = [(len(p), float(_vader().polarity_scores(p)["compound"])) for p in _pieces(text)]
    total = sum(n for n, _ in scored)
    return sum(n * score for n, score in scored) / total if total else 0.0


def forget_readings() -> None:
    """Forget the verdicts and readings remembered so far (a benchmark's cold start)."""
    _analyse.cache_clear()
    without_no_problem.cache_clear()


@lru_cache(maxsize=1024)
def without_no_problem(text: str) -> str:
    """`text` lower-cased with the phrases that say there is no problem (`NEGATED`) taken out.
    Remembered: a short review is one sentence, which the cues, the tone and the model's second
    reading each ask for (the biggest pass the detector makes over a text)."""
    # Runs of spaces as one: "won't  buy again" is "won't buy again".
    return _NEGATED.sub(" ", _SPACES.sub(" ", text.lower().replace("’", "'")))


_SPACES = re.compile(r"[ \t]{2,6}")


def cues(text: str) -> dict[str, bool]:
    """The complaint intents in `text`, after removing phrases that negate a cue: reason code →
    True when a firm pattern matched, False when only a weak one did."""
    lowered = without_no_problem(text)
    present = _cue_words().present(lowered)
    if not present and not _some_cue_always_searched():
        return {}  # none of the words any cue needs: most fragments ("Seriously?", "ok.")
    found: dict[str, bool] = {}
    for reason, (_, firm, weak) in _COMPILED.items():
        if firm is not None and firm.found(lowered, present=present):
            found[reason] = True
        elif weak is not None and weak.found(lowered, present=present):
            found[reason] = False
    return found


def intents(text: str) -> list[str]:
    """The complaint intents in `text` (firm or weak), in the taxonomy's order."""
    return list(cues(text))


def shown(reasons: list[str]) -> list[str]:
    """The reasons an agent reads: a generic one ("reports a problem", "is unhappy") only when
    no reason says what the problem is, and then only the first."""
    specific = [r for r in reasons if r not in GENERIC]
    return specific or reasons[:1]


def analyse(text: str, *, stars: float | None = None, second_signal: bool = True) -> Verdict:
    """The detector. `stars` (1–5) when the rating is known. Reads at most MAX_READ characters;
    the last few hundred verdicts are remembered, so a text read ahead of a delivery's
    transaction (`signals.read_ahead`) is not read again inside it. `second_signal=False` is
    the rules alone, as the detector was before the trained model (the benchmark's baseline)."""
    verdict = _analyse(read_part((text or "").strip()), stars, second_signal)
    return dataclasses.replace(
        verdict,
        reasons=list(verdict.reasons),
        sentences=list(verdict.sentences),
        extra=dict(verdict.extra),
    )


@dataclass(frozen=True)
class RuleReading:
    """What the rules alone read in a text: the complaint intents and VADER's tone."""

    cues: list[str]  # intent codes; those read only by a weak pattern when the tone is not happy
    tone: float  # VADER compound, -1 … 1
    strong: bool = False  # a firm cue of a request (refund, never again, no reply)

    @property
    def complaint(self) -> bool:
        """The rules' own verdict on the words (the detector before the second signal)."""
        return bool(self.cues) or self.tone <= languages.NEGATIVE_TONE


def rule_reading(text: str) -> RuleReading:
    # Tone is read with happy idioms taken out: VADER hears "can't recommend enough" as negative.
    cleaned = without_no_problem(text).strip()
    tone = sentiment(cleaned) if cleaned else 0.0
    read = cues(text) if text else {}
    # A weak cue ("a few problems", "runs small") in a clearly happy text is no complaint.
    found = [r for r, firm in read.items() if firm or tone < 0.3]
    strong = any(firm and r in STRONG for r, firm in read.items())
    return RuleReading(cues=found, tone=tone, strong=strong)


def combine(
    *,
    probability: float,
    rules: bool,
    threshold: float,
    cue_threshold: float,
    strong: bool = False,
    unhedged: float | None = None,
) -> bool:
    """The rule that joins the two signals, simple enough to say in a case's reasons: the words
    are a complaint when the model is sure on its own, or when the rules read one (a listed cue,
    or VADER's negative tone) and the model agrees at least a little. A cue the model reads as
    happy ("no problems at all, love it") is one of the false alarms this removes; a complaint
    worded without any cue is one of the misses it catches. Both thresholds were chosen on a
    validation split. A strong cue (a refund asked for, "never again", no reply) is a request,
    not a tone: the model never overrules it. `unhedged` is the model's reading of its surest
    sentence with what the rules read as no problem taken out (`model_reading`); the model is
    sure on its own only when both readings are."""
    alone = probability if unhedged is None else min(probability, unhedged)
    return strong or alone >= threshold or (rules and probability >= cue_threshold)


def model_reading(trained: complaint_model.ComplaintModel, text: str) -> tuple[float, str, float]:
    """How sure the model is that `text` is a complaint: its surest sentence's probability, and
    how sure it is on its own — each sentence read again once the phrases the rules read as no
    problem (`NEGATED`) are taken out of it, the surest sentence of those readings, and that
    sentence. The model reads words, so it is sure of the negated ones ("can't recommend this
    shop enough": 0.74, "nothing broken", "a petite would have been far too short"); read
    without them, it is not. Only a sentence the model could count on its own is read twice."""
    bar = min(trained.threshold, HIDDEN_MODEL_ALONE)
    probability, alone, carried_by = 0.0, 0.0, ""
    for sentence in complaint_model.sentences(text, stands_alone=_names_a_problem):
        p = trained.probability(sentence)
        probability = max(probability, p)
        if p >= bar:
            p = min(p, _unhedged(trained, sentence))
        if p > alone or not carried_by:
            alone, carried_by = p, sentence
    return probability, carried_by, alone


def _unhedged(trained: complaint_model.ComplaintModel, sentence: str) -> float:
    """The model's reading of a sentence with what the rules read as no problem taken out. When
    that was most of the sentence, what is left ("it … when worn." of "it does not look like a
    sack when worn.") is too little to be sure of: the model, which weighs each word more the
    fewer there are, reads such scraps at 0.98–0.998, so they count as nothing."""
    said = sentence.lower().replace("’", "'")
    left = without_no_problem(sentence)
    if left == said:
        return trained.probability(sentence)
    words, kept = complaint_model.tokens(said), complaint_model.tokens(left)
    if len(kept) < max(_LEFT_TO_READ, len(words) / 2):
        return 0.0
    return trained.probability(left)


# The fewest words left once the hedges are out for the model to read a sentence alone.
_LEFT_TO_READ = 4


# Under 4–5 stars the customer has already said they are happy, and most of what reads like a
# complaint there is not one: one generic cue or a dim tone is wrong more often than right
# ("the only problem is I want more"), and the model, trained on general sentiment, is sure of
# negated words ("Nothing broken", "I can't fault it"). There the words count only when they
# ask for something (a refund, "never again", no reply), when a reason names the problem and
# the model agrees at least a little, or when the model is surer than anywhere else. Chosen on
# the validation split's starred sentences (`bench/data/ecommerce_reviews.tsv`): every flag the
# model alone raised there below it was wrong (0.90–0.96; with words' tones 0.85–0.95, the one
# right flag 0.975).
HIDDEN_MODEL_ALONE = 0.97
# A size or fit remark is the one reason a glowing 4–5★ review (VADER ≥ 0.8) gives: "runs big,
# order a size down", "a little too long for my 5'2"". On real clothing reviews such remarks
# were nearly all advice to the next shopper; the few that were a let-down ("I really wanted
# this to work… not enough for me to reorder") were written in a dimmer tone. Chosen on the
# dev and held-out halves of the clothing set, checked on its fresh part (BENCHMARKS.md).
GLOWING = 0.8

# A problem a 4–5★ customer has already settled is no case: a size they changed ("too small, so
# I exchanged it for a large") or an item the shop put right ("they exchanged it and I'm just as
# happy"). Clothing reviews tell such stories often; read as complaints, they were most of the
# wrong hidden-complaint flags on real reviews (BENCHMARKS.md, "Hidden complaints").
_SIZE = (
    r"(?:(?:the|a|an|my) )?(?:next size(?: up| down)?|(?:smaller|larger|bigger|regular|petite|tall"
    r"|right) (?:size|one|version)|x{0,2}s|x{0,3}l|m|lg|med(?:ium)?|small|large"
    r"|petite|regular|tall|plus|size \d{1,2})\b|\b(?:(?:the|a|an) )?\d{1,2}p?\b"
)
_SIZE_CHANGED = re.compile(
    r"\b(?:re-?ordered(?: it| them)?(?: in)?|(?:exchanged|returned|returning|swapped|traded)"
    r" (?:it |them )?for|ended up (?:buying|getting|ordering|keeping|going with|with)|decided on"
    r"|went with|so i (?:ordered|got|bought|kept|tried)|kept the|sized (?:up|down) to"
    r"|(?:returned|sent)(?: it| them)?(?: back)? and (?:re-?)?(?:ordered|bought|got)"
    rf"(?: it| them)?(?: in)?) (?:{_SIZE})"
    r"|\bso i sized (?:up|down)\b"
)
_PUT_RIGHT = re.compile(
    r"\b(?:(?:they|the (?:shop|store|seller|company|team)|customer (?:service|care)|support)"
    r" (?:\w{1,20} ){0,2}(?:exchanged|replaced|sent (?:me )?(?:a )?(?:new one|replacement))"
    r"|(?:i|we) (?:did )?(?:exchange|exchanged|swapped) (?:it|them)"
    r"|(?:the|a|my) replacement (?:came|arrived|is|was|fits|works))\b[^.!?]{0,60}?"
    r"(?<!not )(?<!n't )\b(?:(?:i'?m|i am|am|is|was|it'?s|very|so|really) (?:just as |very |so "
    r"|really |now )?(?:happy|pleased|perfect|great)\b|(?:and )?i (?:love|adore) (?:it|them)\b)"
)
# A return the customer bought again: "I returned it. But I kept thinking about it, so I
# ordered it again." (A problem told after that is not settled.)
_BOUGHT_AGAIN = re.compile(
    r"\b(?:returned|sent back|sent) (?:it|them)(?: back)?\b[^!?]{0,80}?\b(?:re-?ordered"
    r"|(?:ordered|bought|purchased|got) (?:it|them|another)(?: again| back)?)\b"
)
SETTLED_BY_SIZE = frozenset({"size_fit", "return"})
SETTLED_BY_SHOP = frozenset({"size_fit", "return", "broken", "wrong_item", "missing_item"})
# What follows a change of size and belongs to it: its reason, said right after it ("I went
# with the xxs as the xs was a bit loose") up to a "but", "and" or ";" that goes on to
# something else, and the other size sent back ("kept the 8 and returned the 10").
_PART_OF_THE_CHANGE = re.compile(
    r"^\s{0,2},?\s{0,2}(?:as|because|since|cause)\b(?:(?!,? but\b|,? and\b|;)[^.!?]){0,200}"
    rf"|\b(?:had to |have to )?(?:return(?:ed|ing)?|sen(?:t|d|ding) back|exchang(?:e|ed|ing))"
    rf" (?:{_SIZE})"
)
# A caveat the customer calls the only one ("the only downside is that it needs dry cleaning")
# is the model's surest kind of false alarm under 4–5★: a named problem still counts.
_ONLY_CAVEAT = re.compile(
    r"(?:\b(?:the|my|our) (?:one|only)|(?:^|[.!?]\s{0,3})only) (?:real |minor |small |little )?"
    r"(?:downside|problem|complaint|issue|con|thing|regret|negative|drawback|gripe|criticism"
    r"|wish|quibble|niggle)s?\b"
)

# Other reviewers' views, which a happy customer answers ("Not sure why this shirt is getting
# bad reviews", "ignore the negative reviews", "not in my experience"): the model reads the
# complaint in them, but it is not this customer's. Agreeing with them ("as another reviewer
# said, it runs small") is the customer's own complaint, and stays one.
_OTHERS_VIEW = re.compile(
    r"\b(?:not sure|no idea|(?:don'?t|do not) (?:know|understand|get|see)|can'?t (?:see|understand"
    r"|imagine)|wonder) why\b[^.!?]{0,60}?\b(?:bad|negative|poor|low|mixed|one[- ]star|1[- ]star)"
    r" (?:\w{1,20} )?(?:reviews|ratings)\b"
    r"|\b(?:unlike|despite|contrary to|ignore|disregard|(?:don'?t|do not) (?:believe|listen to|trust))"
    r" (?:the |some |other |those |these |all |a few )?(?:\w{1,20} )?(?:reviews|reviewers|ratings)\b"
    r"|\b(?:at least )?not in my experience\b"
)


def settled(*, text: str, reasons: list[str]) -> list[str]:
    """The reasons of a 4–5★ review left once what the customer says is settled is taken out:
    a change of size or a replacement settles only what is not told again after it ("I
    exchanged it for a large, but the large is also too small" is not settled)."""
    lowered = without_no_problem(text)
    for pattern, kinds in (
        (_PUT_RIGHT, SETTLED_BY_SHOP),
        (_SIZE_CHANGED, SETTLED_BY_SIZE),
        (_BOUGHT_AGAIN, SETTLED_BY_SIZE),
    ):
        told = list(pattern.finditer(lowered))
        if not told:
            continue
        after = lowered[told[-1].end() :]  # the last change or replacement is what counts
        if pattern is _SIZE_CHANGED:
            after = _PART_OF_THE_CHANGE.sub(" ", after)
        still = {r for r in kinds if _told(after, r)}
        return [r for r in reasons if r not in kinds or r in still]
    return reasons


def _told(words: str, reason: str) -> bool:
    _, firm, weak = _COMPILED[reason]
    return any(p is not None and p.found(words) for p in (firm, weak))


def hidden_complaint(
    *,
    probability: float,
    rules: RuleReading,
    cue_threshold: float,
    kept: list[str],
    sentence: str,
    unhedged: float,
    words: str,
) -> bool:
    """Whether the words of a 4–5★ review are a complaint despite the stars. `kept` is the
    rules' reasons left once what the customer says is settled is taken out (`settled`);
    `sentence` the model's most complaining sentence; `unhedged` the model's reading
    of that sentence with what the rules read as no problem taken out (`NEGATED`: "a petite
    would have been far too short", "I was worried it would be too short"), which the model,
    reading words, takes for the problem itself. `words` is the whole text: one of fewer than
    four words is a title or a product's name more often than a complaint ("Beer Nuts", "Dirty
    Martini", "I was skeptical": 0.97–0.996), so the model does not count alone there unless
    the rules read a cue in it too ("Very disappointed.", "Taste lacks")."""
    named = [r for r in kept if r not in GENERIC]
    if named == ["size_fit"] and rules.tone >= GLOWING:
        named = []  # sizing advice in a glowing review, not a let-down
    lowered = sentence.lower()
    caveat = bool(_ONLY_CAVEAT.search(lowered) or _OTHERS_VIEW.search(lowered))
    too_short = complaint_model.fragment(words) and not rules.cues
    return (
        rules.strong
        or (min(probability, unhedged) >= HIDDEN_MODEL_ALONE and not caveat and not too_short)
        or (bool(named) and probability >= cue_threshold)
    )


def _names_a_problem(fragment: str) -> bool:
    """Whether a fragment of a few words is read by the model on its own: "Zipper broke." next
    to praise is the complaint, where "Seriously?" is an opener (`complaint_model.sentences`)."""
    return bool(cues(fragment))


@dataclass(frozen=True)
class _EnglishReading:
    tone: float
    found: list[str]
    probability: float | None
    sure: bool
    complaint: bool


def _read_english(text: str, stars: float | None, second_signal: bool) -> _EnglishReading:
    """The rules, and the model beside them; under 4–5 stars, the stricter rule."""
    rules = rule_reading(text)
    if not (second_signal and text):
        return _EnglishReading(rules.tone, rules.cues, None, False, rules.complaint)
    trained = complaint_model.model()
    probability, sentence, unhedged = model_reading(trained, text)
    if stars is not None and stars >= 4:
        kept = settled(text=text, reasons=rules.cues)
        complaint = hidden_complaint(
            probability=probability,
            rules=rules,
            cue_threshold=trained.cue_threshold,
            kept=kept,
            sentence=sentence or "",
            unhedged=unhedged,
            words=text,
        )
        if complaint:
            rules = dataclasses.replace(rules, cues=kept)
    else:
        complaint = combine(
            probability=probability,
            rules=rules.complaint,
            threshold=trained.threshold,
            cue_threshold=trained.cue_threshold,
            strong=rules.strong,
            unhedged=unhedged,
        )
    # Sure on its own as the stars ask: under 4–5★ only at HIDDEN_MODEL_ALONE.
    happy = stars is not None and stars >= 4
    sure = unhedged >= (HIDDEN_MODEL_ALONE if happy else trained.threshold)
    return _EnglishReading(rules.tone, rules.cues, probability, sure, complaint)


@lru_cache(maxsize=512)
def _analyse(text: str, stars: float | None, second_signal: bool = True) -> Verdict:
    written_in = languages.language(text) if text else languages.ENGLISH
    probability: float | None = None
    sure = False  # the model alone reads a complaint (its own reason, no cue needed)
    unread = False
    if written_in != languages.ENGLISH:
        # VADER, the English cues and the model read English only: another store language is
        # read by its own cues and, where a packaged lexicon reads it, its tone (counted as
        # English's is: not alone under 4–5★); any other is said to be unread (the stars
        # still decide).
        found = (
            languages.cues(text, language_code=written_in) if written_in in languages.READ else []
        )
        tone = languages.tone(text, language_code=written_in) or 0.0
        unread = written_in not in languages.READ
        happy = stars is not None and stars >= 4
        text_complaint = bool(found) or (not happy and tone <= languages.NEGATIVE_TONE)
    else:
        english = _read_english(text, stars, second_signal)
        tone, found, probability = english.tone, english.found, english.probability
        sure, text_complaint = english.sure, english.complaint
    low_stars = stars is not None and stars <= 2
    mid_stars = stars is not None and 2 < stars < 4
    # A 3-star rating is itself lukewarm: any cue, a dim tone or words nobody could read are
    # enough beside it.
    complaint = text_complaint or low_stars or (mid_stars and (bool(found) or tone < 0 or unread))
    if not complaint:
        found = []  # a cue the verdict overruled is no reason to show anyone
    sarcastic = bool(found) and tone > 0 and bool(_SARCASM.search(text.lower()))
    reasons = shown(found)
    sentences = [_COMPILED[r][0] for r in reasons]
    if text_complaint and not found:
        if sure and probability is not None:
            sentences.append(f"the model reads this as a complaint: {probability:.2f}")
        else:
            # The tone carried it (the model only agreed a little): say so, not a model score
            # that reads as doubt.
            sentences.append("writes in negative terms")
    if unread:
        sentences.append(f"text not read (language: {written_in})")
    if low_stars:
        sentences.insert(0, f"gave {stars:g} star{'s' if stars != 1 else ''}")
    hidden = stars is not None and stars >= 4 and text_complaint
    # Only VADER's reading is trusted to say the words glow: the other languages' word lists
    # read sarcasm ("top kwaliteit hoor") as praise, and lowering a real one-star complaint
    # is the worse mistake.
    disagreement = (
        low_stars and written_in == languages.ENGLISH and bool(text) and tone >= 0.5 and not found
    )
    if hidden:
        sentences.append(f"the {stars:g}-star rating hides a complaint")
    if disagreement:
        sentences.append("rating and text disagree: check the rating")
    if sarcastic:
        sentences.append("sounds sarcastic")
    return Verdict(
        complaint=complaint,
        # Glowing words under one star are most often a slip of the rating: a case still (the
        # floor), but a low one, not the high a real one-star complaint gets.
        severity="low" if disagreement else _severity(found, tone, stars, complaint),
        reasons=reasons,
        sentences=sentences,
        sentiment=round(tone, 4),
        stars=stars,
        hidden_complaint=hidden,
        disagreement=disagreement,
        model=None if probability is None else round(probability, 4),
        by_model=complaint and sure,
        language=written_in,
    )


def _severity(found: list[str], tone: float, stars: float | None, complaint: bool) -> str:
    if not complaint:
        return "none"
    if "unsafe" in found:
        return "high"  # someone made ill or hurt: first in the queue, whatever the stars
    if (stars is not None and stars <= 1) or len(found) >= 3 or (STRONG & set(found) and tone < 0):
        return "high"
    if (stars is not None and stars <= 2) or STRONG & set(found) or tone <= -0.6 or len(found) >= 2:
        return "high" if tone <= -0.6 and found else "normal"
    if found or (stars is not None and stars < 4):
        return "normal"
    return "low"


class NotARating(ValueError):
    """A line's STARS field is a number outside 1–5: its words are `text`, read without stars."""

    def __init__(self, stars: str, text: str) -> None:
        super().__init__(f"{stars} is not a rating from 1 to 5")
        self.text = text


def parse_line(line: str) -> tuple[str, float | None]:
    """`STARS<TAB>TEXT` or just `TEXT`, as `clout text` reads them. A first field that is no
    number is part of the text; a number outside 1–5 raises NotARating."""
    stars_text, tab, text = line.partition("\t")
    if tab:
        try:
            stars = float(stars_text.strip())
        except ValueError:
            return line, None
        if not 1 <= stars <= 5:
            raise NotARating(stars_text.strip(), text)
        return text, stars
    return line, None

"""The complaint detector: what VADER misses, and what it must not invent."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from service.cli import main
from service.signals.text import (
    _ONLY_CAVEAT,
    _PART_OF_THE_CHANGE,
    _PUT_RIGHT,
    _SARCASM,
    _SIZE_CHANGED,
    INTENTS,
    MAX_READ,
    NEGATED,
    analyse,
    intents,
    parse_line,
    read_part,
)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Where is my order??", "late_delivery"),
        ("Never again.", "never_again"),
        ("I want my money back.", "refund"),
        ("It arrived broken.", "broken"),
        ("You sent me the wrong size.", "size_fit"),
        ("Emailed support three times, no reply.", "no_reply"),
        ("Still waiting for my parcel, two weeks late.", "late_delivery"),
        ("Great, another cracked mug. Just what I needed.", "broken"),
    ],
)
def test_plain_complaints_vader_misses_are_caught(text: str, reason: str) -> None:
    verdict = analyse(text)

    assert verdict.complaint
    assert reason in verdict.reasons
    assert verdict.sentences


@pytest.mark.parametrize(
    "text",
    [
        # "buy again" is read as praise ("would buy again"); said with a no, it is the opposite.
        "I won't buy again.",
        "Would not buy again.",
        "I will not buy this again.",
        "Won't be buying again.",
        "I would never buy it again.",
        "Wont buy again.",
        "Not buying again.",
        "I will not be buying this again, the seams split.",
        # A second reading (session 13): the no two or more words before, spacing, idioms.
        "not gonna buy again",
        "Not going to buy again.",
        "never gonna buy again",
        "I won't ever buy again.",
        "I will never ever buy again.",
        "won't  buy again",
        "Never will I buy again.",
        "Unlikely to buy again.",
        "Can't say I'll buy again.",
        "I dont think I'll buy again, quality went downhill.",
        "First and last time buying from here.",
        "Not buying from you guys again.",
        "Not purchasing from you guys ever again.",
        # The question answered in other words, and the answer taken back (session 14).
        "Will I buy again? Absolutely not.",
        "Would I buy it again? Definitely not!",
        "Buy again? No way.",
        "Oh sure, I'll totally buy again. Not.",
        "Would buy again... NOT!",
    ],
)
def test_a_customer_who_will_not_buy_again_is_a_complaint(text: str) -> None:
    verdict = analyse(text)

    assert verdict.complaint
    assert "never_again" in verdict.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Would buy again.",
        "I will definitely buy again!",
        "Can't wait to buy again.",
        "I would not hesitate to buy again.",
        "Wouldn't think twice about buying it again.",
        "I didn't expect to buy again so soon, but they are that good.",
        # A second reading (session 13).
        "I won't think twice about buying again.",
        "I won't be buying again because I bought a lifetime supply lol",
        "Not buying again, because this one will last forever!",
        "My friend said she won't buy again but I disagree, I love it.",
        "The reviews said people won't buy again, but mine was perfect.",
        "Wouldn't buy anything else again.",
        "Will I buy again? Absolutely, not a doubt.",
        "Would buy again! Not cheap, but worth it.",
        "Would I buy again? Definitely!",
        "Would I buy again? No doubt about it!",
        # A second reading's probes (session 14): an answer that goes on is not a no.
        "Would I buy again? No-brainer, I love it.",
        "Would I buy it again? Definitely not from Amazon, only from this shop!",
        "Would I buy these again? Certainly not from anyone else, this shop is the best!",
        "Would I buy again? Definitely not going anywhere else, love this store.",
        "Would I buy again? Certainly not cheaper anywhere else!",
        "Buy again? Doubt it'll ever wear out, best kettle I've owned.",
        "Thanks for nothing short of a miracle, it arrived a day early!",
    ],
)
def test_buying_again_stays_praise(text: str) -> None:
    assert not analyse(text).complaint


# --- reasons an agent reads ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        # each read once as another problem: the agent would chase the wrong thing
        ("The box arrived empty.", "late_delivery"),
        ("Way too small, the size chart is wrong.", "wrong_item"),
        ("The courier left it in the rain and the box was soaked.", "late_delivery"),
        ("Terrible, the handle snapped off on day two.", "unhappy"),
        ("Customer service was terrible.", "poor_quality"),
        ("Broke out in hives after two days of wearing it.", "broken"),  # skin, not the thing
        ("My son broke out in a rash from this lotion.", "broken"),
    ],
)
def test_a_reason_that_names_another_problem_is_not_shown(text: str, wrong: str) -> None:
    assert wrong not in analyse(text).reasons


@pytest.mark.parametrize(
    "text", ["the handle broke out in two pieces", "one of the legs broke out in transit"]
)
def test_a_part_that_broke_out_is_damage_unlike_skin(text: str) -> None:
    assert "broken" in analyse(text, stars=2).reasons


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        ("The box arrived empty.", ["missing_item"]),
        ("Way too small, the size chart is wrong.", ["size_fit"]),
        ("Doesn't fit at all despite ordering my usual size.", ["size_fit"]),
        ("I was overcharged for shipping.", ["price"]),
        ("Not worth the money, the price is ridiculous.", ["price"]),
        ("Terrible, the handle snapped off on day two.", ["broken"]),
        ("Customer service was terrible.", ["no_reply"]),
        ("Stay away from this shop.", ["never_again"]),
    ],
)
def test_the_reasons_shown_name_the_problem(text: str, reasons: list[str]) -> None:
    verdict = analyse(text)

    assert verdict.complaint
    assert verdict.reasons == reasons


def test_a_complaint_that_names_no_problem_says_so_in_one_reason() -> None:
    # given a complaint with only generic words, when it is read
    verdict = analyse("I was not impressed, very disappointed.")

    # then one generic reason says the customer is unhappy, not a list of guesses
    assert verdict.reasons == ["unhappy"]
    assert verdict.sentences == ["is unhappy with the purchase"]


def test_every_labelled_reason_is_a_reason_the_detector_knows() -> None:
    # the reasons test set is labelled in the detector's own codes, or its figures mean nothing
    labelled = Path(__file__).parents[3] / "bench" / "data" / "complaint_reasons.tsv"
    rows = [
        line.split("\t")
        for line in labelled.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    assert len(rows) >= 300
    assert all(len(row) == 4 for row in rows)
    # a row holds its sentence, or (the UCI set is not kept here) a line of that set
    assert all(row[3].strip() or re.fullmatch(r"uci:\d+", row[2]) for row in rows)
    assert {code for row in rows for code in row[0].split(",")} <= set(INTENTS)


@pytest.mark.parametrize(
    ("folder", "parts", "at_least"),
    [
        ("womens_clothing_reviews", {"dev", "held", "fresh"}, 80),
        ("fine_food_reviews", {"dev", "test"}, 150),
    ],
)
def test_every_hand_label_of_a_hidden_complaint_is_one_the_benchmark_reads(
    folder: str, parts: set[str], at_least: int
) -> None:
    # the hidden-complaint labels of the clothing set and of the food shop's review summaries:
    # one row per review, R, F or W
    labelled = Path(__file__).parents[3] / "bench" / "data" / folder / "hidden_labels.tsv"
    rows = [
        line.split("\t")
        for line in labelled.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    assert len(rows) >= at_least
    assert all(len(row) == 5 and row[1] in parts and row[3] in {"R", "F", "W"} for row in rows)
    assert all(int(row[2]) >= 4 for row in rows)
    assert len({row[0] for row in rows}) == len(rows)


# --- 4–5 stars: the customer already said they are happy --------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Runs small, so order a size up. Love it!",
        "The only problem is that I want one in every colour!",
        "A bit pricey but worth every penny.",
    ],
)
def test_a_happy_review_with_one_cue_used_kindly_hides_no_complaint(text: str) -> None:
    verdict = analyse(text, stars=5)

    assert not verdict.hidden_complaint
    assert not verdict.complaint


@pytest.mark.parametrize(
    "text",
    [
        "I was refunded quickly, great service",
        "Got my refund within a day, great service!",
        "They refunded me straight away, lovely shop.",
        "Quick refund, thanks.",
        "Easy refund process, will buy again.",
    ],
)
def test_a_refund_already_made_and_praised_is_no_refund_request(text: str) -> None:
    # A customer thanking the shop for a refund it made: no attention tag, at any stars.
    for stars in (5, None):
        verdict = analyse(text, stars=stars)

        assert "refund" not in verdict.reasons
        assert not verdict.complaint


@pytest.mark.parametrize(
    "text",
    [
        "I want a refund.",
        "Terrible. I want a quick refund.",
        "I would like a fast refund.",
        "I was not refunded quickly at all.",
        "I have not been refunded within 30 days as promised.",
        "I asked for a refund two weeks ago and nothing.",
    ],
)
def test_a_refund_asked_for_or_still_owed_is_still_a_refund_request(text: str) -> None:
    verdict = analyse(text, stars=5)

    assert verdict.complaint
    assert "refund" in verdict.reasons


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Lovely mug, but it arrived with a chip in the rim.", "broken"),
        ("Great candle! Took a month to arrive though.", "late_delivery"),
        ("The tea is nice, but you charged me twice.", "refund"),
        ("Gorgeous colour, but it was the wrong size.", "size_fit"),
        # The README's example: the model reads its praise as happy (0.04), and must not veto
        # the fault the rules name.
        ("Love it, but it arrived cracked", "broken"),
        ("Good skillet but it arrived rusty.", "broken"),
    ],
)
def test_a_real_complaint_under_five_stars_is_still_found(text: str, reason: str) -> None:
    verdict = analyse(text, stars=5)

    assert verdict.hidden_complaint
    assert reason in verdict.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Love it! Arrived quickly, no complaints.",
        "Arrived on time and works perfectly.",
        "Nothing broken, well packed, lovely mugs.",
        "I will definitely be ordering again.",
        "Can't recommend this shop enough.",
        "The colour is exactly as pictured.",
        "I'm not usually one to leave reviews but this deserves it.",
        "Can't complain, it does the job.",
        # Nothing came broken or late (session 14).
        "Not a single item arrived damaged.",
        "Not one plate arrived broken, great packing.",
        "Not a single one arrived late.",
        # A fault the customer looked for and did not find (session 14).
        "Not a single flaw.",
        "Couldn't find a single flaw.",
        "Not a single defect, love it.",
        "Not a single issue so far.",
        "Haven't found one imperfection in it.",
    ],
)
def test_happy_texts_are_not_complaints(text: str) -> None:
    assert not analyse(text).complaint


@pytest.mark.parametrize(
    "text",
    [
        # A fault looked for and not found, read too widely (a second reading, session 14).
        "Not a single issue of my subscription arrived on time.",
        "I paid for a subscription and not a single issue arrived.",
        "The setup was not problem-free.",
        "Not issue-free, sadly.",
        "Not flaw-free by any means.",
        "I could not see a flaw until I washed it and the dye ran everywhere.",
    ],
)
def test_a_fault_denied_only_in_part_is_still_a_complaint(text: str) -> None:
    assert analyse(text).complaint


@pytest.mark.parametrize(
    "text", ["Best chips ever", "Yummy chips, thick and crunchy!", "No broken creamers!"]
)
def test_a_food_shops_five_star_praise_opens_no_case(text: str) -> None:
    """A snack shop's glowing reviews were each an attention case: "chips" read as damage."""
    verdict = analyse(text, stars=5)

    assert not verdict.complaint
    assert verdict.reasons == []


@pytest.mark.parametrize(
    "title", ["Beer Nuts", "Dirty Martini", "Long lost find!", "I was skeptical"]
)
def test_a_few_words_under_five_stars_open_no_case_on_the_model_alone(title: str) -> None:
    """A food shop's review titles: on two or three words the model reads a product's name as
    surely as a complaint ("Beer Nuts": 0.99), so there it needs a cue beside it."""
    verdict = analyse(title, stars=5)

    assert not verdict.complaint


@pytest.mark.parametrize(
    ("title", "reason"),
    [("Very disappointed.", None), ("Taste lacks", None), ("dented can", "broken")],
)
def test_a_few_words_with_a_cue_under_four_stars_are_still_a_complaint(
    title: str, reason: str | None
) -> None:
    verdict = analyse(title, stars=4)

    assert verdict.hidden_complaint
    assert reason is None or reason in verdict.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Chocolate - How can you go wrong?",
        "The kids can't get enough of these crackers",
        "Convenience at low cost",
        "These are like crack!",
        "crack for toddlers",
        "Nothing like the crappy stuff I grew up on.",
        "Finally, an answer to the expensive Keurig cups",
        "Great for on the go!  Makes water a little less boring!",
        "I crack up every time I use this mug.",
        "My last phone case cracked in a week, this one survived a drop.",
        "The smell is to die for.",
        # Danger words said in praise, which a weak cue once read as harm.
        "The flavor exploded in my mouth.",
        "These cookies are dangerous!",
        "Keeps my phone from overheating.",
        "The burger was pink and juicy, a perfect medium.",
        "These sausages are bloody delicious.",
        "The pork was pink and juicy, perfect.",
        "Love this mug, my coffee is never stone cold anymore.",
        "My son's play tent looks like a tent from a fairytale, adorable.",
        "The towels get bone dry in an hour.",
        "A stone cold classic.",
        "Great first aid kit, used it when I cut my finger cooking.",
        "When the flu made me sick this humidifier really helped.",
        "Got food poisoning on vacation and this electrolyte mix got me back on my feet.",
        "Wool usually gives me hives, but this sweater is so soft I wear it all day.",
        "The tinder caught fire from one spark, best fire starter kit.",
    ],
)
def test_praise_in_a_complaints_words_opens_no_case(text: str) -> None:
    """Idioms of praise ("how can you go wrong?"), food someone cannot stop eating ("like
    crack") and another product's fault this one beats were hidden complaints under 5★."""
    verdict = analyse(text, stars=5)

    assert not verdict.complaint
    assert verdict.reasons == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Lovely mug, but there is a crack for sure in the handle.", "broken"),
        ("Nothing like the picture, cheap and flimsy.", "poor_quality"),
        ("Better than the cheap ones, but it still broke in a week.", "broken"),
        ("Low price, but the lid leaked everywhere.", "broken"),
        ("Case started to crack for no reason after a week.", "broken"),
        ("Cheaper than Amazon but arrived stale.", "poor_quality"),
        ("Looks nothing like the picture it is cheap plastic.", "wrong_item"),
        ("They sent the cheap knockoff instead of the original I paid for.", "wrong_item"),
        ("Great scent but nothing like the expensive ones, it is cheap plastic.", "poor_quality"),
        ("My last order arrived broken, so pack it well this time.", "broken"),
        ("Not recommended, unsafe for kids.", "never_again"),
        # A second reading (session 11): a denial or a past product's fault that swallowed one.
        ("Doesn't work and broke out of the box.", "broken"),
        ("It did not fit and broke in my hands.", "broken"),
        ("Love these but the last bag made me sick.", "unsafe"),
        ("The last two cracked, refund for those.", "broken"),
        ("Nothing like pictured - flimsy.", "poor_quality"),
        ("Arrived with a huge crack up the side.", "broken"),
        # Session 10's attack: food cooked wrong or cold, a garment like a tent.
        ("The chicken was still pink in the middle.", "poor_quality"),
        ("The cake was dry as a bone.", "poor_quality"),
        ("The pizza arrived stone cold.", "poor_quality"),
        ("It doesn't look like a sack, it looks like a tent.", "size_fit"),
        ("Nothing like the picture cheap flimsy junk.", "wrong_item"),
        ("Unlike the description flimsy and thin.", "poor_quality"),
        ("Assembled the dresser and the last drawer broke while putting it in.", "broken"),
        ("The seams crack open after one wash.", "broken"),
        ("Phone screen crack for the 2nd time with this case on.", "broken"),
    ],
)
def test_the_same_words_beside_a_real_fault_still_name_it(text: str, reason: str) -> None:
    verdict = analyse(text, stars=2)

    assert reason in verdict.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Nice, but it made me sick.",
        "Tasty, but we both got food poisoning after eating it.",
        "Love the jam but there were pieces of glass in it.",
        "Smells lovely, though it gave me a rash.",
        "Great price, but the charger started smoking and the plug caught fire.",
        "Pretty, but the edge is sharp and I cut my finger on it.",
        "Cute toy, but my son ended up in hospital after swallowing a piece.",
        "Works well but it gave me an electric shock when I unplugged it.",
        "Love the colours but the buckle feels unsafe for a toddler.",
        # An attack's wording (session 11): who was hurt, by what.
        "Tasted fine but my whole family got sick after eating it.",
        "Smells amazing but it gave me a terrible rash.",
        "Cute, but my son had an allergic reaction to it.",
        "Nice tin, but the charger overheated and started smoking.",
        "Better than the cheap ones, but this one caught fire after a week.",
        "Cute toy, but a small part broke off and my son choked on it.",
        "Great flavour but there were bits of plastic in my cookie.",
        "Lovely, but the blade came loose and cut my finger badly.",
        "Sweet treats, but after eating them he ended up at the emergency vet.",
        "Good price but the clasp is definitely not safe.",
        # A README walk-through's wording.
        "Cute toy but the eyes are a choking hazard.",
        "Looks great but this is a fire hazard.",
        # A final reading's: the product's own name or an adverb beside the harm.
        "Your chicken gave us food poisoning on our anniversary.",
        "My whole family got food poisoning last night from your chicken wings.",
        "The cold pressed juice made my kids sick.",
        "This sun cream gave me a rash all over my face.",
        "Tried three times and it always makes me sick.",
        "Not lying, it made me sick for two days.",
        # A regression hunt against the session's start: the product named, an adverb, "we all".
        "Dont buy this made my dog sick.",
        "This perfume gave me hives within ten minutes.",
        "This milk made me violently ill.",
        "This soap always gives me a rash, tried three times to be sure.",
        "The other flavour made me sick too, done with this brand.",
        "We all had food poisoning.",
        "Instant allergic reaction to this lotion.",
        "Threw out most of it, most of it made me sick.",
        # Session 11's left-alone misses: a body's symptoms, a rash days later, a shock.
        "This tea gave me diarrhea.",
        "Tastes nice but it gave my son stomach cramps.",
        "My face was covered in a rash after two days of using it.",
        "I got a rash within an hour of putting it on.",
        "Broke out in hives after two days of wearing it.",
        "The hair dryer sparked and shocked me.",
        "It shocked me when I touched the metal part.",
        "Looks nice but the kettle shocked me twice.",
        "The battery swelled up after a month.",
        "Nice speaker, but it has a swollen battery already.",
        # An attack on those (session 12): other words for the same harm.
        "these bars give me diarrhea every time",
        "I got diarrhea from this tea",
        "gave me and my wife diarrhea",
        "rash after 2 days of use",
        "Broke me out in hives.",
        "got zapped by the charger when i plugged it in",
        "this adapter shocked me while i was plugging in my phone",
        "the extension cord shocked me, exposed wires",
        "the battery got hot and swelled",
        "my vape battery swelled",
        # A second attack (session 12).
        "i got really bad cramps after drinking this detox tea",
        "Lovely packaging. Stomach cramps within an hour of drinking it.",
        "the charger shocked my daughter",
        "the iced coffee made me sick for the whole afternoon",
        "the baby wipes give my daughter a nasty rash",
        "this cheap one made me sick, should have paid more for the good stuff",
        "my husband said it gave him a rash, but not me",
        "Why does this tea give me cramps every single time??",
        # A second reading (session 12): harm the new no-problem phrases must not erase.
        "Definitely gives me a rash.",
        "Sadly, mine gives me a rash.",
        "How could this give my baby a rash?!",
        "Rash got worse after using it.",
        "Some people said it causes a rash. It gave me hives within an hour, but I still use it.",
        "got shocked by this charger 😡",
        # Session 13, from the attacks' misses.
        "These crisps made me poorly.",
        "The extension lead gave my son an electric shock.",
        "My toddler choked on one of the eyes that came off.",
        "Ate half the bag and was up all night with diarrhea.",
        "We were all up all night vomiting after the curry.",
    ],
)
def test_harm_is_a_high_severity_case_whatever_the_stars(text: str) -> None:
    """Someone made ill or hurt is the case a merchant must see first (a recall, an allergen,
    a claim): it was filed as "disappointed with the quality", normal, and a fire or a cut was
    no reason at all."""
    verdict = analyse(text, stars=5)

    assert verdict.complaint
    assert verdict.reasons[0] == "unsafe"
    assert verdict.severity == "high"


@pytest.mark.parametrize(
    "text",
    [
        "Love it. Never once made me sick, unlike the others.",
        "Great heater, no fire hazard like the cheap ones.",
        "Perfect bag to go to the hospital with when the baby comes.",
        "Bought it for my daughter who went to the hospital for surgery.",
        "Great electric shock collar for training.",
        "It is not safe for the microwave, so I warm the soup in a bowl. Lovely.",
        "Good candle, burns evenly without catching fire like cheap ones.",
        # Harm denied in other words, another product's, or a story the product was bought for.
        "I had no allergic reaction to it even with my sensitive skin.",
        "Finally shoes that don't hurt my feet!",
        "Sunscreen that doesn't burn my eyes.",
        "Other deodorants gave me a rash, this one doesn't at all.",
        "It wasn't a choking hazard like the cheap toys.",
        "I don't feel unsafe walking at night anymore with this torch.",
        "These ice cleats made walking on unsafe icy sidewalks easy.",
        "Used these clippers to cut my son's hair, so easy.",
        "I hurt my hand at work and this ergonomic mouse is a lifesaver.",
        "Bought this for my mom who went to the hospital after a fall.",
        "My old charger caught fire so I bought this one.",
        "The fire pit caught fire easily and burned all night.",
        "Sparks flew when my husband saw me in this dress!",
        "The electric shock training collar works well.",
        "This mug is not safe for work, hilarious!",
        "Had food poisoning last week and this broth was all I could keep down.",
        "The smell of other candles made me sick but this one is lovely.",
        "Beautiful mosaic lamp with little pieces of glass in the shade.",
        "I was shocked by the quality, love it.",
        "The scooter is not unsafe at all, brakes are great, just a bit heavy.",
        "My last phone charger exploded, so I only buy certified ones like this now.",
        "People say these are a choking hazard but my 6 year old is fine.",
        "My dog needed surgery on his knee and this ramp has been a lifesaver.",
        "I burned my hand on the handle of my old pan, this one stays cool.",
        "Other creams cause eczema flare ups for my son, this one is gentle.",
        "Dairy makes me sick so I love that this is vegan.",
        "My son choked on a piece of apple last year, so I bought this.",
        "The small parts are a choking hazard, so keep it away from toddlers.",
        "Every cream I've tried made me break out, not this one!",
        "I got sick after eating at a restaurant last week so this soup was perfect.",
        "We rushed him to the ER when he broke his arm, this sling was so comfy for him.",
        "ER nurse here, after using these for a few 12 hour shifts my feet feel great.",
        "Not for under 3s, this is a choking hazard so watch little ones, the kids love it.",
        "The neighborhood felt unsafe so I bought this doorbell cam.",
        "These fire starters are great, it caught fire on the first match.",
        "The fairy lights exploded with color across the garden, stunning.",
        "It gave me a nasty shock when I saw how fast it arrived lol.",
        "My dog throws up after eating too fast, this slow feeder fixed it.",
        "My baby's diaper rash cleared up after using this for two days.",
        # Traps beside the symptoms, rashes and shocks read since session 12.
        "Regular coffee gives me stomach cramps, but this one doesn't.",
        "Other teas gave me an upset stomach, this one is gentle.",
        "Never gave me diarrhea like the cheap brands.",
        "Dairy gives me cramps, so this oat milk is perfect.",
        "My rash cleared up within a week of using this cream.",
        "I broke out in hives from strawberries last summer, this cream calmed it.",
        "Shocked me how fast it arrived!",
        "It shocked me that it was so cheap, works great.",
        "The price shocked me, but it is worth it.",
        "The kettle shocked me with how fast it boils.",
        "My old battery swelled, this one is still perfect after a year.",
        "No swollen battery after two years, unlike my last phone.",
        "Assembling it gave me a headache but it looks great.",
        # An attack on those (session 12): praise, denials, backstories, categories, others'
        # word, questions.
        "the heater shocked me, it warmed the whole room in minutes",
        "it shocked me when i plugged it in, so bright!",
        "the speed of this charger shocked me",
        "the fence charger shocked me good, the cows will respect it",
        "if it shocked me when i touched it i would return it but it doesnt",
        "the battery is not swollen at all after a year",
        "bought this after my phone battery swelled up and cracked the screen",
        "the other brand's battery swelled after 6 months",
        "saw a review saying the battery swelled, mine is perfect after a year",
        "the price gave me stomach cramps lol",
        "these running shoes gave me the runs of my life, PB every week",
        "beans give me cramps, but this soup was fine",
        "caffeine gives me nausea, decaf is perfect",
        "the generic brand gave me stomach cramps, this one doesnt",
        "some reviews say it gave them diarrhea but not me",
        "will this give me a rash? i have sensitive skin",
        "not sure if it gave me cramps or it was something i ate",
        "his rash reduced a lot after two days of using it",
        "diaper rash cream from this brand is amazing",
        # A second attack (session 12).
        "my period gives me awful cramps so this heat pad is a godsend",
        "stress gives me an upset stomach, this tea calms it",
        "this ginger tea gave me nausea relief like nothing else",
        "it doesn't give me bloating at all",
        "I was worried it would give me diarrhea like other fibre supplements but it didn't",
        "the rash started to fade after three days of using the cream",
        "Stomach cramps are way down after drinking this every morning",
        "I got shocked by the price",
        "got zapped by the customs fee, otherwise great",
        "didnt expect much but it shocked me.",
        "Smoothies in ten seconds, this blender shocked me!!",
        "this fleece blanket zaps me every time i touch it, static lol",
        "Battery swelled on my last one after a year so I'm trying this brand",
        "Could the battery swell if I leave it charging overnight?",
        "the detox tea gave me diarrhea, as expected, it works!",
        "the supermarket version gave me the worst cramps, yours is lovely",
        "some reviews said it caught fire, not mine, works great",
        "if it ever gives me a rash I'll let you know, so far so good",
        "This thing zapped my blackheads.",
        # A second reading (session 12).
        "Bloating is finally under control after taking these!",
        "Cramps were much lighter after taking this.",
        "It shocked me when I switched it on, the suction is incredible.",
        "I got shocked by the fan noise.",
        "My iPhone battery swelled after a year, this replacement is great.",
        # Session 13, from the attacks: praise, an effect promised, another product's harm.
        "So good they're making me sick.",
        "The workout video made me break out in a sweat.",
        "The ending made me break out in tears.",
        "This lip plumper made my lips swell, exactly as promised!",
        "The own-brand ones from Tesco made me sick, these are perfect.",
        "The gel from the chemist gave me an allergic reaction, this one is gentle.",
        "Our vet said the old kibble gave him diarrhea, this one suits him.",
        "My old charger shocked me twice, this one is solid.",
        "The baby was up all night with colic, this helped so much.",
    ],
)
def test_harm_that_did_not_happen_is_no_safety_case(text: str) -> None:
    assert "unsafe" not in analyse(text).reasons
    assert "unsafe" not in analyse(text, stars=5).reasons


# Phrases a cue used to read wrongly in real shop reviews (the first half of the clothing set in
# bench/data/womens_clothing_reviews/README.md, kept apart from the half the benchmark holds
# out), each beside the complaint the same cue must still read.
@pytest.mark.parametrize(
    ("happy", "reason"),
    [
        ("I'm torn about which colour to keep, both are lovely.", "broken"),
        ("The cut just didn't work for me, but it is a lovely dress.", "broken"),
        ("It doesn't work with any of my skirts, sadly, though the fabric is lovely.", "broken"),
        ("I ordered a large instead of my usual medium and it fits perfectly.", "wrong_item"),
        ("If this came in a different colour I would buy two.", "wrong_item"),
        ("I wish I had bought one in a different color too.", "wrong_item"),
        ("It doesn't come in petites, so I took a 4 and it fits.", "late_delivery"),
        ("I have never received so many compliments on a dress!", "late_delivery"),
        ("It still shows my waist without clinging.", "late_delivery"),
        ("I lost my favourite jacket on a trip and this replaced it.", "late_delivery"),
        ("I dropped one star for the price, otherwise perfect.", "never_again"),
        ("The length is not too short and not too long.", "size_fit"),
        ("I ordered the petite so it wasn't too long on me.", "size_fit"),
        ("The colour is a faded black, very chic.", "poor_quality"),
        # A size that would have been wrong, or that others may find wrong, is no size problem.
        ("A petite would have been far too short on me; the regular is perfect.", "size_fit"),
        ("If you are tall you may find this style too short.", "size_fit"),
        ("I was worried it would be too tight, but it fits beautifully.", "size_fit"),
        ("I don't find it too short at all.", "size_fit"),
        ("Any smaller and it would be too tight, but as it is it fits.", "size_fit"),
        # A habit, another reviewer's rating, a choice or a fastening.
        ("I never buy anything at full price, but this was worth it.", "never_again"),
        ("I nearly skipped it because someone gave it 1 star.", "never_again"),
        ("Ignore the one star reviews, it is lovely.", "never_again"),
        ("I didn't get the petite because I wanted the extra length.", "late_delivery"),
        ("It looks smart snapped or unsnapped.", "broken"),
        ("If it was in a different color, I most likely would have purchased it.", "wrong_item"),
        ("It came late at night, which suited me.", "late_delivery"),
        ("It is late in the season for a coat, but this one is lovely.", "late_delivery"),
        # Coming back to the shop is no return.
        ("Great shop, will return!", "return"),
        ("I will be returning to this shop for sure.", "return"),
        # Order notes (the dev half of bench/data/order_notes.tsv): a fixture at the door, the
        # buyer's own slip, a refund the shop already made, a shed in the garden.
        ("Battery life still not long enough on this phone.", "size_fit"),
        # A visit back to a shop or a restaurant; a product that never let the customer down.
        ("Loved it so much I returned the next day.", "return"),
        ("This kettle has never let me down.", "unhappy"),
        ("It didn't let us down, great value.", "unhappy"),
        # A food shop's praise of what its food is not.
        ("The burnt toffee fudge is unreal, ordering more", "poor_quality"),
        ("The burnt gold colour is stunning in person.", "poor_quality"),
        (
            "I was completely burnt out and this bath soak was exactly what I needed.",
            "poor_quality",
        ),
        ("Has burnt evenly for about 40 hours so far with no tunnelling.", "poor_quality"),
        ("Birthday cake: chocolate sponge with burnt butter icing please.", "poor_quality"),
        ("Hand wash in lukewarm water and it comes out like new.", "poor_quality"),
        ("These eye drops fixed my watery eyes in a day.", "poor_quality"),
        ("This rub turns bland chicken into something amazing.", "poor_quality"),
        ("No more lukewarm tea, this mug keeps it hot for hours.", "poor_quality"),
        ("Stays crisp and doesn't go soggy even after an hour in the lunchbox.", "poor_quality"),
        ("Haven't had a soggy chip since buying this air fryer.", "poor_quality"),
        ("Please pack the fries separately so they don't go soggy.", "poor_quality"),
        ("No more hair in my face, this clip holds all day.", "poor_quality"),
        ("Please send the hair clips in my basket in a gift box.", "poor_quality"),
        ("Please put the bug spray in the outer box, it's a gift.", "poor_quality"),
        ("There was a bug in the app at first but the update fixed it.", "poor_quality"),
        ("Gift for my son who has gone off to uni. Please include a card.", "poor_quality"),
        ("Opened it a month ago and it still hasn't gone off.", "poor_quality"),
        ("The alarm went off exactly on time.", "poor_quality"),
        ("Fish oil with zero bad aftertaste, finally.", "poor_quality"),
        ("None of that chemical aftertaste you get with other sweeteners.", "poor_quality"),
        ("My husband has a weird taste in socks so these were perfect.", "poor_quality"),
        ("Tastes like nothing else I've ever had, proper chocolate.", "poor_quality"),
        ("Ginger chews that actually made me less sick during chemo.", "unsafe"),
        ("Made me sick with envy when my sister got hers first.", "unsafe"),
        (
            "I was nervous about food poisoning with sushi delivery, but it was all fresh.",
            "unsafe",
        ),
        ("Gift message: Get well soon, sorry about the food poisoning! Love, Jo", "unsafe"),
        ("Stained glass lamp made of hundreds of tiny pieces of glass, beautiful.", "unsafe"),
        ("Absorbs quickly and is non-greasy.", "poor_quality"),
        ("The moulded handle fits my hand perfectly.", "broken"),
        ("We all chipped in to buy it for mum's birthday and she loves it.", "broken"),
        ("Wrapped so well not one plate was chipped or cracked.", "broken"),
        ("The box was half filled with tissue paper and the rest was all goodies.", "missing_item"),
        ("I waited two weeks to write this review so I could see how it washes.", "late_delivery"),
        ("Driver may need to wait 5 minutes at the gate, code 1234.", "late_delivery"),
        ("Overrated? Not at all, it lives up to the hype.", "product_problem"),
        ("We'll be returning this weekend for more of the brownies!", "return"),
        ("My friend sent me one, so I returned the favour and bought her this.", "return"),
        ("I was sick of searching for good coffee; this one is perfect.", "unsafe"),
        ("The bag was half full of chocolate, half of nuts. Yum.", "missing_item"),
        ("Mellow flavour, no chemical aftertaste.", "poor_quality"),
        ("A tangerine drink that doesn't taste watery! Hooray!", "poor_quality"),
        ("Not too sweet, not greasy, just right.", "poor_quality"),
        ("Love the burnt orange colour.", "poor_quality"),
        ("I waited a week before writing this review, and I still love it.", "late_delivery"),
        ("Buzzer doesn't work, please call me on arrival.", "broken"),
        ("The intercom buzzes but the door release is broken, so I'll come down.", "broken"),
        ("Sorry I ordered the wrong size, could you swap the M for an L?", "size_fit"),
        ("Discount code applied manually (forgot at checkout) - refunded £4.50", "refund"),
        ("1x candle out of stock - refunded, customer informed and fine with it", "refund"),
        ("Need an invoice with our company number for reimbursement", "refund"),
        ("Safe place: garden shed, door is unlocked", "poor_quality"),
        ("Please leave parcel by shed if nobody is in", "poor_quality"),
        ("It's lovely and soft and doesn't shed at all.", "poor_quality"),
        ("Please no nuts - my son has had an allergic reaction before, thank you", "unsafe"),
        ("Tracking showed delivered and it was with the neighbour at no. 12", "late_delivery"),
        ("Customer not disputing the charge, just wanted a copy of the invoice", "refund"),
        ("You absolutely smashed it with this order, thank you!", "broken"),
        ("Love it! Came with a stain remover sample too, nice touch", "broken"),
        ("Came with a tear-off gift tag, lovely packaging", "broken"),
        # A food shop's goods and its happy customers (SNAP's fine-food review titles, a
        # development set nobody held out): chips to eat, and damage that did not happen.
        ("Best chips ever", "broken"),
        ("I love these chips.  They are thick and crunchy!", "broken"),
        ("Perfect for gluten-free chocolate chip cookies", "broken"),
        ("Comes with chips on the side, lovely lunch", "broken"),
        ("No broken creamers!", "broken"),
        ("None of the jars were broken, well packed.", "broken"),
        ("No more stale chips, these are perfect.", "poor_quality"),
        ("This coffee has spoiled me for other brands.", "broken"),
        ("I will never buy a different brand again.", "never_again"),
        ("Will never buy store bought extract again.", "never_again"),
        ("I didn't receive what I ordered.", "late_delivery"),
    ],
)
def test_a_cue_word_used_for_something_else_names_no_problem(happy: str, reason: str) -> None:
    assert reason not in intents(happy)


@pytest.mark.parametrize(
    ("complaint", "reason"),
    [
        ("The strap is torn.", "broken"),
        ("It doesn't work at all.", "broken"),
        ("They sent the blue one instead of the red one I ordered.", "wrong_item"),
        ("It arrived in a different colour than pictured.", "wrong_item"),
        ("It never came.", "late_delivery"),
        ("I never received my order.", "late_delivery"),
        ("Tracking still shows it in transit after two weeks.", "late_delivery"),
        ("The tracking still says 'label created' after a week.", "late_delivery"),
        ("My parcel was lost in the post.", "late_delivery"),
        ("One star, would not order again.", "never_again"),
        ("The trousers are way too short.", "size_fit"),
        ("The print faded after one wash.", "poor_quality"),
        ("It is far too short, even on me.", "size_fit"),
        ("I will never buy from this shop again.", "never_again"),
        ("1 star. It fell apart in a week.", "never_again"),
        ("I didn't get my parcel.", "late_delivery"),
        ("The clasp snapped on the first day.", "broken"),
        ("I had to return it.", "return"),
        ("Had to send them back, sadly.", "return"),
        # Near the phrases read as no problem above, and still the problem.
        ("We didn't get the order since we placed it three weeks ago.", "late_delivery"),
        ("Never order anything here at full price, it falls apart in a week.", "never_again"),
        ("I'll be leaving one star reviews everywhere unless someone answers me.", "never_again"),
        # A return told in so many words (read as a visit back to the shop, or not read at all).
        ("I will return it.", "return"),
        ("I will be returning this dress.", "return"),
        ("Needless to say, it will be going back.", "return"),
        ("It's going back.", "return"),
        (
            "Never again. Third time the parcel was late and nobody answered my emails.",
            "late_delivery",
        ),
        ("It arrived late, again.", "late_delivery"),
        ("The waist was too large and would not stay up. Returned.", "return"),
        # Near the order-note phrases above, and still the problem.
        ("The doorbell was fine, but the lamp arrived broken.", "broken"),
        ("You sent the wrong size and I need it for Friday.", "size_fit"),
        ("This jumper sheds everywhere.", "poor_quality"),
        ("I want a refund for the missing candle.", "refund"),
        # Order-note complaints the cues did not read (the same dev half).
        ("Reordering the same print because the first one arrived bent.", "broken"),
        ("Ring arrived with a scratch on the band. Customer asking for replacement.", "broken"),
        ("Match the photos this time, the last was a completely different shade.", "wrong_item"),
        ("Cust says free gift was promised with the order and wasn't in the box.", "missing_item"),
        ("Overdue - we promised dispatch by the 10th, still not sent.", "late_delivery"),
        ("Rang in tears - wedding favours not arrived, wedding is Saturday.", "late_delivery"),
        ("Why does order #2210 say delivered when I have nothing?", "late_delivery"),
        ("Customer disputing shipping charge, says it was advertised free.", "refund"),
        ("Customer reports allergic reaction, says product contained nuts.", "unsafe"),
        ("Please pack it well, the last one arrived smashed", "broken"),
        ("The screen was smashed to pieces in transit.", "broken"),
        # A second reading's finds: the fixtures and refunds read as no problem must not hide
        # a product's fault or a refund never paid; fabric that sheds; staff notes of a
        # complaint; a parcel lost.
        ("Customer says the lock arrived broken, wants a replacement asap", "broken"),
        ("Bike bell was broken when it arrived", "broken"),
        ("The smart lock doesn't work half the time, the app keeps dropping", "broken"),
        ("Our new garden gate arrived and the gate latch is broken already.", "broken"),
        ("Shipping took three weeks and I still haven't been refunded the £4 postage", "refund"),
        ("The shipping was so slow I cancelled and I was never refunded", "refund"),
        ("Your site said out of stock and I still haven't been refunded for it", "refund"),
        ("I still haven't been refunded the shipping.", "refund"),
        ("Lovely colour but the alpaca sheds everywhere", "poor_quality"),
        ("The angora sheds everywhere.", "poor_quality"),
        ("Complaint re rude driver. Customer wants a formal response.", "unhappy"),
        ("Customer complained about the last order", "unhappy"),
        ("Last order was a disaster, please do better", "unhappy"),
        ("Please do not send it with Evri again, they lost my last two parcels", "late_delivery"),
        ("Last time the driver marked it delivered and it wasn't here.", "late_delivery"),
        # Chipped things, beside the chips a food shop sells.
        ("Two of the bowls were chipped.", "broken"),
        ("The plate has a chip on the rim.", "broken"),
        ("There are chips in the glaze already.", "broken"),
        ("The paint is chipping after a week.", "broken"),
        ("No broken jars, but the lid was cracked.", "broken"),
        ("I didn't receive what I ordered.", "wrong_item"),
        # Faint praise and a let-down said in one word.
        ("Nothing broken, thankfully. This was a total letdown.", "unhappy"),
        ("The fabric really let me down.", "unhappy"),
        ("Mediocre at best.", "product_problem"),
        ("Underwhelming.", "product_problem"),
        ("Not worth the wait.", "unhappy"),
        # Nothing of the order came, or came whole (a README walk-through, session 14).
        ("Not a single item arrived.", "missing_item"),
        ("Not a single one arrived.", "missing_item"),
        ("Not a single plate arrived intact.", "broken"),
        ("Not one of the plates arrived intact.", "broken"),
        ("Not one of the glasses arrived in one piece.", "broken"),
        # Sarcasm the issue names (VADER hears "thanks").
        ("Thanks for nothing.", "unhappy"),
        ("Well, thanks a lot for nothing, guys.", "unhappy"),
        ("Thank you for nothing.", "unhappy"),
        ("Thanks for absolutely nothing.", "unhappy"),
        # A food shop's faults, told plainly.
        ("It tasted like cardboard.", "poor_quality"),
        ("Lovely, but the milk tasted off.", "poor_quality"),
        ("Great taste but it left a fishy aftertaste.", "poor_quality"),
        ("Great service, but the pizza was burned on the bottom.", "poor_quality"),
        ("Found a long hair baked into the loaf.", "poor_quality"),
        ("There was a hair on my pizza.", "poor_quality"),
        ("Found a slug in the lettuce from my veg box.", "poor_quality"),
        ("There was a dead fly in my salad.", "poor_quality"),
        ("Tasty, but the cream was already sour when it arrived.", "poor_quality"),
        ("Great value but the bottle was only half full.", "missing_item"),
        ("Nice crisps but the bag came half-empty.", "missing_item"),
        ("Waited a week for the food box and the veg was limp.", "late_delivery"),
        ("Waited 2 hrs for the delivery driver.", "late_delivery"),
        ("Waited eight days for a next day delivery.", "late_delivery"),
        ("Honestly overhyped.", "product_problem"),
        ("Nice tin, but the flavour was lacking.", "poor_quality"),
        ("The chips were swimming in grease.", "poor_quality"),
        ("There were pieces of glass in my jam.", "unsafe"),
        ("The salsa was bland and the tortillas were soggy.", "poor_quality"),
        ("Good but watery", "poor_quality"),
        ("Pretty, but I returned the same day as it was see-through.", "return"),
        ("The sweater started pilling after one wash.", "poor_quality"),
        ("Delicious, but the bread was mouldy.", "broken"),
        ("Found a hair in my soup, otherwise fine.", "poor_quality"),
        ("Great taste but the milk had gone sour.", "poor_quality"),
        ("Nice, but it made me sick.", "unsafe"),
        ("We both got food poisoning after eating it.", "unsafe"),
        ("There were weevils in the flour.", "poor_quality"),
        ("Tasty but the bag was half empty.", "missing_item"),
        ("The crisps were soggy and the salsa was bland.", "poor_quality"),
        ("Tastes like cardboard.", "poor_quality"),
        ("Way too salty, I could not finish it.", "poor_quality"),
        ("The coffee has a weird aftertaste.", "poor_quality"),
        ("We waited 40 minutes for the food and it was cold.", "late_delivery"),
        ("I waited three weeks for it to turn up.", "late_delivery"),
        ("The milk arrived spoiled.", "broken"),
        ("I will never buy this brand again.", "never_again"),
        ("The crackers were stale.", "poor_quality"),
    ],
)
def test_the_same_cue_still_names_the_problem(complaint: str, reason: str) -> None:
    assert reason in intents(complaint)


@pytest.mark.parametrize(
    "text",
    [
        # The customer already changed the size, or the shop already put it right.
        "The medium was too small, so I exchanged it for a large and it fits perfectly. Love it!",
        "Way too big at first; I reordered it in a small and now it is my favourite.",
        "It came with a little damage, but they exchanged it and I'm just as happy.",
        # A caveat the customer calls the only one, about no named problem.
        (
            "These trousers are soft and I wear them every week. The only downside is that they"
            " need to be dry cleaned."
        ),
        "I get compliments every time I wear it. My only regret was the lack of a petite range.",
        "The colour is even nicer in person. The only downside is that the pockets are shallow.",
        "The small was too tight so I sized up to a medium. Fits like a dream now.",
        "Too small, so I returned it and bought the large. Perfect fit, love it.",
        "The zip was broken when it arrived; they replaced it within two days and I love it.",
        "I was worried it'd be too tight but it fits beautifully.",
        "I went with the xxs as the xs was a bit too loose on the arms. Love the colour!",
        "I kept the 8 and had to return the 10, as it was too roomy. Another win!",
        "This whisky smells of smoke and peat. Wonderful.",
        "I was worried it would be too tight, but it is perfect.",
        # A fault the customer says the item does not have, or a worry it did not bear out
        # (the held-out half of the clothing set: "not at all stiff", "not see- through").
        "The material is not at all stiff, and it fits like a glove. Love it.",
        "Fully lined, not see- through at all. So comfortable.",
        "Soft and flattering. It does not look like a sack tent when worn.",
        (
            "Looking at the model pics, I was concerned the arm holes came too low, but on me"
            " that is not the case. Love it."
        ),
        # The customer's own exchange, or a return bought again, that left them happy.
        (
            "The first one arrived with a little bit of damage at the hem, but I did exchange it"
            " and am just as happy with the second."
        ),
        (
            "I bought this a month ago and returned it. But I kept thinking about it, so I"
            " ordered it again. So many compliments!"
        ),
        # Another reviewer's complaint, which this customer answers.
        (
            "Not sure why this shirt is getting bad reviews. I love everything about it, the print"
            " is fantastic."
        ),
        # A size that would have been wrong, or a fear that did not come true, which the model
        # alone reads as the problem itself (0.99).
        (
            "I purchased a size small regular and it fit perfectly. A petite would have been far"
            " too short. So I would recommend a regular size."
        ),
        "This is a perfect fit! I was worried that it would be too short and or boxy.",
        # Sizing advice in a glowing review.
        (
            "Runs big, so order a size down. The sleeves are a little too long for me but it is"
            " gorgeous, soft and I love it!"
        ),
    ],
)
def test_a_settled_problem_or_a_small_caveat_under_five_stars_is_no_case(text: str) -> None:
    verdict = analyse(text, stars=5)

    assert not verdict.hidden_complaint
    assert not verdict.complaint


@pytest.mark.parametrize(
    "review",
    [
        (
            "Not only a beautiful knit but can be worn as both tunic and dress. It does not look"
            " like a sack tent when worn. Very soft and flattering."
        ),
        (
            "Prety dress, true to size. The material is not at all stiff. I was able to close the"
            " zipper by myself."
        ),
        (
            "Fully lined, not see- through at all. Looking at the model pics, I was concerned the"
            " arm pit holes came too low, but on me that is not the case."
        ),
    ],
)
def test_a_five_star_review_praising_what_a_fault_is_not_opens_no_case(review: str) -> None:
    """The model read each at 0.97–0.99 (negated faults, and the scraps left once the hedge is
    taken out: "it … when worn."), above the 0.97 it needs alone under 4–5★."""
    verdict = analyse(review, stars=5)

    assert not verdict.complaint
    assert not verdict.by_model


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # Changing size is settled; what else went wrong is not.
        ("Exchanged it for a large, which fits, but the zip broke on day two.", "broken"),
        ("Love the colour, but it was far too small and I had to send it back.", "size_fit"),
        ("The only downside is that the zip broke the first time I wore it.", "broken"),
        ("I want to exchange it for a medium but the size is sold out.", "return"),
        # A change of size or a replacement that did not put it right (found by a second
        # reading): the problem told after it is not settled.
        (
            "Pretty dress. I went with my usual size and it is way too small in the bust.",
            "size_fit",
        ),
        (
            (
                "The medium was too small, so I exchanged it for a large, but the large is also too"
                " small in the chest."
            ),
            "size_fit",
        ),
        ("Sent it back and reordered in a small. Still too big.", "size_fit"),
        (
            "Love the print, but I'm returning them for 2 reasons: far too small and see-through.",
            "size_fit",
        ),
        ("They replaced it, which is great, but the new one arrived damaged too.", "broken"),
        ("The replacement was greatly delayed and arrived broken too.", "broken"),
        (
            (
                "Exchanged it for the right size and I'm happy with the fit, but the belt was"
                " missing from the parcel."
            ),
            "missing_item",
        ),
        # A feared size that came true, a problem others may find and this customer did.
        ("I was afraid it would be too small and it is.", "size_fit"),
        ("Beautiful print. You may find the sleeves way too short, mine are.", "size_fit"),
        # A defect called the only problem is still a defect.
        ("The only problem is the stitching is coming undone after a week.", "broken"),
        ("The only problem is it gave me a rash.", "unsafe"),
        # A replacement the customer bought for something else puts nothing right; nor does a
        # reason for a change that goes on to a problem; nor "not very happy".
        (
            "The lid arrived broken. I bought it as a replacement for my old kettle and I love it.",
            "broken",
        ),
        ("The lid arrived broken; they replaced it but I'm not very happy.", "broken"),
        (
            "I exchanged it for a large because I had to, and the large is also too small.",
            "size_fit",
        ),
        ("I was worried it would be too tight, and it definitely is.", "size_fit"),
        ("I was afraid the sleeves would be too short. They are.", "size_fit"),
        # A let-down after reading others' reviews is still this customer's.
        (
            "After reading the reviews: sadly a terrible disappointment, I regret ordering it.",
            "unhappy",
        ),
        # A fit told as a let-down, not as advice; a fit the customer sends back.
        ("I really wanted this to work. The arm cutout was too wide for me.", "size_fit"),
        (
            "Gorgeous colour, soft fabric, I love it! Sadly far too small, so it is going back.",
            "return",
        ),
        # Bought again after a return, and still at fault.
        ("I returned it and ordered it again, but the second one arrived damaged too.", "broken"),
        # A fault the customer does name: "not long enough".
        ("Lovely, but the sleeves are not long enough for me.", "size_fit"),
    ],
)
def test_an_unsettled_problem_under_five_stars_is_still_a_case(text: str, reason: str) -> None:
    verdict = analyse(text, stars=4)

    assert verdict.hidden_complaint
    assert reason in verdict.reasons


@pytest.mark.parametrize(
    ("text", "sarcastic"),
    [
        ("Great, another broken mug.", True),
        ("Perfect. Just perfect. It leaked everywhere.", True),
        ("Oh great just what I needed, a cracked lid.", True),
        ("Love the jam but there were pieces of glass in it.", False),
        ("Nice the way it arrived, but the lid is cracked.", False),
    ],
)
def test_sarcasm_is_said_only_of_mockery(text: str, sarcastic: bool) -> None:
    """A thing loved and then a fault is a plain complaint; "sounds sarcastic" tells an agent
    to read the praise as mockery."""
    verdict = analyse(text)

    assert verdict.complaint
    assert ("sounds sarcastic" in verdict.sentences) is sarcastic


def test_a_five_star_review_can_hide_a_complaint() -> None:
    verdict = analyse(
        "Beautiful mug, but it took three weeks to arrive and the box was crushed.", stars=5
    )

    assert verdict.complaint
    assert verdict.hidden_complaint
    assert "the 5-star rating hides a complaint" in verdict.sentences


def test_a_one_star_review_with_glowing_text_is_still_a_signal() -> None:
    verdict = analyse("Absolutely wonderful, best purchase ever!", stars=1)

    assert verdict.complaint
    assert verdict.disagreement
    assert "rating and text disagree: check the rating" in verdict.sentences
    assert verdict.severity == "low"


def test_severity_rises_with_stronger_complaints() -> None:
    mild = analyse("The lid is a bit loose.")
    strong = analyse("Arrived broken, nobody answers my emails, I want a refund. Never again!")

    order = ["none", "low", "normal", "high"]
    assert order.index(strong.severity) > order.index(mild.severity)
    assert strong.severity == "high"


def test_stars_and_text_are_read_from_a_tab_separated_line() -> None:
    assert parse_line("4\tNice mug") == ("Nice mug", 4.0)
    assert parse_line("Nice mug") == ("Nice mug", None)
    assert parse_line("great\tvalue") == ("great\tvalue", None)


@pytest.mark.parametrize("stars", ["0", "6", "-1", "7.5"])
def test_a_rating_outside_one_to_five_is_read_without_stars_and_said(stars: str) -> None:
    # given a line whose STARS field is a number no rating can be
    result = CliRunner().invoke(main, ["text"], input=f"{stars}\tterrible\n")

    # then its words are read without stars, the same way for 0 as for 6, and the operator
    # is told on stderr which line it was
    assert result.exit_code == 0, result.output
    [verdict] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (verdict["text"], verdict["stars"]) == ("terrible", None)
    assert f"line 1: {stars} is not a rating from 1 to 5" in result.stderr


def test_clout_text_prints_one_verdict_a_line() -> None:
    lines = "1\tNever again.\nLovely mug, arrived early.\n\n5\tGreat, but it arrived cracked\n"

    result = CliRunner().invoke(main, ["text"], input=lines)

    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in result.output.splitlines()]
    assert [v["complaint"] for v in verdicts] == [True, False, True]
    assert verdicts[0]["severity"] == "high"
    assert verdicts[2]["hidden_complaint"] is True
    assert all({"complaint", "severity", "reasons"} <= set(v) for v in verdicts)


def test_clout_text_reads_order_notes_as_the_workers_do_with_note() -> None:
    # given order notes: two instructions the model reads darkly, one telling of damage
    lines = "no card\nleave at door\nPlease pack it well, the last one arrived smashed\n"

    # when `clout text --note` reads them
    result = CliRunner().invoke(main, ["text", "--note"], input=lines)

    # then only the note that names a problem would open a case, and says which
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in result.output.splitlines()]
    assert [v["complaint"] for v in verdicts] == [False, False, True]
    assert verdicts[2]["reasons"] == ["broken"]
    assert verdicts[0]["model"] is not None  # the model's reading is still shown


# --- bounded cost: what one text can make the detector do ------------------------------------

ADVERSARIAL = ["problem ", "fixed ", "not bad ", "the shit ", "great, just ", "but the ", "no "]


def _unbounded_repeats(pattern: str) -> list[str]:
    """`*` or `+` in a pattern (a `{m,n}` bound is fine): an unbounded repeat followed by more
    pattern is what makes a search backtrack over the rest of the text at every start."""
    return re.findall(r"(?<!\\)[*+]", pattern)


def test_every_detector_pattern_repeats_a_bounded_number_of_times() -> None:
    patterns = [p for _, firm, weak in INTENTS.values() for p in (*firm, *weak)] + list(NEGATED)
    patterns.append(_SARCASM.pattern)
    patterns += [p.pattern for p in (_SIZE_CHANGED, _PUT_RIGHT, _ONLY_CAVEAT, _PART_OF_THE_CHANGE)]

    assert [p for p in patterns if _unbounded_repeats(p)] == []


@pytest.mark.parametrize("word", ADVERSARIAL)
def test_a_text_far_beyond_the_limit_is_read_by_its_start_and_end(word: str) -> None:
    # given 100 KB of one cue word, and the same ending in a real complaint
    flood = word * (100_000 // len(word))
    signed_off = flood + " It broke after two days and I want my money back."

    # when the detector reads them
    verdict = analyse(signed_off, stars=4)

    # then it read a bounded part (the same verdict as for that part alone) and the complaint
    # at the end was not lost
    assert len(read_part(flood)) <= MAX_READ + 3
    whole, part = analyse(flood), analyse(read_part(flood))
    # (the part is cut again a character apart, so the model's pieces of the run-on differ in
    # alignment by a character: its probability agrees closely, everything else exactly)
    assert dataclasses.replace(whole, model=None) == dataclasses.replace(part, model=None)
    assert whole.model == pytest.approx(part.model, abs=0.01)
    assert "refund" in verdict.reasons
    assert verdict.hidden_complaint


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.sampled_from([*ADVERSARIAL, "!", "?", ". ", "\n", "love "]), max_size=40),
    repeat=st.integers(min_value=1, max_value=4000),
)
def test_any_long_text_reads_as_its_bounded_part(words: list[str], repeat: int) -> None:
    text = "".join(words) * repeat
    assert len(read_part(text)) <= MAX_READ + 3
    assert analyse(text).as_dict() == analyse(read_part(text.strip())).as_dict()


def test_static_on_a_line_is_still_a_fault_though_a_fleece_s_static_is_no_shock() -> None:
    # the shock from a fleece's static is no harm; a radio's static is still a complaint, even
    # beside a "shocked" that means surprised
    assert "unsafe" not in analyse("this fleece blanket zaps me, static lol").reasons
    radio = analyse("I was shocked to find the radio gives nothing but static, I want a refund.")
    assert "refund" in radio.reasons


@pytest.mark.parametrize(
    ("words", "reasons"),
    [
        # harm told on the way out, or beside a refund: every reason kept (a second reading
        # found a checkout-note rule erasing them in reviews)
        (
            "We all got food poisoning so I'm never ordering from here again.",
            {"unsafe", "never_again"},
        ),
        ("I got food poisoning so I'm getting a refund.", {"unsafe", "refund"}),
        ("Definitely gives me a rash, want my money back.", {"unsafe", "refund"}),
        ("Shocked how bad this is, the TV shows only static, never again.", {"never_again"}),
    ],
)
def test_a_complaint_beside_harm_or_static_keeps_its_reasons(words: str, reasons: set[str]) -> None:
    assert reasons <= set(analyse(words).reasons)

"""Names and places: the model's entities cleaned up and made consistent within a text."""

from __future__ import annotations

import pytest

from classifiers.engine import DetectorEngine
from classifiers.ner import (
    _cased,
    _pieces,
    _plausible_person,
    _readable,
    _trim_entity,
    _windows,
)

ENGINE = DetectorEngine.builtin()


def _found(text: str, kind: str) -> list[str]:
    return [m.value for m in ENGINE.analyze(text) if m.type == kind]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("we returned to ESPOO by helicopter", "we returned to Espoo by helicopter"),
        ("I'm in HYVINKÄÄ today", "I'm in Hyvinkää today"),
        ("the CEO of ABC", "the CEO of ABC"),  # three letters: an acronym, left as is
    ],
)
def test_capitals_are_title_cased_without_moving_offsets(text: str, shown: str) -> None:
    assert _readable(text) == shown
    assert len(_readable(text)) == len(text)


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("Dr. Cindy Holinka", "Cindy Holinka"),
        ("Mrs Schwarz", "Schwarz"),
        ("Jane Doe's", "Jane Doe"),
        ('"Jane Doe",', "Jane Doe"),
        ("Jane Doe\nDOB", "Jane Doe"),
    ],
)
def test_entity_is_trimmed(value: str, kept: str) -> None:
    start, end = _trim_entity(value, 0, len(value))
    assert value[start:end] == kept


@pytest.mark.parametrize(
    ("value", "person"),
    [("Davis Orchestra", False), ("Acme Group", False), ("NASA", False), ("Maria Lopez", True)],
)
def test_organisation_words_are_not_people(value: str, person: bool) -> None:
    assert _plausible_person(value) is person


def test_place_in_capitals_is_found() -> None:
    assert _found("She moved to CHICAGO last spring.", "LOCATION") == ["CHICAGO"]
    assert _found("We flew to HELSINKI on Sunday.", "LOCATION") == ["HELSINKI"]


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("Mrs. Schwarz flew to Coles on Sunday morning.", "Coles"),
        ("I'm Annemette Iversen, originally from Eckenroth, and I'm 54.", "Eckenroth"),
        ("My friend lives in Reguengos de Monsaraz now.", "Reguengos de Monsaraz"),
    ],
)
def test_place_after_a_verb_of_travel_or_residence(text: str, place: str) -> None:
    assert place in _found(text, "LOCATION")
    assert place not in _found(text, "PERSON")


def test_surname_alone_is_the_same_person() -> None:
    text = "The verses are from Faina D. Yefremova. Is there anything better than early Yefremova?"
    names = _found(text, "PERSON")
    assert "Faina D. Yefremova" in names
    assert "Yefremova" in names


def test_firm_named_after_a_family_is_not_a_person() -> None:
    assert _found("The invoice from Thomas and Sons arrived.", "PERSON") == []


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("Can someone call me on 450 0840? I have questions.", False),
        ("What's the limit on my card?", False),
        ("Sandra lives on Hansinegata 120 street.", True),
        ("we returned to ESPOO by helicopter", True),
        ("all lower case, nothing to see", False),
    ],
)
def test_only_texts_that_can_hold_a_name_go_to_the_model(text: str, sent: bool) -> None:
    assert bool(_windows(_cased(text))) is sent


def test_the_model_reads_windows_around_candidate_words() -> None:
    text = (
        "Please see the attached file. The invoice was sent by Marta Kowalska from our Warsaw "
        "office last week, and nobody has answered it since then, as far as I know."
    )
    read = [text[a:b] for a, b in _windows(text)]
    # "Please" and "The" start sentences (plain English words): no candidates.
    assert read == ["was sent by Marta Kowalska from our Warsaw office last week,"]


def test_capitalised_english_word_inside_a_sentence_is_read() -> None:
    assert _windows("We will meet in Reading tomorrow") == [(3, 32)]  # three words each side
    assert _windows("Reading is fun") == []


def test_windows_of_a_text_map_back_to_it() -> None:
    words = " ".join(f"w{i}" for i in range(30))
    text = f"Ana Dias {words} Tomasz Nowak {words}"
    windows = _windows(text)
    assert len(windows) == 2
    (piece,) = _pieces(7, text, windows)
    assert piece.index == 7
    for name in ("Ana Dias", "Tomasz Nowak"):
        at = piece.text.index(name)
        assert piece.source(at, at + len(name)) == (text.index(name), text.index(name) + len(name))
    gap = piece.text.index("\n\n")
    assert piece.source(gap, gap + 2) is None


def test_dialogue_speakers_are_people() -> None:
    text = "Leverett: What a wife.\nDanielle: Remember me, Alexander?\nJonathan: You saved my life!"
    assert {"Leverett", "Danielle", "Jonathan"} <= set(_found(text, "PERSON"))


def test_form_labels_are_not_people() -> None:
    text = "Phone: 555 0100\nNotes: call back later\nUsername: jdoe\nWhere: the office"
    assert _found(text, "PERSON") == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My name is Rubija", "Rubija"),
        ("What's your last name? Okonkwo", "Okonkwo"),
        ("Bot: What's the name on the account? User: Maja S Hermansen", "Maja S Hermansen"),
        ("Sometimes people call me Csanád", "Csanád"),
        ("It's under my partner's name Shane M Culp", "Shane M Culp"),
    ],
)
def test_name_announced_by_the_text(text: str, name: str) -> None:
    assert name in _found(text, "PERSON")


@pytest.mark.parametrize(
    "text",
    [
        "See Hidden Treasures: ten albums you missed",
        "She was named Salesperson of the Year.",
    ],
)
def test_capitalised_english_words_are_not_a_person(text: str) -> None:
    assert _found(text, "PERSON") == []


def test_given_name_and_surname_are_a_person_whatever_the_model_calls_them() -> None:
    # The small model calls these an organisation or nothing at all.
    assert _found("Zoe Young from Flightaware is the keynote speaker", "PERSON") == ["Zoe Young"]
    assert "Joanna Wiśniewska" in _found("Regards,\nJoanna Wiśniewska\nAccounts team", "PERSON")


@pytest.mark.parametrize(
    ("text", "person"),
    [("We have 4 Green Park tickets", False), ("Henrik Vestergaard signed it", True)],
)
def test_two_english_words_are_not_enough_for_a_name(text: str, person: bool) -> None:
    assert bool(_found(text, "PERSON")) is person


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I need to add my daughter Ingeborg to the policy.", "Ingeborg"),
        ("Karolina said the parcel never arrived.", "Karolina"),
        ("Ask Dr. Okafor about the results.", "Okafor"),
    ],
)
def test_lone_name_marked_by_its_context(text: str, name: str) -> None:
    assert name in _found(text, "PERSON")


def test_lone_given_name_without_context_is_left_to_the_model() -> None:
    # "Florence" is a given name and a city; nothing here says which.
    assert _found("The museum in Florence opens at nine.", "PERSON") == []


@pytest.mark.parametrize(
    ("text", "firm"),
    [
        ("She spent a year at Gruber, Castellano and Moss as a clerk.", True),
        ("Gruber, Castellano and Moss is a law firm in Graz.", True),
        ("The Gruber, Castellano and Moss Orchestra played.", True),
        ("Best,\nAnna Berg\nGruber, Castellano and Moss\n12 Ringstrasse", True),
        ("Gruber, Castellano and Moss were the founders.", False),
    ],
)
def test_three_surnames_named_as_a_firm(text: str, firm: bool) -> None:
    found = set(_found(text, "PERSON"))
    assert bool(found & {"Gruber", "Castellano", "Moss"}) is not firm


def test_given_names_in_a_list_make_the_list_people() -> None:
    assert {"Ingrid", "Tobias", "Rasmus"} <= set(
        _found("Ingrid, Tobias and Rasmus went.", "PERSON")
    )


def test_names_in_lower_case_text() -> None:
    text = "please call back marianne lindqvist about her claim"
    assert _found(text, "PERSON") == ["marianne lindqvist"]
    # web addresses and English words stay as written
    assert _found("visit www.lindqvist.com for details about the plan", "PERSON") == []
    assert _cased("order 4411 shipped today ok") == "order 4411 shipped today ok"


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("I am in Hirvasvaara for a week.", "Hirvasvaara"),
        ("We moved here from Kirkenes", "Kirkenes"),
        ("Where: Brassac Country Club", "Brassac"),
    ],
)
def test_place_after_a_softer_cue(text: str, place: str) -> None:
    assert place in _found(text, "LOCATION")
    assert place not in _found(text, "PERSON")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Why is Sigrun always late?", "PERSON"),  # the model calls her a place
        ("We drove to Ingvild yesterday.", "LOCATION"),  # "to": left a place
    ],
)
def test_single_given_name_the_model_calls_a_place(text: str, kind: str) -> None:
    name = text.split()[2].rstrip("?") if kind == "PERSON" else "Ingvild"
    assert name in _found(text, kind)


def test_filler_in_lower_case_text_is_no_name() -> None:
    """Lower-case chat gets its rare words capitalised for the model; filler must not be."""
    engine = DetectorEngine.builtin()
    text = "born on 1990-01-02 and then " + "y" * 40 + " was typed by the cat"
    assert not [m for m in engine.analyze(text) if m.type == "PERSON"]

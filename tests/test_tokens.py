"""Link tokens a person can type (``survey.platform.tokens``): new links, reading a typed token, old links unchanged."""

from __future__ import annotations

import re

import pytest

from survey.models import Channel, Response, UnitCode
from survey.platform import tokens
from survey.platform.extensions import db
from tests.helpers import SEED_004_ANSWERS, make_project, published

NEW_STYLE = re.compile(r"[0-9a-hjkmnp-tv-z]{10}")  # Crockford's base32 in lower case: no i, l, o, u
LOOK_ALIKES = set("ilouIOL_-")


def test_new_tokens_are_ten_unambiguous_characters():
    made = {tokens.new_link_token() for _ in range(2000)}
    assert len(made) == 2000
    assert all(NEW_STYLE.fullmatch(token) for token in made)
    assert not LOOK_ALIKES & set("".join(made))
    assert set("".join(made)) == set(tokens.ALPHABET), "every character of the alphabet is used"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("k7mqx3p9ta", "k7mqx3p9ta"),
        ("K7MQX3P9TA", "k7mqx3p9ta"),
        (" k7mqx3p9ta ", "k7mqx3p9ta"),
        ("OOIL1xyz0a", "00111xyz0a"),  # O for 0, I and L for 1, as Crockford reads them
        ("k7mqx3p9t", None),  # too short: an old token, looked up as it is
        ("Ab_cD-e0", None),  # an old URL-safe token
        ("k7mqx3p9tu", None),  # u is in no token
    ],
)
def test_a_typed_token_is_read_as_meant(typed, meant):
    assert tokens.canonical(typed) == meant


def test_every_new_link_gets_a_typeable_token(app, evaluator):
    questionnaire = published(make_project(evaluator))
    channel = Channel(questionnaire=questionnaire, code="c1", name="服务大厅")
    unit = UnitCode(questionnaire=questionnaire, unit_name="某局", max_uses=3)
    db.session.add_all([channel, unit])
    db.session.commit()
    for token in (questionnaire.public_token, channel.token, unit.code):
        assert NEW_STYLE.fullmatch(token), token
    chosen = Channel(questionnaire=questionnaire, code="c2", name="社区", token="chosen-token")
    db.session.add(chosen)
    db.session.commit()
    assert chosen.token == "chosen-token", "a token given on purpose is kept"


def test_channels_and_units_added_on_the_desk_get_typeable_tokens(logged_in, evaluator):
    questionnaire = published(make_project(evaluator))
    base = f"/desk/questionnaires/{questionnaire.id}"
    logged_in.post(f"{base}/channels", data={"name": "服务大厅"})
    logged_in.post(f"{base}/units", data={"units": "丰泽公安分局\n泉州市公安局", "uses": 3})
    db.session.expire_all()
    links = [c.token for c in questionnaire.channels] + [u.code for u in questionnaire.unit_codes]
    assert len(links) >= 3 and all(NEW_STYLE.fullmatch(token) for token in links), links


def test_a_link_typed_in_capitals_or_with_look_alikes_opens_its_page(client, evaluator):
    questionnaire = published(make_project(evaluator))
    questionnaire.public_token = "k0m1x3p9ta"
    channel = Channel(questionnaire=questionnaire, code="c1", name="服务大厅", token="h011w4y0rd")
    unit = UnitCode(questionnaire=questionnaire, unit_name="某局", max_uses=3, code="vn1tc0de00")
    db.session.add_all([channel, unit])
    db.session.commit()
    for typed, own in (
        ("/s/KOMLX3P9TA", "/s/k0m1x3p9ta"),
        (f"/s/{channel.token.upper().replace('0', 'O')}", f"/s/{channel.token}"),
        ("/u/VNITCODEOO", "/u/vn1tc0de00"),
        ("/s/K0M1X3P9TA?lang=en", "/s/k0m1x3p9ta?lang=en"),
    ):
        moved = client.get(typed)
        assert moved.status_code == 301 and moved.headers["Location"] == own, typed
        assert client.get(own).status_code == 200
    posted = client.post("/s/KOMLX3P9TA", data=SEED_004_ANSWERS)
    assert posted.status_code == 303, "a form posted to a typed address is stored too"
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 1
    assert client.get("/s/KOMLX3P9TB").status_code == 404


def test_old_tokens_keep_working_exactly_as_they_are(client, evaluator):
    questionnaire = published(make_project(evaluator))
    questionnaire.public_token = "_AbcD-l0"
    unit = UnitCode(questionnaire=questionnaire, unit_name="某局", max_uses=3, code="Old_Unit")
    db.session.add(unit)
    db.session.commit()
    assert client.get("/s/_AbcD-l0").status_code == 200
    assert client.get("/u/Old_Unit").status_code == 200
    assert client.get("/s/_abcd-l0").status_code == 404, "old tokens stay case-sensitive: two may differ by case"
    assert client.get("/u/old_unit").status_code == 404

"""What a saved opportunity and a new payment announce, and that their
subscribers run inside the change's transaction."""

import pytest
from django.db import connection

from crm.models import Opportunity, Payment, Stage, StageChange, rollups
from crm.models.events import opportunity_saved, payment_recorded


@pytest.fixture
def heard():
    calls = []

    def listen(sender, **kwargs):
        calls.append({**kwargs, "in_transaction": connection.in_atomic_block})

    opportunity_saved.connect(listen, dispatch_uid="tests.heard")
    payment_recorded.connect(listen, dispatch_uid="tests.heard.payment")
    yield calls
    opportunity_saved.disconnect(dispatch_uid="tests.heard")
    payment_recorded.disconnect(dispatch_uid="tests.heard.payment")


def test_a_stage_change_is_announced_with_what_was_and_what_is(make_opportunity, heard, admin_user):
    deal = make_opportunity(stage=Stage.PROPOSAL)
    heard.clear()
    deal.move_to_stage(Stage.WON, by=admin_user)
    (call,) = heard
    assert call["opportunity"] is deal and call["in_transaction"]
    assert (call["before"].stage, call["after"].stage) == (Stage.PROPOSAL, Stage.WON)
    assert call["stage_changed"] and call["from_stage"] == Stage.PROPOSAL
    assert call["changed_by"] == admin_user


def test_a_new_opportunity_has_no_before_and_an_edit_no_stage_change(make_opportunity, heard):
    deal = make_opportunity()
    assert heard[-1]["before"] is None and heard[-1]["from_stage"] == ""
    deal.title = "Kripik singkong"
    deal.save()
    assert heard[-1]["before"] is not None and not heard[-1]["stage_changed"]


def test_a_new_payment_is_announced_once(make_opportunity, heard):
    deal = make_opportunity(stage=Stage.WON)
    heard.clear()
    payment = Payment.objects.create(opportunity=deal, amount=100_000)
    assert [call["payment"] for call in heard] == [payment]
    payment.note = "DP"
    payment.save()
    assert len(heard) == 1


def test_a_failing_subscriber_rolls_the_save_back(make_opportunity):
    deal = make_opportunity(stage=Stage.PROPOSAL)

    def fail(sender, **kwargs):
        raise RuntimeError("subscriber failed")

    opportunity_saved.connect(fail, dispatch_uid="tests.fail")
    try:
        with pytest.raises(RuntimeError):
            deal.move_to_stage(Stage.NEGOTIATION)
    finally:
        opportunity_saved.disconnect(dispatch_uid="tests.fail")
    assert Opportunity.objects.get(pk=deal.pk).stage == Stage.PROPOSAL
    assert list(StageChange.objects.filter(opportunity=deal).values_list("to_stage", flat=True)) \
        == [Stage.PROPOSAL]
    assert rollups.differences() == []

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devinbox.store import Channel, Message, MessageStore, new_message


def test_newest_first_and_exact_filter() -> None:
    store = MessageStore()
    store.add(new_message("sms", to="+14155550100", body="first"))
    store.add(new_message("sms", to="+14155550101", body="other"))
    store.add(new_message("sms", to="+14155550100", body="second"))

    assert [m.body for m in store.newest_first()] == ["second", "other", "first"]
    assert [m.body for m in store.newest_first("+14155550100")] == ["second", "first"]
    assert store.newest_first("+1415555010") == []


def test_email_filter_ignores_case_but_sms_does_not_need_it() -> None:
    store = MessageStore()
    store.add(new_message("email", to="Ada@Example.COM", body="hi", sender="x@y.z", subject="s"))
    assert len(store.newest_first("ada@example.com")) == 1
    assert store.newest_first("ada@example.co") == []


def test_capacity_forgets_the_oldest() -> None:
    store = MessageStore(capacity=3)
    for index in range(5):
        store.add(new_message("sms", to="+14155550100", body=str(index)))
    assert len(store) == 3
    assert [m.body for m in store.newest_first()] == ["4", "3", "2"]


def test_clear_and_bad_capacity() -> None:
    store = MessageStore()
    store.add(new_message("sms", to="+1", body="x"))
    store.clear()
    assert store.newest_first() == []
    with pytest.raises(ValueError, match="at least 1"):
        MessageStore(capacity=0)


def test_json_shape() -> None:
    message = new_message("sms", to="+14155550100", body="hello")
    shape = message.as_json()
    assert list(shape) == ["id", "channel", "to", "from", "subject", "body", "received_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(shape["received_at"]))


def test_a_repeated_delivery_key_for_the_same_destination_is_kept_once() -> None:
    store = MessageStore()
    first = store.add(new_message("sms", to="+14155550100", body="a", delivery_key="VE1.1-0"))
    again = store.add(new_message("sms", to="+14155550100", body="a", delivery_key="VE1.1-0"))
    other_to = store.add(new_message("sms", to="+14155550101", body="a", delivery_key="VE1.1-0"))
    unkeyed = [store.add(new_message("sms", to="+14155550100", body="a")) for _ in range(2)]
    assert again is first
    assert [m.id for m in store.newest_first()] == [unkeyed[1].id, unkeyed[0].id, other_to.id,
                                                    first.id]


DESTINATION_LIST: list[tuple[Channel, str]] = [
    ("sms", "+14155550100"), ("sms", "+14155550101"), ("email", "ada@example.com"),
    ("email", "Ada@Example.COM")]
DESTINATIONS = st.sampled_from(DESTINATION_LIST)


@settings(max_examples=300, deadline=None)
@given(capacity=st.integers(1, 5),
       adds=st.lists(st.tuples(DESTINATIONS, st.sampled_from([None, "k1", "k2"])), max_size=30))
def test_indexes_agree_with_scanning_every_message(
    capacity: int, adds: list[tuple[tuple[Channel, str], str | None]]
) -> None:
    """The indexed store answers as a plain scan of the last `capacity` messages would."""
    store = MessageStore(capacity=capacity)
    kept: list[Message] = []  # the model: oldest first
    for (channel, to), key in adds:
        message = new_message(channel, to=to, body="b", delivery_key=key)
        repeat = next((m for m in kept if key is not None and m.delivery_key == key
                       and m.to == to), None)
        assert store.add(message) is (repeat or message)
        if repeat is None:
            kept = [*kept, message][-capacity:]
        assert [m.id for m in store.newest_first()] == [m.id for m in reversed(kept)]
        for _, destination in DESTINATION_LIST:
            assert [m.id for m in store.newest_first(destination)] == [
                m.id for m in reversed(kept) if m.is_for(destination)]

"""The state document's member texts: joined, they are exactly the whole document's stored
text and RFC 8785 text, after any member is replaced or added (in a dict's order)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledgerflow.engine.model.state_texts import StateTexts
from ledgerflow.ledger import canonical, values

scalars = (st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())
docs = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)
states = st.dictionaries(st.text(max_size=6), docs, max_size=6)


@given(states, st.text(max_size=6), docs)
def test_member_texts_join_to_the_whole_documents_texts(
        state: dict[str, Any], key: str, value: Any) -> None:
    texts = StateTexts.of(state)
    assert texts.stored_text() == values.encode(state)
    assert texts.canonical_text() == canonical.canonical_text(state)
    new_state = {**state, key: value}
    changed = texts.with_member(key, values.encode(value), canonical.canonical_text(value))
    assert changed.stored_text() == values.encode(new_state)
    assert values.decode(changed.stored_text()) == new_state
    assert list(values.decode(changed.stored_text())) == list(new_state)  # the same order
    assert changed.canonical_text() == canonical.canonical_text(new_state)

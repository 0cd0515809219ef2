"""Fixtures of the people page tests, on top of the shared personas."""

import pytest

from campagne.accounts.scopes import scope_for
from campagne.people import actions
from campagne.people.models import Channel


@pytest.fixture
def digne_with_history(person_digne, hq_admin):
    """Jeanne Martin with a tag, an e-mail consent and an edit on her timeline."""
    scope = scope_for(hq_admin)
    actions.add_tag(scope=scope, person=person_digne, name="tractage")
    actions.set_consent(
        scope=scope,
        person=person_digne,
        channel=Channel.EMAIL,
        granted=True,
        source="formulaire site",
        proof="case cochée le 12 mars",
    )
    actions.update_person(scope=scope, person=person_digne, status="sympathisant")
    return person_digne

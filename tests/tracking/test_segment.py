"""Segment criterion "engaged in the last N days": human click or open, counted in SQL."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campagne.accounts.scopes import scope_for
from campagne.segments.definition import Definition
from campagne.segments.models import members
from campagne.tracking.models import Engagement


def test_engaged_in_the_last_days(hq_admin, person_digne, person_manosque, person_gap):
    now = timezone.now()
    Engagement.objects.create(person=person_digne, last_click_at=now - timedelta(days=10))
    Engagement.objects.create(person=person_manosque, last_human_open_at=now - timedelta(days=40))
    Engagement.objects.create(person=person_gap, mailings_received=3)  # received, never engaged
    scope = scope_for(hq_admin)

    def count(days):
        definition = Definition.model_validate({"engaged_days": days})
        with CaptureQueriesContext(connection) as queries:
            result = members(definition, scope).count()
        assert len(queries) == 1  # one COUNT with an EXISTS, no Python-side filtering
        return result

    assert count(30) == 1
    assert count(90) == 2
    assert count(5) == 0
    assert Definition.model_validate({"engaged_days": 90}).to_json() == {"engaged_days": 90}

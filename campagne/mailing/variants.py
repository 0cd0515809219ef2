"""Which subject (A or B) each recipient of an A/B-tested mailing gets.

The send path reads recipient rows without their ``variant`` column, so the skeleton asks
this lookup, built once per send task: the two halves of the sample while the test runs
(a few ids, the sample being at most half the audience), or only the loser's half once the
winner is known (every other row gets the winner).
"""

from __future__ import annotations

from campagne.mailing.models import Mailing, Recipient


class SubjectVariants:
    def __init__(self, mailing: Mailing) -> None:
        self.mailing_id = mailing.pk
        self.winner = mailing.ab_winner
        rows = Recipient.objects.filter(mailing_id=mailing.pk).exclude(status=Recipient.Status.HELD)
        letters = [v for v in "AB" if v != self.winner] if self.winner else ["A", "B"]
        self.ids = {
            letter: frozenset(rows.filter(variant=letter).values_list("id", flat=True))
            for letter in letters
        }

    def __call__(self, recipient_id: int) -> str:
        for letter, ids in self.ids.items():
            if recipient_id in ids:
                return letter
        if not self.winner:
            # A row released after this lookup was built: the winner is chosen by then
            # (in the same transaction as the release). Idempotent, so thread-safe enough.
            winner = Mailing.objects.filter(pk=self.mailing_id).values_list("ab_winner", flat=True)
            self.winner = winner.first() or "A"
        return self.winner

"""Per-message tracking values: the hook that ``mailing.message.Skeleton`` calls.

``MessageTracker`` is made once per mailing and send process: it records the mailing's
links in ``Link`` (idempotent, several workers may do it at once) and then, for each
message, makes the signed redirect and pixel URLs that fill the ``_link<N>`` and
``_open`` slots of the compiled body. No database access per message.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from campagne.mailing.rendering import LINK_FIELD, OPEN_PIXEL
from campagne.tracking.models import Link, MailingTracking
from campagne.tracking.tokens import (
    MAC_BYTES,
    MAX_MAILING_ID,
    MAX_RECIPIENT_ID,
    OPEN,
    payload_prefix,
    signing_key,
)

if TYPE_CHECKING:
    from campagne.mailing.models import Mailing


def open_pixel_enabled(mailing: Mailing) -> bool:
    """Whether this mailing's messages carry the open pixel (the row is made if missing)."""
    if mailing.pk is None:
        return False
    tracking, _created = MailingTracking.objects.get_or_create(mailing_id=mailing.pk)
    return tracking.open_pixel


def register_links(mailing_id: int, links: tuple[str, ...]) -> None:
    """Store the mailing's links by number; refuse if they differ from those stored.

    Messages already sent point at the stored numbers: a body whose links changed after
    sending started would send people to the wrong pages, so it stops the send instead.
    """
    Link.objects.bulk_create(
        [Link(mailing_id=mailing_id, number=n, url=url) for n, url in enumerate(links, 1)],
        ignore_conflicts=True,
    )
    stored = dict(Link.objects.filter(mailing_id=mailing_id).values_list("number", "url"))
    if any(stored.get(n) != url for n, url in enumerate(links, 1)):
        raise ValueError(f"The links of mailing {mailing_id} changed after sending started.")


class MessageTracker:
    """Makes the tracking URLs of each message of one mailing."""

    def __init__(self, mailing_id: int, links: tuple[str, ...], *, open_pixel: bool) -> None:
        if not 0 < mailing_id <= MAX_MAILING_ID:
            raise ValueError(f"Mailing id {mailing_id} cannot be tracked.")
        base = settings.CAMPAGNE_BASE_URL
        click = reverse("tracking:click", args=["T"]).split("T/")[0]
        pixel = reverse("tracking:open", args=["T"]).split("T.gif")[0]
        self.key = signing_key()
        self.prefix = payload_prefix(mailing_id)
        # (slot field, link number as 2 bytes, URL before the token, URL after it)
        self.slots = [
            (LINK_FIELD.format(n), n.to_bytes(2, "big"), base + click, "/")
            for n in range(1, len(links) + 1)
        ]
        if open_pixel:
            self.slots.append((OPEN_PIXEL, OPEN.to_bytes(2, "big"), base + pixel, ".gif"))

    @classmethod
    def for_mailing(
        cls, mailing: Mailing, links: tuple[str, ...], *, open_pixel: bool
    ) -> MessageTracker:
        """The tracker of a mailing being sent. A draft's messages are test sends to the
        team: their links stay as written and nothing is stored."""
        if mailing.status == mailing.Status.DRAFT:
            return cls(mailing.pk, (), open_pixel=False)
        register_links(mailing.pk, links)
        return cls(mailing.pk, links, open_pixel=open_pixel)

    def values(self, recipient_id: int) -> dict[str, str]:
        """The slot values of one recipient's message ({} for test sends: no recipient)."""
        if not 0 < recipient_id <= MAX_RECIPIENT_ID:
            return {}
        head = self.prefix + recipient_id.to_bytes(6, "big")
        key, blake2b, encode = self.key, hashlib.blake2b, base64.urlsafe_b64encode
        values = {}
        for field, number, before, after in self.slots:
            payload = head + number
            signature = blake2b(payload, key=key, digest_size=MAC_BYTES).digest()
            values[field] = before + encode(payload + signature).decode() + after
        return values

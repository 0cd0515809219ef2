"""Tracked links: every message gets its own signed links; redirects go only to stored
links; a tampered token is a 404 that records nothing."""

from campagne.mailing.actions import send_test, system_scope
from campagne.mailing.rendering import compile_mailing
from campagne.tracking import recorder
from campagne.tracking.models import Hit, Link
from campagne.tracking.tokens import make_token, read_token
from tests.tracking.conftest import message_html, path, send_to, tracked_urls


def spooled_lines(settings) -> int:
    directory = settings.TRACKING_SPOOL_DIR
    if not directory.exists():
        return 0
    return sum(len(p.read_bytes().splitlines()) for p in directory.glob("*.hits"))


def test_links_are_replaced_by_signed_redirects_per_recipient(mailing, person_digne, person_gap):
    first, second = send_to(mailing, [person_digne, person_gap])
    html = message_html(mailing, first)
    assert "https://campagne.test/programme" not in html
    assert "https://campagne.test/meeting" not in html
    clicks, pixel = tracked_urls(mailing, first)
    # Three links in the body, two distinct targets: numbers 1, 2, 1.
    targets = [read_token(path(url).split("/")[3]) for url in clicks]
    assert [(t.mailing_id, t.recipient_id, t.link_number) for t in targets] == [
        (mailing.pk, first.pk, 1),
        (mailing.pk, first.pk, 2),
        (mailing.pk, first.pk, 1),
    ]
    assert list(Link.objects.filter(mailing=mailing).values_list("number", "url")) == [
        (1, "https://campagne.test/programme?a=1&b=2"),
        (2, "https://campagne.test/meeting"),
    ]
    assert read_token(path(pixel).split("/")[3].removesuffix(".gif")) == (mailing.pk, first.pk, 0)
    assert tracked_urls(mailing, second)[0][0] != clicks[0]
    # The unsubscribe link is not tracked.
    assert 'href="u"' in html


def test_text_part_links_are_tracked_too(mailing, person_digne):
    (recipient,) = send_to(mailing, [person_digne])
    from campagne.mailing.message import Skeleton

    skeleton = Skeleton(mailing)
    values = {"_origin": "x", "_unsubscribe": "u", **skeleton.tracker.values(recipient.pk)}
    text = skeleton.compiled.render(values)[2]
    assert "https://campagne.test/meeting" not in text
    assert text.count("http://testserver/m/c/") == 3


def test_preview_and_test_sends_keep_the_original_links(mailing):
    _subject, html, _text = compile_mailing(mailing).render({})
    assert 'href="https://campagne.test/programme?a=1&amp;b=2"' in html
    assert "/m/o/" not in html
    from campagne.mailing.message import Skeleton

    skeleton = Skeleton(mailing)  # a draft: test sends only
    assert skeleton.tracker.values(-1) == {}
    assert Link.objects.count() == 0


def test_click_redirects_to_the_stored_link(client, mailing, person_digne, settings):
    (recipient,) = send_to(mailing, [person_digne])
    clicks, _pixel = tracked_urls(mailing, recipient)
    response = client.get(path(clicks[1]))
    assert response.status_code == 302
    assert response["Location"] == "https://campagne.test/meeting"
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert spooled_lines(settings) == 1


def test_the_target_comes_from_the_link_table_never_from_the_url(
    client, mailing, person_digne, settings
):
    (recipient,) = send_to(mailing, [person_digne])
    clicks, _pixel = tracked_urls(mailing, recipient)
    Link.objects.filter(mailing=mailing, number=1).update(url="https://campagne.test/autre")
    response = client.get(path(clicks[0]) + "?next=https://evil.test/")
    assert response["Location"] == "https://campagne.test/autre"


def test_tampered_tokens_are_404_and_record_nothing(client, mailing, person_digne, settings):
    (recipient,) = send_to(mailing, [person_digne])
    clicks, pixel = tracked_urls(mailing, recipient)
    token = path(clicks[0]).split("/")[3]
    # Another recipient id with the old signature; a flipped signature character.
    forged = make_token(mailing.pk, recipient.pk + 1, 1)[:16] + token[16:]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, flipped, token[:-1], token + "A", "x" * 28, "évidemment-pas-un-jeton-ok"):
        assert client.get(f"/m/c/{bad}/").status_code == 404, bad
        assert client.get(f"/m/o/{bad}.gif").status_code == 404, bad
    # A pixel token is not a link, a link token is not a pixel.
    pixel_token = path(pixel).split("/")[3].removesuffix(".gif")
    assert client.get(f"/m/c/{pixel_token}/").status_code == 404
    assert client.get(f"/m/o/{token}.gif").status_code == 404
    # A signed token of a link number the mailing does not have.
    assert client.get(f"/m/c/{make_token(mailing.pk, recipient.pk, 9)}/").status_code == 404
    assert spooled_lines(settings) == 0
    recorder.flush_all()
    assert Hit.objects.count() == 0


def test_open_pixel_is_an_uncacheable_gif(client, mailing, person_digne, settings):
    (recipient,) = send_to(mailing, [person_digne])
    _clicks, pixel = tracked_urls(mailing, recipient)
    response = client.get(path(pixel))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response.content.startswith(b"GIF89a") and len(response.content) == 43
    assert "no-store" in response["Cache-Control"]
    assert spooled_lines(settings) == 1


def test_pixel_can_be_turned_off_per_mailing(mailing, person_digne):
    from campagne.tracking.models import MailingTracking

    MailingTracking.objects.create(mailing=mailing, open_pixel=False)
    (recipient,) = send_to(mailing, [person_digne])
    assert "/m/o/" not in message_html(mailing, recipient)


def test_test_sends_are_not_tracked(mailing, smtp_server):
    send_test(scope=system_scope(), mailing=mailing, addresses=["qg@campagne.test"])
    (received,) = smtp_server.handler.received
    html = received.message.get_body(("html",)).get_content()
    assert 'href="https://campagne.test/meeting"' in html
    assert "/m/c/" not in html and "/m/o/" not in html
    assert Link.objects.count() == 0

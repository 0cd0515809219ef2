"""Is an open or a click a person's, or a machine's?

Machines fetch images and follow links without anyone reading: Apple Mail Privacy
Protection preloads every image through Apple's proxies, Gmail and Yahoo fetch images
through their own proxies, and corporate security gateways (Microsoft Defender Safe
Links, Mimecast, Proofpoint, Barracuda…) open messages and follow their links as they
arrive. Their hits are kept but flagged ``machine`` and left out of the human rates.

Three signs, checked in this order: the hit came within TRACKING_MACHINE_SECONDS of the
message's delivery (nobody reads that fast); the user agent is a known proxy or scanner
(or empty); the address is in a network of a known proxy or scanner. The lists below
are a starting point: TRACKING_MACHINE_AGENTS and TRACKING_MACHINE_NETWORKS add to them.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from functools import lru_cache

from django.conf import settings

# Lower-case substrings of user agents, and the label stored with the hit. Outlook's own
# "Microsoft Outlook"/"ms-office" agents are people reading, so they are not listed.
AGENTS = (
    ("googleimageproxy", "google-proxy"),
    ("yahoomailproxy", "yahoo-proxy"),
    ("bingpreview", "microsoft-scan"),
    ("safelinks", "microsoft-scan"),
    ("barracuda", "barracuda"),
    ("mimecast", "mimecast"),
    ("proofpoint", "proofpoint"),
    ("symantec", "symantec"),
    ("messagelabs", "symantec"),
    ("trendmicro", "trendmicro"),
    ("forcepoint", "forcepoint"),
    ("sophos", "sophos"),
    ("fortiguard", "fortinet"),
    ("cisco", "cisco"),
    ("headlesschrome", "headless"),
    ("python-", "script"),
    ("curl/", "script"),
    ("wget/", "script"),
    ("go-http-client", "script"),
    ("okhttp", "script"),
    ("java/", "script"),
    ("bot", "bot"),
    ("spider", "bot"),
    ("crawler", "bot"),
    ("scanner", "scanner"),
)

# Networks of proxies and scanners (label, CIDR).
NETWORKS = (
    ("apple-proxy", "17.0.0.0/8"),
    ("google-proxy", "66.102.0.0/20"),
    ("google-proxy", "66.249.80.0/20"),
    ("google-proxy", "64.233.160.0/19"),
    ("google-proxy", "72.14.192.0/18"),
    ("google-proxy", "74.125.0.0/16"),
    ("microsoft-scan", "40.92.0.0/15"),
    ("microsoft-scan", "40.107.0.0/16"),
    ("microsoft-scan", "52.100.0.0/14"),
    ("microsoft-scan", "104.47.0.0/17"),
    ("mimecast", "205.139.110.0/24"),
    ("mimecast", "207.211.30.0/24"),
    ("mimecast", "216.205.24.0/24"),
    ("proofpoint", "67.231.144.0/20"),
    ("proofpoint", "148.163.128.0/19"),
    ("barracuda", "64.235.144.0/20"),
    ("barracuda", "209.222.80.0/21"),
)

# Apple's image proxy sends exactly this and nothing more.
APPLE_PROXY_AGENT = "mozilla/5.0"


@lru_cache(maxsize=1)
def _networks(extra: tuple[str, ...]) -> tuple[tuple[str, ipaddress._BaseNetwork], ...]:
    pairs = [*NETWORKS, *(("listed", cidr) for cidr in extra)]
    return tuple((label, ipaddress.ip_network(cidr, strict=False)) for label, cidr in pairs)


@lru_cache(maxsize=4096)
def agent_label(user_agent: str, extra: tuple[str, ...] = ()) -> str:
    """The label of a machine user agent, or "" for what looks like a mail client."""
    agent = user_agent.strip().lower()
    if not agent:
        return "no-agent"
    if agent == APPLE_PROXY_AGENT:
        return "apple-proxy"
    for needle, label in AGENTS:
        if needle in agent:
            return label
    return next((f"listed:{needle}"[:30] for needle in extra if needle.lower() in agent), "")


@lru_cache(maxsize=65536)
def network_label(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    extra = tuple(settings.TRACKING_MACHINE_NETWORKS)
    return next((label for label, net in _networks(extra) if ip in net), "")


def classify(
    *, user_agent: str, address: str, at: datetime, sent_at: datetime | None
) -> tuple[bool, str]:
    """(machine?, why) for one hit."""
    # No sent_at yet: the hit came before the server's "250" was even recorded.
    if sent_at is None or (at - sent_at).total_seconds() < settings.TRACKING_MACHINE_SECONDS:
        return True, "fast"
    label = agent_label(user_agent, tuple(settings.TRACKING_MACHINE_AGENTS))
    if not label:
        label = network_label(address)
    return bool(label), label

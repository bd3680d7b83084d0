"""What a person recognises a session by: "Firefox on Linux", read from its User-Agent.

A handful of rules, in the order browsers' tokens require (Edge and Opera also say
"Chrome", Chrome also says "Safari"); anything else is named by its first product token
("curl"), and an empty agent is "Unknown device". Good enough to tell one's own devices
apart, which is all the session list asks of it; never used to decide anything.
"""

from __future__ import annotations

import re

_BROWSERS = (  # (what the agent says, what a person calls it)
    (r"\bEdg(?:e|A|iOS)?/", "Edge"),
    (r"\bOPR/|\bOpera\b", "Opera"),
    (r"\bSamsungBrowser/", "Samsung Internet"),
    (r"\bYaBrowser/", "Yandex Browser"),
    (r"\bVivaldi/", "Vivaldi"),
    (r"\bFirefox/|\bFxiOS/", "Firefox"),
    (r"\bCriOS/|\bChrome/|\bHeadlessChrome/", "Chrome"),
    (r"\bChromium/", "Chromium"),
    (r"\bVersion/[\d.]+.*\bSafari/|\bMobile/\w+\s*$", "Safari"),
    (r"\bMSIE |\bTrident/", "Internet Explorer"),
)
_SYSTEMS = (
    (r"\biPhone\b", "iPhone"),
    (r"\biPad\b", "iPad"),
    (r"\bAndroid\b", "Android"),
    (r"\bCrOS\b", "ChromeOS"),
    (r"\bWindows Phone\b", "Windows Phone"),
    (r"\bWindows\b", "Windows"),
    (r"\bMac OS X\b|\bMacintosh\b", "macOS"),
    (r"\bFreeBSD\b", "FreeBSD"),
    (r"\bLinux\b|\bX11\b", "Linux"),
)
_FIRST_PRODUCT = re.compile(r"\s*([A-Za-z][\w.+-]*)")


def _first(rules: tuple[tuple[str, str], ...], user_agent: str) -> str | None:
    return next((name for pattern, name in rules if re.search(pattern, user_agent)), None)


def describe(user_agent: str) -> str:
    """ "Browser on System", or as much of it as the agent tells."""
    browser = _first(_BROWSERS, user_agent)
    system = _first(_SYSTEMS, user_agent)
    if browser is None:
        product = _FIRST_PRODUCT.match(user_agent)
        if product is None:
            return "Unknown device" if system is None else f"Unknown browser on {system}"
        browser = product.group(1)
        if browser == "Mozilla":  # says nothing by itself
            browser = "Unknown browser"
    return browser if system is None else f"{browser} on {system}"

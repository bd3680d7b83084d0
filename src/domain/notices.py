"""Security notices by email: the password changed or reset, the address changed, a log-in from a
browser or client the account had not been seen on."""

from __future__ import annotations

import ipaddress
from functools import partial

from coatcheck.domain.letters import Letter, LetterKind, to_account
from coatcheck.domain.mail_throttle import NOTICES, MailThrottle
from coatcheck.domain.model import ClientInfo, Email, EmailPolicy, User
from coatcheck.domain.ports import Clock, KnownDevices, Outbox
from coatcheck.domain.tickets import TicketKey

IPV4_PREFIX = 24
IPV6_PREFIX = 48


def address_prefix(address: str) -> str:
    """The network a client address belongs to: addresses change within one more often
    than a device moves to another."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an IP address: taken as it is
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def device_fingerprint(key: TicketKey, client: ClientInfo) -> str:
    """A device, by its user agent and address prefix, keyed so that a store of them says
    nothing readable about anyone."""
    return key.mac(f"device\n{client.user_agent}\n{address_prefix(client.address)}")[:32]


class Notices:
    """Posts the notices; each is a letter to the account's address, sent after the answer."""

    def __init__(
        self,
        outbox: Outbox,
        devices: KnownDevices,
        key: TicketKey,
        clock: Clock,
        mail_throttle: MailThrottle,
        email_policy: EmailPolicy = EmailPolicy(),  # noqa: B008 -- frozen, so shared safely
    ) -> None:
        self._outbox = outbox
        self._devices = devices
        self._key = key
        self._clock = clock
        self._mail_throttle = mail_throttle
        self._email_policy = email_policy

    def _letter(
        self,
        kind: LetterKind,
        user: User,
        client: ClientInfo | None,
        new_email: Email | None = None,
    ) -> Letter | None:
        """None for an address that is not one mailbox (an old row's), or of a domain this
        deployment does not take: it is never written to."""
        if not self._email_policy.admits(user.email):
            return None
        now = self._clock.now()
        return to_account(kind, user, now, new_email=new_email, client=client)

    def _post(self, user: User, letter: Letter | None) -> None:
        """To a verified address, at once: its owner's own actions, which no stranger can
        hold back. To one its account has not verified (whoever registered it may be using
        a stranger's), within one spacing for all notices, as the mail limit counts: else
        changing the password again and again would write to that stranger without limit."""
        if letter is None:
            return
        if user.email_verified:
            self._outbox.post(letter)
        else:
            self._outbox.post_later(partial(self._if_spaced, letter))

    async def _if_spaced(self, letter: Letter) -> Letter | None:
        return letter if await self._mail_throttle.letter_may_go(NOTICES, letter.to) else None

    def password_changed(self, user: User, client: ClientInfo) -> None:
        self._post(user, self._letter(LetterKind.PASSWORD_CHANGED, user, client))

    def password_reset(self, user: User, client: ClientInfo) -> None:
        """The password was set anew by an emailed link, not changed with the old one."""
        self._post(user, self._letter(LetterKind.PASSWORD_RESET_DONE, user, client))

    def email_changed(self, user: User, new_email: Email, client: ClientInfo) -> None:
        """To the old address (`user` as it was)."""
        self._post(user, self._letter(LetterKind.EMAIL_CHANGED, user, client, new_email))

    def factor_changed(self, kind: LetterKind, user: User, client: ClientInfo | None) -> None:
        """A second factor added or removed (TOTP_ADDED, PASSKEY_REMOVED, FACTORS_RESET...)."""
        self._post(user, self._letter(kind, user, client))

    def recovery_code_used(self, user: User) -> None:
        self.factor_changed(LetterKind.RECOVERY_CODE_USED, user, None)

    def seen(self, user: User, client: ClientInfo) -> None:
        """The user logged in from this client: a notice if the account had been seen on
        other devices but not this one, and its address is verified (the device is known
        from now on either way). Worked out after the answer."""
        self._outbox.post_later(partial(self._new_device, user, client))

    async def _new_device(self, user: User, client: ClientInfo) -> Letter | None:
        fingerprint = device_fingerprint(self._key, client)
        if not await self._devices.remember(user.id, fingerprint, self._clock.now()):
            return None
        if not user.email_verified:
            # Whoever holds the password logs in from a "new device" at will (another
            # User-Agent): to an address nobody has proved theirs, that would be letters
            # without limit to a stranger's inbox, telling them the client's address.
            return None
        return self._letter(LetterKind.NEW_DEVICE, user, client)

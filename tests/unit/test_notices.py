"""Security notices: the password changed, a log-in from a device not seen before."""

from __future__ import annotations

from coatcheck.domain.letters import LetterKind
from coatcheck.domain.model import ClientInfo, Email, NewPassword, Password
from coatcheck.domain.notices import address_prefix, device_fingerprint
from coatcheck.domain.tickets import TicketKey
from tests.unit.conftest import CLIENT, PASSWORD, Domain
from tests.unit.mailbag import Mailbag

PHONE = ClientInfo("Phone/1.0", "198.51.100.20")


async def kinds(outbox: Mailbag) -> list[LetterKind]:
    await outbox.settle()
    return [letter.kind for letter in outbox.letters]


async def test_a_log_in_from_a_new_device_is_told_once(app: Domain, outbox: Mailbag) -> None:
    me = await app.sign_up()
    await app.users.verify_email(me.user.id, me.user.email)
    await app.logged_in()  # the device it registered on
    assert LetterKind.NEW_DEVICE not in await kinds(outbox)

    await app.logged_in(client=PHONE)
    await app.logged_in(client=PHONE)

    assert (await kinds(outbox)).count(LetterKind.NEW_DEVICE) == 1
    [notice] = [letter for letter in outbox.letters if letter.kind is LetterKind.NEW_DEVICE]
    assert notice.client == PHONE


async def test_log_ins_from_new_devices_tell_an_address_not_verified_nothing(
    app: Domain, outbox: Mailbag
) -> None:
    """Whoever registered a stranger's address holds the password: each User-Agent of theirs
    would be a new device, and a letter to that inbox with the client's address."""
    me = await app.sign_up()
    for number in range(5):
        await app.logged_in(client=ClientInfo(f"Flood/{number}", "198.51.100.20"))
    assert LetterKind.NEW_DEVICE not in await kinds(outbox)

    await app.users.verify_email(me.user.id, me.user.email)
    await app.logged_in(client=PHONE)
    await app.logged_in(client=ClientInfo("Flood/0", "198.51.100.20"))  # known already

    await outbox.settle()
    notices = [letter for letter in outbox.letters if letter.kind is LetterKind.NEW_DEVICE]
    assert [notice.client for notice in notices] == [PHONE]


async def test_an_address_in_the_same_network_is_the_same_device(
    app: Domain, outbox: Mailbag
) -> None:
    await app.sign_up()
    nearby = ClientInfo(CLIENT.user_agent, "203.0.113.200")

    await app.logged_in(client=nearby)

    assert LetterKind.NEW_DEVICE not in await kinds(outbox)


async def test_a_user_first_seen_at_log_in_is_not_told(app: Domain, outbox: Mailbag) -> None:
    await app.add_user()  # as before this release: no device known
    await app.logged_in(client=PHONE)
    assert LetterKind.NEW_DEVICE not in await kinds(outbox)


async def test_changing_the_password_is_told(app: Domain, outbox: Mailbag) -> None:
    me = await app.sign_up()
    caller = await app.authenticate(me.ticket)

    await app.change_password(caller, Password(PASSWORD), NewPassword("a new passphrase"), CLIENT)

    await outbox.settle()
    [notice] = [sent for sent in outbox.letters if sent.kind is LetterKind.PASSWORD_CHANGED]
    assert notice.to == Email("ada@example.com")


def test_addresses_are_grouped_by_network_and_fingerprints_are_keyed() -> None:
    assert address_prefix("203.0.113.7") == "203.0.113.0/24"
    assert address_prefix("2001:db8:1:2::7") == "2001:db8:1::/48"
    assert address_prefix("unix") == "unix"
    one, other = TicketKey(b"k" * 32), TicketKey(b"l" * 32)
    assert device_fingerprint(one, CLIENT) != device_fingerprint(other, CLIENT)
    assert CLIENT.user_agent not in device_fingerprint(one, CLIENT)

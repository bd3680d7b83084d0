"""Users' addresses stored before the rule of one mailbox in one normal form (issue 18):
which rows a migration can move to the normal form, and which an operator must look at."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from attrs import frozen

from coatcheck.domain.errors import InvalidValue
from coatcheck.domain.model import EmailPolicy


@frozen
class Problem:
    """A row whose address is not in the normal form, and why: `not-one-mailbox` (it logs
    in, and is never sent a letter) or `collides` (its normal form is `others`' too)."""

    user_id: str
    stored: str
    kind: str
    others: tuple[str, ...] = ()


def _normal(stored: str, policy: EmailPolicy) -> str | None:
    try:
        return policy.email(stored).value
    except InvalidValue:
        return None


def survey(
    rows: Iterable[tuple[str, str]], policy: EmailPolicy | None = None
) -> tuple[list[tuple[str, str]], list[Problem]]:
    """For rows of (user id, address as stored): the (user id, normal form) renames that
    are safe (the normal form is no other row's, stored or normalised), and the problems
    left. A collision renames no one: which account keeps the address is an operator's
    call, and meanwhile each still logs in with the form it has. `policy`: the addresses
    the deployment writes to (by default the strictest: no IP-literal or .test domain)."""
    policy = policy or EmailPolicy()
    rows = list(rows)
    holders: defaultdict[str, list[str]] = defaultdict(list)
    normals: dict[str, str | None] = {}
    for user_id, stored in rows:
        normals[user_id] = normal = _normal(stored, policy)
        holders[stored.lower()].append(user_id)
        if normal is not None and normal != stored.lower():
            holders[normal].append(user_id)
    renames: list[tuple[str, str]] = []
    problems: list[Problem] = []
    for user_id, stored in rows:
        normal = normals[user_id]
        if normal is None:
            problems.append(Problem(user_id, stored, "not-one-mailbox"))
            continue
        others = tuple(other for other in holders[normal] if other != user_id)
        if others:
            if normal != stored:
                problems.append(Problem(user_id, stored, "collides", others))
        elif normal != stored:
            renames.append((user_id, normal))
    return renames, problems


def describe(problems: Sequence[Problem]) -> str:
    """The operator's list: one line a row."""
    lines = [f"{len(problems)} address(es) not in the one normal form"]
    for problem in problems:
        line = f"{problem.user_id}  {problem.kind:<15}  {problem.stored!a}"
        if problem.others:
            line += "  same address as " + ", ".join(problem.others)
        lines.append(line)
    return "\n".join(lines)

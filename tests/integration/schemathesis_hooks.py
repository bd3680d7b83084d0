"""schemathesis' hooks for its command line (SCHEMATHESIS_HOOKS), as
test_schemathesis.py runs it: what the OpenAPI document cannot say. Importing the test
module registers the `password` format; here, a fresh bearer token for every case (a
case may log out, or revoke every session) and the positive check that allows the
refusals only the service's state decides."""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from schemathesis.checks import CheckContext, Response
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.integration.test_schemathesis import (
    FUZZ_USER,
    STATEFUL_REFUSALS,
    _post,
    positive_data_acceptance_but_stateful_refusals,
)


@schemathesis.auth(refresh_interval=None)
class FreshToken:
    def get(self, case: schemathesis.Case, context: Any) -> str:
        base = os.environ["COATCHECK_BASE"]
        credentials = {"email": FUZZ_USER["email"], "password": FUZZ_USER["password"]}
        return str(_post(f"{base}/authentication/token", credentials)["token"])

    def set(self, case: schemathesis.Case, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.check
def positive_data_acceptance_unless_the_state_decides(
    ctx: CheckContext, response: Response, case: schemathesis.Case
) -> bool | None:
    """positive_data_acceptance (which the run excludes), but where a path's refusal is one
    only its state decides (an unissued token, a credential answering no challenge)."""
    if case.operation.path in STATEFUL_REFUSALS:
        return positive_data_acceptance_but_stateful_refusals(ctx, response, case)
    return positive_data_acceptance(ctx, response, case)  # type: ignore[no-any-return]

"""The policy gateway: whether an alert is released, who receives it, which claims each sees.

On submission the engine screens the alert: it asks Cedar whether the originator may
``publish`` it now; any deny holds it for review. For one alert and its possible recipients
the engine asks Cedar, in one batch, whether each partner may ``receive`` the alert; then,
in a second batch, whether each receiving partner may ``disclose`` each content claim.
Cedar denies by default and a forbid overrides every permit. The engine adds one rule of
its own, to fail closed: a request during which any policy raised an evaluation error is
denied, because Cedar skips an erroring policy and a skipped forbid would otherwise let the
request through.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cedarpy

from service.policy import entities
from service.policy.facts import AlertFacts, Decision, PartnerFacts, ScreeningDecision
from service.policy.policy_set import PolicySet
from service.protocol.errors import LiaisonError

logger = logging.getLogger("liaison.policy")

_ERRORED_POLICY = re.compile(r"policy `([^`]+)`")
# Requests per Cedar call when deciding cooperatively: Cedar holds the GIL for a whole call
# (about 40 ms for 600 requests on the benchmark machine), so a large fan-out in one call
# stalls every other request of the process; 64 requests are a few milliseconds.
COOPERATIVE_CHUNK = 64


class PolicyEvaluationError(LiaisonError):
    """Cedar refused the facts of a decision (e.g. duplicate partner ids, schema mismatch)."""


@dataclass(frozen=True)
class ClaimOutcome:
    """Whether one receiving partner sees one content claim, and which policies decided it."""

    claim: str
    disclosed: bool
    policies: tuple[str, ...]
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """A ``Decision`` with everything that led to it.

    ``receive_policies`` determined the receive answer (satisfied permits when allowed,
    satisfied forbids when denied; empty for a default deny). ``claims`` has one outcome
    per content claim when the partner receives, none otherwise. ``errors`` are Cedar's
    evaluation errors; each made its request deny.
    """

    decision: Decision
    receive_policies: tuple[str, ...]
    claims: tuple[ClaimOutcome, ...]
    errors: tuple[str, ...]


@dataclass(frozen=True)
class ScreeningExplanation:
    """A ``ScreeningDecision`` with Cedar's evaluation errors; each one held the alert."""

    decision: ScreeningDecision
    errors: tuple[str, ...]


@dataclass(frozen=True)
class _Outcome:
    allowed: bool
    policies: tuple[str, ...]
    errors: tuple[str, ...]


class PolicyEngine:
    """Decides fan-outs with one loaded ``PolicySet``; immutable, safe to share across threads.

    To reload policies, build a new engine from a new ``PolicySet`` and swap the reference.
    """

    def __init__(self, policy_set: PolicySet) -> None:
        self._policy_set = policy_set

    @property
    def policy_set(self) -> PolicySet:
        return self._policy_set

    @property
    def version(self) -> str:
        """The version of the policy set every decision of this engine is made under."""
        return self._policy_set.version

    def screen(self, alert: AlertFacts, originator: PartnerFacts) -> ScreeningDecision:
        """Whether ``alert`` is published at once (``publish``) or held for review.

        Fails closed: only an allow publishes. ``policies`` holds, sorted and unique, the ids
        that determined the answer: for a publish the permits that allowed it; for a hold the
        forbids that held it, or the policies that raised an evaluation error. A hold with
        no policy at all is Cedar's default deny: no permit allowed publishing (e.g. the
        screening permit was removed), and the alert is held all the same. ``originator``
        is the registry entry of ``alert.originator``. One Cedar call. Raises
        ``PolicyEvaluationError`` if ``originator`` is another agency or Cedar rejects
        the facts.
        """
        return self.explain_screening(alert, originator).decision

    def explain_screening(
        self, alert: AlertFacts, originator: PartnerFacts
    ) -> ScreeningExplanation:
        """Like ``screen``, with the evaluation errors behind a hold.

        Raises ``PolicyEvaluationError`` as ``screen`` does.
        """
        if originator.id != alert.originator:
            # The hold for heightened review is the originator's: never screen with another's.
            raise PolicyEvaluationError(
                f"screening {alert.originator!r}'s alert with the facts of {originator.id!r}"
            )
        store = self._entities(entities.screening_entities(alert, originator))
        (outcome,) = self._authorize(
            [entities.publish_request(originator.id, alert.alert_id)], store
        )
        return ScreeningExplanation(
            ScreeningDecision(outcome.allowed, outcome.policies), outcome.errors
        )

    def decide(self, alert: AlertFacts, partners: Sequence[PartnerFacts]) -> list[Decision]:
        """One ``Decision`` per partner, in the order given.

        A partner that does not receive has every claim redacted. ``policies`` holds, sorted
        and unique, the ids that determined the receive answer plus, for a receiver, those
        that determined each redaction. Makes at most two Cedar batch calls whatever the
        number of partners. Raises ``PolicyEvaluationError`` if Cedar rejects the facts.
        """
        return [explanation.decision for explanation in self.explain(alert, partners)]

    async def decide_cooperatively(
        self, alert: AlertFacts, partners: Sequence[PartnerFacts]
    ) -> list[Decision]:
        """``decide``, yielding to the event loop between Cedar calls of at most
        ``COOPERATIVE_CHUNK`` requests, so that a fan-out to hundreds of partners does not
        hold up the other requests of its process. Same answers and errors as ``decide``."""
        explanations: list[Explanation] = []
        for _ in self._explain_steps(alert, partners, COOPERATIVE_CHUNK, explanations):
            await asyncio.sleep(0)
        return [explanation.decision for explanation in explanations]

    def explain(self, alert: AlertFacts, partners: Sequence[PartnerFacts]) -> list[Explanation]:
        """Like ``decide``, with the per-claim outcomes and evaluation errors behind each one.

        Raises ``PolicyEvaluationError`` if Cedar rejects the facts.
        """
        explanations: list[Explanation] = []
        for _ in self._explain_steps(alert, partners, None, explanations):
            pass
        return explanations

    def _explain_steps(
        self,
        alert: AlertFacts,
        partners: Sequence[PartnerFacts],
        chunk: int | None,
        explanations: list[Explanation],
    ) -> Iterator[None]:
        """``explain`` in steps, pausing (``yield``) before each Cedar call of at most
        ``chunk`` requests (all when None); the entity store is built once and shared by
        every call. The explanations are appended to ``explanations`` at the end."""
        if not partners:
            return
        duplicates = sorted(i for i, n in Counter(p.id for p in partners).items() if n > 1)
        if duplicates:
            raise PolicyEvaluationError(f"duplicate partners: {', '.join(duplicates)}")
        claims = entities.content_claims(alert)
        store = self._entities(entities.entities(alert, partners))
        received = yield from self._authorize_in_steps(
            [entities.receive_request(p.id, alert.alert_id) for p in partners], store, chunk
        )
        receivers = [p.id for p, outcome in zip(partners, received, strict=True) if outcome.allowed]
        disclosed = yield from self._authorize_in_steps(
            [entities.disclose_request(r, c) for r in receivers for c in claims], store, chunk
        )
        per_receiver = {
            receiver: disclosed[index * len(claims) : (index + 1) * len(claims)]
            for index, receiver in enumerate(receivers)
        }
        for partner, receive in zip(partners, received, strict=True):
            outcomes = tuple(
                ClaimOutcome(claim, o.allowed, o.policies, o.errors)
                for claim, o in zip(claims, per_receiver.get(partner.id, ()), strict=False)
            )
            explanations.append(_explanation(partner.id, claims, receive, outcomes))

    def _authorize_in_steps(
        self, requests: list[dict[str, Any]], store: Any, chunk: int | None
    ) -> Generator[None, None, list[_Outcome]]:
        size = chunk or max(1, len(requests))
        outcomes: list[_Outcome] = []
        for start in range(0, len(requests), size):
            yield
            outcomes += self._authorize(requests[start : start + size], store)
        return outcomes

    def _entities(self, documents: list[dict[str, Any]]) -> Any:
        try:
            return cedarpy.Entities.from_json_str(
                json.dumps(documents), self._policy_set.cedar_schema
            )
        except ValueError as exc:
            raise PolicyEvaluationError(f"facts rejected by the policy schema: {exc}") from None

    def _authorize(self, requests: list[dict[str, Any]], store: Any) -> list[_Outcome]:
        if not requests:
            return []
        try:
            results = cedarpy.is_authorized_batch(
                requests,
                self._policy_set.cedar_policies,
                store,
                self._policy_set.cedar_schema,
            )
        except ValueError as exc:
            raise PolicyEvaluationError(f"request rejected by the policy schema: {exc}") from None
        if len(results) != len(requests):  # pragma: no cover - cedarpy contract
            raise PolicyEvaluationError("Cedar answered a different number of requests")
        return [
            self._outcome(request, result)
            for request, result in zip(requests, results, strict=True)
        ]

    def _outcome(self, request: dict[str, Any], result: Any) -> _Outcome:
        diagnostics = result.diagnostics
        errors = tuple(str(e) for e in diagnostics.errors)
        policies = self._ids(str(r) for r in diagnostics.reasons)
        if not errors:
            return _Outcome(bool(result.allowed), policies, ())
        # Fail closed: an erroring forbid is skipped by Cedar, so no error may ever allow.
        errored = self._ids(m.group(1) for e in errors for m in _ERRORED_POLICY.finditer(e))
        logger.warning(
            "policy evaluation error, request denied: %s %s on %s: policies %s",
            request["principal"]["id"],
            request["action"]["id"],
            request["resource"]["type"],
            ", ".join(errored) or "unknown",
        )
        # The permits of an allow that errored did not determine the deny; the errors did.
        determining = errored if result.allowed else tuple(sorted({*policies, *errored}))
        return _Outcome(False, determining, errors)

    def _ids(self, cedar_ids: Iterable[str]) -> tuple[str, ...]:
        ids = set()
        for cedar_id in cedar_ids:
            try:
                ids.add(self._policy_set.policy_id(cedar_id))
            except KeyError:
                ids.add(cedar_id)
        return tuple(sorted(ids))


def _explanation(
    partner: str,
    claims: tuple[str, ...],
    receive: _Outcome,
    outcomes: tuple[ClaimOutcome, ...],
) -> Explanation:
    if not receive.allowed:
        decision = Decision(partner, False, claims, receive.policies)
        return Explanation(decision, receive.policies, (), receive.errors)
    withheld = [o for o in outcomes if not o.disclosed]
    policies = {*receive.policies, *(p for o in withheld for p in o.policies)}
    decision = Decision(partner, True, tuple(o.claim for o in withheld), tuple(sorted(policies)))
    errors = (*receive.errors, *(e for o in outcomes for e in o.errors))
    return Explanation(decision, receive.policies, outcomes, errors)

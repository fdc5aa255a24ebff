"""Wire shapes of the policy gateway's endpoints (API.md "Policy")."""

from __future__ import annotations

from pydantic import BaseModel

from service.policy.engine import PolicyEngine


class PolicyOut(BaseModel):
    """One policy of the set in force: its ``@id``, its annotations and its file."""

    id: str
    annotations: dict[str, str]
    file: str


class PolicySetOut(BaseModel):
    version: str
    policies: list[PolicyOut]

    @classmethod
    def of(cls, engine: PolicyEngine) -> PolicySetOut:
        return cls(
            version=engine.version,
            policies=[
                PolicyOut(id=p.id, annotations=dict(p.annotations), file=p.file)
                for p in engine.policy_set.policies
            ],
        )


class PolicyVersionOut(BaseModel):
    """The version of the policy set now in force."""

    version: str

"""Wire shapes of the registry API. Unknown members are rejected everywhere."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.protocol.vocabulary import Role

PRINCIPAL_ID_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,62}$"
MAX_ATTRIBUTES_BYTES = 8192


class PublicJWK(BaseModel):
    """An OKP public key as a JWK, with Liaison's validity members (API.md "Principals")."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kty": "OKP",
                    "crv": "X25519",
                    "x": "qc6mx6wQ05pQfuuBgA9kN-JSGvJsmpNu-hMMTKLirX4",
                    "kid": "fr-police-enc-2",
                }
            ]
        },
    )

    kty: Literal["OKP"]
    crv: Literal["Ed25519", "X25519"]
    x: str = Field(min_length=43, max_length=43)
    kid: str | None = Field(default=None, min_length=1, max_length=128)
    use: Literal["sig", "enc"] | None = None
    alg: str | None = Field(default=None, max_length=32)
    not_before: datetime | None = None
    not_after: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_private_members(cls, data: Any) -> Any:
        if isinstance(data, dict) and "d" in data:
            raise ValueError("private key member 'd' must never be sent to the broker")
        return data

    @field_validator("not_before", "not_after")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("times must carry a UTC offset (RFC 3339)")
        return value

    @model_validator(mode="after")
    def _window(self) -> PublicJWK:
        if self.not_before and self.not_after and self.not_after <= self.not_before:
            raise ValueError("not_after must be later than not_before")
        return self

    def key_members(self) -> dict[str, str]:
        """Only the JWK members that describe the key itself."""
        return {"kty": self.kty, "crv": self.crv, "x": self.x}


class AgencyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "fr-police",
                    "name": "Police nationale",
                    "country": "FR",
                    "groups": ["eu"],
                    "roles": ["agency"],
                    "signing_keys": [
                        {
                            "kty": "OKP",
                            "crv": "Ed25519",
                            "x": "RaqzBo_i0P6WYMyhR7lXINSBp8REh1n4ssST91OSQIo",
                            "kid": "fr-police-sig-1",
                        }
                    ],
                    "encryption_keys": [
                        {
                            "kty": "OKP",
                            "crv": "X25519",
                            "x": "qc6mx6wQ05pQfuuBgA9kN-JSGvJsmpNu-hMMTKLirX4",
                            "kid": "fr-police-enc-1",
                        }
                    ],
                }
            ]
        },
    )

    id: str = Field(pattern=PRINCIPAL_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    groups: list[str] = Field(default_factory=list, max_length=64)
    roles: list[Role] = Field(min_length=1)
    attributes: dict[str, Any] = Field(default_factory=dict)
    signing_keys: list[PublicJWK] = Field(min_length=1, max_length=16)
    encryption_keys: list[PublicJWK] = Field(default_factory=list, max_length=16)

    @field_validator("groups")
    @classmethod
    def _group_ids(cls, groups: list[str]) -> list[str]:
        for group in groups:
            if not re.fullmatch(PRINCIPAL_ID_PATTERN, group):
                raise ValueError(f"group id {group!r} does not match {PRINCIPAL_ID_PATTERN}")
        if len(set(groups)) != len(groups):
            raise ValueError("groups must not repeat")
        return groups

    @field_validator("roles")
    @classmethod
    def _unique_roles(cls, roles: list[Role]) -> list[Role]:
        if len(set(roles)) != len(roles):
            raise ValueError("roles must not repeat")
        return roles

    @field_validator("attributes")
    @classmethod
    def _small_attributes(cls, attributes: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(attributes)) > MAX_ATTRIBUTES_BYTES:
            raise ValueError(f"attributes must serialise to at most {MAX_ATTRIBUTES_BYTES} bytes")
        return attributes

    @model_validator(mode="after")
    def _key_curves(self) -> AgencyCreate:
        if any(key.crv != "Ed25519" for key in self.signing_keys):
            raise ValueError("signing_keys must be Ed25519")
        if any(key.crv != "X25519" for key in self.encryption_keys):
            raise ValueError("encryption_keys must be X25519")
        return self


class KeyRevocation(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "laptop stolen"}]}
    )

    reason: str | None = Field(default=None, max_length=500)


class Agency(BaseModel):
    """An agency as the registry shows it: public keys only, with validity and revocation."""

    id: str
    name: str
    country: str
    groups: list[str]
    roles: list[str]
    attributes: dict[str, Any]
    signing_keys: list[dict[str, str]]
    encryption_keys: list[dict[str, str]]


class RegisteredKey(BaseModel):
    """A registered public key: its JWK members with the registry's validity members.
    ``not_after`` and ``revoked_at`` are absent when unset (endpoints exclude None)."""

    model_config = ConfigDict(extra="allow")

    kty: str
    crv: str
    x: str
    kid: str
    not_before: str
    not_after: str | None = None
    revoked_at: str | None = None


class AgencyList(BaseModel):
    agencies: list[Agency]

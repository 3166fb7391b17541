"""The rulebook's data: one `Profile` of contact rules per jurisdiction, chosen by `accounts.region`.

Every knob is required in a profile (nothing is inherited from another jurisdiction) and each
rule names its source. Rules marked *house rule* are the lender's own policy, not law; they
live here because every executor (simulator, strategy, verifier) must apply them alike. The
figures are configuration: verify them for a deployment (see ../shared/DOMAIN.md).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.schema import CHANNELS, CONSENT_CHANNELS, RESTRICTION_KINDS

#: Restriction kinds that stop every collection contact in both default profiles. `features`
#: reads them from here for its jurisdiction-agnostic `contact_blocked` flag.
#:  - do_not_contact, cease_communication: the borrower's request (US: FDCPA 805(c), 12 CFR 1006.6(c));
#:  - dispute: collection pauses until the debt is verified (US: FDCPA 809(b), 12 CFR 1006.34);
#:  - bankruptcy: the automatic stay (US: 11 U.S.C. 362);
#:  - deceased: estates are handled by a separate process, never by collection contact;
#:  - third_party_only: represented by an attorney, contact the attorney only (12 CFR 1006.6(b)(2));
#:  - hardship_plan: *house rule* - collection contacts pause while a repayment plan runs (the lender's
#:    policy, not law).
#: In China the same kinds block by GB/T 45251-2025 (lawful, non-harassing collection) and house rule.
BLOCKING_KINDS: tuple[str, ...] = (
    "do_not_contact",
    "cease_communication",
    "dispute",
    "bankruptcy",
    "deceased",
    "third_party_only",
    "hardship_plan",
)

#: The lender's own channels, which stop once the account is charged off and placed with an agency.
IN_HOUSE_CHANNELS: tuple[str, ...] = ("sms", "email", "call", "letter", "field_visit")


class Profile(BaseModel):
    """The contact rules of one jurisdiction.

    A proposed contact is allowed only if every rule allows it; `core.compliance.rules.REASONS`
    lists the rules in the order they are checked. Caps set to None do not apply in the profile.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    regions: tuple[str, ...] = Field(min_length=1)
    """Region codes this profile governs. A code matches itself and its subdivisions: `US` matches `US`
    and `US-TX`. When two profiles match, the longer (more specific) code wins."""
    first_hour: int = Field(ge=0, le=23)
    """First local hour at which a contact may start (08 means from 08:00)."""
    end_hour: int = Field(ge=1, le=24)
    """Local hour by which contact stops, exclusive: 21 means the last contact starts before 21:00.
    Applies to every channel, since every contact carries the local hour it is made at."""
    consent_channels: tuple[str, ...]
    """Channels used only with the borrower's consent on record (`accounts.consent_<channel>`)."""
    opt_out_channels: tuple[str, ...]
    """Channels on which an opt-out in force (`channel_opt_out`, per channel or for all) stops contact."""
    blocking_kinds: tuple[str, ...]
    """Restriction kinds that, while in force, block every collection contact on every channel."""
    before_charge_off_only: tuple[str, ...]
    """*House rule*: channels used only before charge-off (the lender's own channels stop once the account
    is placed with an agency)."""
    after_charge_off_only: tuple[str, ...]
    """*House rule*: channels used only after charge-off (an agency is engaged for charged-off accounts only)."""
    max_call_attempts_7d: int | None = Field(ge=0)
    """Call attempts allowed in any 7 consecutive days (the proposed call included), per debt."""
    call_quiet_days: int | None = Field(ge=0)
    """Days after a telephone conversation about the debt during which no call is placed; a call is allowed
    again when more than this many days have passed."""
    max_call_conversations_per_day: int | None = Field(ge=0)
    """Effective voice conversations (AI voice included) per debtor per local day."""
    max_unanswered_calls_per_day: int | None = Field(ge=0)
    """Unanswered call attempts per contact number per local day."""
    max_contacts_per_day: int | None = Field(ge=0)
    """*House rule*: collection contacts per borrower per local day, any channel."""
    third_party_disclosure: bool
    """May a third party be told of the debt. Not enforced by `check` (the rulebook sees no third-party
    contacts yet); the strategy and the verifier read it for location and reference contacts."""

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        if self.first_hour >= self.end_hour:
            raise ValueError(f"first_hour {self.first_hour} must come before end_hour {self.end_hour}")
        _subset("consent_channels", self.consent_channels, CONSENT_CHANNELS)
        _subset("opt_out_channels", self.opt_out_channels, CONSENT_CHANNELS)
        _subset("before_charge_off_only", self.before_charge_off_only, CHANNELS)
        _subset("after_charge_off_only", self.after_charge_off_only, CHANNELS)
        # an opt-out is per channel and is checked by opt_out_channels, never as a blanket block
        _subset("blocking_kinds", self.blocking_kinds, tuple(k for k in RESTRICTION_KINDS if k != "channel_opt_out"))
        both = sorted(set(self.before_charge_off_only) & set(self.after_charge_off_only))
        if both:
            raise ValueError(f"channels {both} cannot be both before- and after-charge-off only")
        return self


def _subset(name: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(f"{name} has unknown value(s) {unknown}; allowed: {list(allowed)}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} lists a value twice: {list(values)}")


#: United States: CFPB Regulation F (12 CFR part 1006, implementing the FDCPA), TCPA for consent.
US_PROFILE = Profile(
    regions=("US",),
    first_hour=8,  # 1006.6(b)(1)(i): before 8:00 a.m. is presumed inconvenient
    end_hour=21,  # ... and after 9:00 p.m.
    consent_channels=("sms", "email", "call"),  # TCPA (47 U.S.C. 227): texts and autodialled calls need consent;
    # e-mail: house rule, only to addresses the borrower gave for collection (1006.6(d)(4) safe harbour)
    opt_out_channels=("sms", "email", "call"),  # 1006.6(e): honour e-mail/text opt-outs; TCPA: consent revocable
    blocking_kinds=BLOCKING_KINDS,
    before_charge_off_only=IN_HOUSE_CHANNELS,  # house rule
    after_charge_off_only=("agency",),  # house rule
    max_call_attempts_7d=7,  # 1006.14(b)(2)(i)(A): more than 7 calls within 7 consecutive days is harassment
    call_quiet_days=7,  # 1006.14(b)(2)(i)(B): no call within 7 days after a telephone conversation
    max_call_conversations_per_day=None,
    max_unanswered_calls_per_day=None,
    max_contacts_per_day=1,  # house rule
    third_party_disclosure=False,  # FDCPA 805(b), 12 CFR 1006.6(d)(1) and 1006.10 (location contacts)
)

#: Mainland China: GB/T 45251-2025 (post-loan collection of internet personal consumer credit, from
#: 2025-02-28) and the China Banking Association consumer-loan collection guideline (trial, 2026-01-30).
CN_PROFILE = Profile(
    regions=("CN",),
    first_hour=8,  # GB/T 45251-2025 and CBA 2026: no collection contact 22:00-08:00 unless agreed
    end_hour=22,
    consent_channels=("sms", "email", "call"),  # house rule on the PIPL consent basis (arts. 13-14)
    opt_out_channels=("sms", "email", "call"),  # PIPL art. 15: consent can be withdrawn
    blocking_kinds=BLOCKING_KINDS,
    before_charge_off_only=IN_HOUSE_CHANNELS,  # house rule
    after_charge_off_only=("agency",),  # house rule
    max_call_attempts_7d=None,
    call_quiet_days=None,
    max_call_conversations_per_day=3,  # GB/T 45251-2025: at most 3 effective voice conversations a day
    max_unanswered_calls_per_day=6,  # CBA 2026: at most 6 unanswered call attempts per number a day
    max_contacts_per_day=1,  # house rule
    third_party_disclosure=False,  # GB/T 45251-2025, CBRC 2011 art. 68: third parties never told of the debt
)


class ComplianceParams(BaseModel):
    """Jurisdiction profiles, selected by `accounts.region` (params.yaml `compliance:`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    profiles: dict[str, Profile] = Field(default_factory=lambda: {"US": US_PROFILE, "CN": CN_PROFILE})
    """Profiles by name, in a fixed order (a profile's index is its position here)."""
    fallback_profile: str | None = None
    """Profile for an account whose region no profile claims. None: such an account is never contacted.
    Never guess a jurisdiction: applying the wrong one's hours or caps is a violation, refusing is not."""

    @model_validator(mode="after")
    def _consistent(self) -> ComplianceParams:
        seen: dict[str, str] = {}
        for name, profile in self.profiles.items():
            for code in profile.regions:
                if code in seen:
                    raise ValueError(f"region {code!r} is claimed by profiles {seen[code]!r} and {name!r}")
                seen[code] = name
        if self.fallback_profile is not None and self.fallback_profile not in self.profiles:
            raise ValueError(f"fallback_profile {self.fallback_profile!r} is not one of {list(self.profiles)}")
        return self

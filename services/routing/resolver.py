"""Resolution of a residence to the responsible Jobcenter (§ 36 SGB II), without guessing.

The most precise key given decides: a Gemeinde key (AGS), else a Kreis key, else the postcode (with
the place name, and in Berlin with street and house number or the Bezirk). The answer is one of
four outcomes: the responsible gE is **assigned**; the input is **ambiguous** (the candidates and
what to ask next); the area is **not served** because a zkT is responsible; the input is
**unknown**. Each answer carries a stable code and a German message for the citizen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from services.routing.places import BERLIN_GEMEINDE, BerlinAddressIndex, Place, PostcodeIndex, place_key
from services.routing.register import BERLIN_KREIS, Jobcenter, Register, RegisterView
from shared.errors import InvalidInput

GERMAN_TIME = ZoneInfo("Europe/Berlin")
BERLIN_BEZIRKE = tuple(f"{number:02d}" for number in range(1, 13))
RESIDENCE_FIELDS = ("ags", "kreis", "plz", "ort", "strasse", "hausnummer", "berlin_bezirk")
BEZIRK_NAMES = {
    "01": "Mitte", "02": "Friedrichshain-Kreuzberg", "03": "Pankow", "04": "Charlottenburg-Wilmersdorf",
    "05": "Spandau", "06": "Steglitz-Zehlendorf", "07": "Tempelhof-Schöneberg", "08": "Neukölln",
    "09": "Treptow-Köpenick", "10": "Marzahn-Hellersdorf", "11": "Lichtenberg", "12": "Reinickendorf",
}  # fmt: skip


class Outcome(StrEnum):
    ASSIGNED = "assigned"
    AMBIGUOUS = "ambiguous"
    NOT_SERVED = "not_served"
    UNKNOWN_INPUT = "unknown_input"


class Ask(StrEnum):
    """What the citizen is asked next when the input is not enough."""

    ORT = "ort"
    STRASSE_HAUSNUMMER = "strasse_hausnummer"
    BERLIN_BEZIRK = "berlin_bezirk"


MESSAGES = {
    "MATCHED_GEMEINDE": "Für Ihren Wohnort ist dieses Jobcenter zuständig.",
    "MATCHED_KREIS": "Für Ihren Wohnort ist dieses Jobcenter zuständig.",
    "MATCHED_POSTCODE": "Für Ihren Wohnort ist dieses Jobcenter zuständig.",
    "MATCHED_POSTCODE_ORT": "Für Ihren Wohnort ist dieses Jobcenter zuständig.",
    "MATCHED_BERLIN_BEZIRK": "Für Ihren Bezirk ist dieses Jobcenter zuständig.",
    "MATCHED_BERLIN_ADDRESS": "Für Ihre Adresse ist dieses Jobcenter zuständig.",
    "AREA_OF_ZKT": "Für Ihren Wohnort ist ein kommunales Jobcenter zuständig, das dieses Portal nicht nutzt. "
    "Bitte wenden Sie sich direkt an dieses Jobcenter.",
    "POSTCODE_SPANS_JOBCENTERS": "Zu dieser Postleitzahl gehören mehrere Orte mit verschiedenen Jobcentern. "
    "Bitte wählen Sie Ihren Wohnort.",
    "AREA_SPANS_JOBCENTERS": "Für dieses Gebiet sind mehrere Jobcenter zuständig. Bitte wählen Sie Ihren Wohnort.",
    "ORT_NOT_IN_POSTCODE": "Dieser Ort passt nicht zur Postleitzahl. Bitte wählen Sie Ihren Wohnort aus der Liste.",
    "BERLIN_POSTCODE_SPANS_BEZIRKE": "Diese Postleitzahl gehört zu mehreren Berliner Bezirken. "
    "Bitte geben Sie Straße und Hausnummer an.",
    "BERLIN_STREET_SPANS_BEZIRKE": "Diese Straße gehört zu mehreren Berliner Bezirken. "
    "Bitte geben Sie die Hausnummer an.",
    "BERLIN_HOUSE_NUMBER_NOT_FOUND": "Diese Hausnummer kennen wir in dieser Straße nicht, und die Straße gehört zu "
    "mehreren Berliner Bezirken. Bitte prüfen Sie die Hausnummer oder wählen Sie Ihren Bezirk.",
    "BERLIN_ADDRESS_NOT_FOUND": "Diese Adresse kennen wir unter der Postleitzahl nicht. "
    "Bitte prüfen Sie Straße und Hausnummer.",
    "BERLIN_BEZIRK_NEEDED": "Bitte wählen Sie Ihren Berliner Bezirk.",
    "RESIDENCE_MISSING": "Bitte geben Sie Ihren Wohnort an.",
    "RESIDENCE_INVALID": "Die Angaben zum Wohnort sind ungültig.",
    "GEMEINDE_KEY_INVALID": "Dieser Gemeindeschlüssel ist ungültig. Er hat 8 Ziffern.",
    "KREIS_KEY_INVALID": "Dieser Kreisschlüssel ist ungültig. Er hat 5 Ziffern.",
    "KREIS_UNKNOWN": "Diesen Kreis kennen wir zu diesem Datum nicht.",
    "RESIDENCE_INCONSISTENT": "Gemeinde und Kreis passen nicht zusammen. Bitte prüfen Sie Ihre Angaben.",
    "POSTCODE_INVALID": "Die Postleitzahl hat 5 Ziffern.",
    "POSTCODE_UNKNOWN": "Diese Postleitzahl kennen wir nicht. Bitte wählen Sie Ihren Kreis oder Ihre Gemeinde.",
    "BERLIN_BEZIRK_UNKNOWN": "Diesen Berliner Bezirk gibt es nicht.",
    "GEMEINDE_NOT_IN_POSTCODE": "Der gewählte Ort liegt nicht im Gebiet dieser Postleitzahl. "
    "Bitte prüfen Sie Postleitzahl und Ort.",
    "BERLIN_BEZIRK_NOT_IN_POSTCODE": "Der gewählte Berliner Bezirk passt nicht zu dieser Postleitzahl. "
    "Bitte prüfen Sie Postleitzahl und Bezirk.",
    "BERLIN_BEZIRK_NOT_AT_ADDRESS": "Ihre Adresse liegt nicht im gewählten Berliner Bezirk. "
    "Bitte prüfen Sie Straße, Hausnummer und Bezirk.",
}


@dataclass(frozen=True)
class Residence:
    """Where the citizen lives, as far as the form asked; every field may be missing."""

    ags: str | None = None
    kreis: str | None = None
    plz: str | None = None
    ort: str | None = None
    strasse: str | None = None
    hausnummer: str | None = None
    berlin_bezirk: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Residence:
        """The residence of an RPC argument; raises InvalidInput ``RESIDENCE_INVALID`` when it is not one."""
        if not isinstance(data, dict) or set(data) - set(RESIDENCE_FIELDS):
            raise InvalidInput(
                "RESIDENCE_INVALID", "Die Angaben zum Wohnort sind unvollständig.", {"fields": list(RESIDENCE_FIELDS)}
            )
        values = {}
        for name in RESIDENCE_FIELDS:
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise InvalidInput("RESIDENCE_INVALID", "Die Angaben zum Wohnort sind ungültig.", {"field": name})
            values[name] = (value.strip() or None) if value is not None else None
        return cls(**values)


@dataclass(frozen=True)
class Candidate:
    """A Jobcenter that may be responsible, with the places of the postcode it serves."""

    jobcenter: Jobcenter
    places: tuple[Place, ...] = ()
    berlin_bezirk: str | None = None

    def as_dict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"jobcenter": self.jobcenter.as_dict()}
        if self.places:
            answer["places"] = [{"ags": place.ags, "ort": place.ort} for place in self.places]
        if self.berlin_bezirk is not None:
            answer["berlin_bezirk"] = self.berlin_bezirk
        return answer


@dataclass(frozen=True)
class Resolution:
    """The answer for one residence on one day."""

    outcome: Outcome
    code: str
    register_version: str
    on_date: date
    jobcenter: Jobcenter | None = None
    matched_key: str | None = None
    candidates: tuple[Candidate, ...] = ()
    ask: Ask | None = None
    reason: str | None = None  # why this Jobcenter, in German: the area the residence lies in

    @property
    def message(self) -> str:
        return MESSAGES[self.code]

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "code": self.code,
            "message": self.message,
            "jobcenter": self.jobcenter.as_dict() if self.jobcenter else None,
            "matched_key": self.matched_key,
            "reason": self.reason,
            "candidates": [candidate.as_dict() for candidate in self.candidates],
            "ask": self.ask.value if self.ask else None,
            "register_version": self.register_version,
            "on_date": self.on_date.isoformat(),
        }


def today_in_germany() -> date:
    return datetime.now(GERMAN_TIME).date()


def parse_on_date(on_date: str | None) -> date:
    """The day of an RPC argument (today in Germany when None); raises InvalidInput ``DATE_INVALID``."""
    if on_date is None:
        return today_in_germany()
    try:
        return date.fromisoformat(on_date)
    except (TypeError, ValueError):
        raise InvalidInput("DATE_INVALID", "Das Datum hat die Form JJJJ-MM-TT.") from None


@dataclass
class Resolver:
    """Resolves residences against the register, the optional postcode index and Berlin address index."""

    register: Register
    postcodes: PostcodeIndex = field(default_factory=PostcodeIndex)
    berlin: BerlinAddressIndex = field(default_factory=BerlinAddressIndex)

    def resolve(self, residence: Residence, on_date: date) -> Resolution:
        view = self.register.at(on_date)
        answer = _Answer(view, on_date)
        contradiction = self._contradiction(residence)
        if contradiction is not None:
            return answer.unknown(contradiction)
        if residence.ags is not None:
            return self._by_gemeinde(residence, answer)
        if residence.kreis is not None:
            return self._by_kreis(residence, answer)
        if residence.plz is not None:
            return self._by_postcode(residence, answer)
        if residence.berlin_bezirk is not None:
            return self._in_berlin(residence, answer)
        return answer.unknown("RESIDENCE_MISSING")

    def _contradiction(self, residence: Residence) -> str | None:
        """The code of a postcode that the Gemeinde, Kreis or Berlin Bezirk given with it contradicts.

        The most precise key decides, but only when the others agree with it: a guess between two
        contradicting keys could send the case to a Jobcenter that is not responsible.
        """
        plz = residence.plz
        if plz is None or not (len(plz) == 5 and plz.isdigit()):
            return None
        places = self._places_of(plz)
        if not places:
            return "BERLIN_BEZIRK_NOT_IN_POSTCODE" if residence.berlin_bezirk is not None else None
        if residence.ags is not None and residence.ags not in {place.ags for place in places}:
            return "GEMEINDE_NOT_IN_POSTCODE"
        if residence.kreis is not None and residence.kreis not in {place.ags[:5] for place in places}:
            return "GEMEINDE_NOT_IN_POSTCODE"
        bezirk = residence.berlin_bezirk
        if bezirk is None:
            return None
        if bezirk not in self.berlin.bezirke_of_postcode(plz):
            return "BERLIN_BEZIRK_NOT_IN_POSTCODE"
        if residence.strasse is not None:
            at_address = self.berlin.bezirke_of_street(plz, residence.strasse)
            if len(at_address) > 1 and residence.hausnummer is not None:
                decided = self.berlin.bezirk_of_address(plz, residence.strasse, residence.hausnummer)
                at_address = (decided,) if decided else at_address
            if at_address and bezirk not in at_address:
                return "BERLIN_BEZIRK_NOT_AT_ADDRESS"
        return None

    def carried(self, submitted: dict[str, Any], on_date: date) -> Resolution | None:
        """The assignment a ``case_submitted`` event carries (submissions asked before it took the case in).

        None when the event carries none (stored before submissions were routed first) or names a
        Jobcenter the register does not have as a gE that day; the residence is resolved again then.
        """
        view = self.register.at(on_date)
        jobcenter = view.jobcenters.get(str(submitted.get("jobcenter_id") or ""))
        matched_key, code = submitted.get("matched_key"), submitted.get("reason_code")
        if jobcenter is None or not jobcenter.served or not matched_key or code not in MESSAGES:
            return None
        return _Answer(view, on_date).decided((jobcenter,), str(matched_key), str(code))

    def of_area(self, matched_key: str, on_date: date) -> Resolution:
        """The resolution on ``on_date`` of the area key a decision carried (``kreis:14612``,
        ``gemeinde:06435014``, ``berlin_bezirk:09``): what it says once the register has changed."""
        kind, _, key = str(matched_key).partition(":")
        residence = {
            "kreis": Residence(kreis=key),
            "gemeinde": Residence(ags=key),
            "berlin_bezirk": Residence(kreis=BERLIN_KREIS, berlin_bezirk=key),
        }.get(kind)
        if residence is None:
            return self.unresolved("AREA_KEY_INVALID", on_date)
        return self.resolve(residence, on_date)

    def unresolved(self, code: str, on_date: date) -> Resolution:
        """The "unknown input" answer with ``code``, for a residence that could not even be read."""
        return _Answer(self.register.at(on_date), on_date).unknown(code)

    def lookup_postcode(self, plz: str, on_date: date) -> dict[str, Any]:
        """Every place of a postcode with its Jobcenter(s), for the citizen's form while typing."""
        view = self.register.at(on_date)
        places = []
        for place in self._places_of(plz):
            for jobcenter in self._jobcenters_of_place(view, place, plz)[0]:
                places.append({"ags": place.ags, "ort": place.ort, "jobcenter": jobcenter.as_dict()})
        return {"plz": plz, "places": places, "register_version": view.version, "on_date": on_date.isoformat()}

    def _by_gemeinde(self, residence: Residence, answer: _Answer) -> Resolution:
        ags = residence.ags or ""
        if not (len(ags) == 8 and ags.isdigit()):
            return answer.unknown("GEMEINDE_KEY_INVALID")
        if residence.kreis is not None and residence.kreis != ags[:5]:
            return answer.unknown("RESIDENCE_INCONSISTENT")
        if ags[:5] == BERLIN_KREIS:
            return self._in_berlin(residence, answer)
        if not answer.view.knows_kreis(ags[:5]) and ags not in answer.view.by_gemeinde:
            return answer.unknown("KREIS_UNKNOWN")
        jobcenters, matched_key = answer.view.for_gemeinde(ags)
        return answer.decided(jobcenters, matched_key, "MATCHED_GEMEINDE", Ask.ORT)

    def _by_kreis(self, residence: Residence, answer: _Answer) -> Resolution:
        kreis = residence.kreis or ""
        if not (len(kreis) == 5 and kreis.isdigit()):
            return answer.unknown("KREIS_KEY_INVALID")
        if kreis == BERLIN_KREIS:
            return self._in_berlin(residence, answer)
        if not answer.view.knows_kreis(kreis):
            return answer.unknown("KREIS_UNKNOWN")
        return answer.decided(answer.view.for_kreis(kreis), f"kreis:{kreis}", "MATCHED_KREIS", Ask.ORT)

    def _by_postcode(self, residence: Residence, answer: _Answer) -> Resolution:
        plz = residence.plz or ""
        if not (len(plz) == 5 and plz.isdigit()):
            return answer.unknown("POSTCODE_INVALID")
        places = self._places_of(plz)
        if not places:
            return answer.unknown("POSTCODE_UNKNOWN")
        code = "MATCHED_POSTCODE"
        if residence.ort is not None:  # a town that is not the postcode's is an error, never overlooked
            chosen = matching_places(places, residence.ort)
            if not chosen:
                return answer.ambiguous(self._candidates(answer.view, places, plz), Ask.ORT, "ORT_NOT_IN_POSTCODE")
            if len(places) > 1:
                places, code = chosen, "MATCHED_POSTCODE_ORT"
        if all(place.ags == BERLIN_GEMEINDE for place in places):
            return self._in_berlin(residence, answer)
        candidates = self._candidates(answer.view, places, plz)
        if len(candidates) == 1:
            only = candidates[0]
            keys = {self._jobcenters_of_place(answer.view, place, plz)[1] for place in only.places}
            return answer.decided((only.jobcenter,), ",".join(sorted(keys)), code, Ask.ORT)
        return answer.ambiguous(candidates, Ask.ORT, "POSTCODE_SPANS_JOBCENTERS")

    def _in_berlin(self, residence: Residence, answer: _Answer) -> Resolution:
        view = answer.view
        if residence.berlin_bezirk is not None:
            jobcenter = view.for_berlin_bezirk(residence.berlin_bezirk)
            if jobcenter is None:
                return answer.unknown("BERLIN_BEZIRK_UNKNOWN")
            return answer.decided((jobcenter,), f"berlin_bezirk:{residence.berlin_bezirk}", "MATCHED_BERLIN_BEZIRK")
        plz = residence.plz
        bezirke = self.berlin.bezirke_of_postcode(plz) if plz else ()
        if not bezirke:
            return answer.ambiguous(berlin_candidates(view, BERLIN_BEZIRKE), Ask.BERLIN_BEZIRK, "BERLIN_BEZIRK_NEEDED")
        assert plz is not None
        if len(bezirke) == 1:
            # The postcode lies in one Bezirk: street and house number cannot change the answer.
            return answer.decided(berlin_jobcenters(view, bezirke), f"berlin_bezirk:{bezirke[0]}", "MATCHED_POSTCODE")
        if residence.strasse is not None:
            by_street = self.berlin.bezirke_of_street(plz, residence.strasse)
            if not by_street:
                return answer.ambiguous(
                    berlin_candidates(view, bezirke), Ask.STRASSE_HAUSNUMMER, "BERLIN_ADDRESS_NOT_FOUND"
                )
            bezirk = by_street[0] if len(by_street) == 1 else None
            if bezirk is None and residence.hausnummer is not None:
                bezirk = self.berlin.bezirk_of_address(plz, residence.strasse, residence.hausnummer)
            if bezirk is None and residence.hausnummer is not None:  # given, but not one of the street's
                return answer.ambiguous(
                    berlin_candidates(view, by_street), Ask.BERLIN_BEZIRK, "BERLIN_HOUSE_NUMBER_NOT_FOUND"
                )
            if bezirk is None:
                return answer.ambiguous(
                    berlin_candidates(view, by_street), Ask.STRASSE_HAUSNUMMER, "BERLIN_STREET_SPANS_BEZIRKE"
                )
            return answer.decided(
                berlin_jobcenters(view, (bezirk,)), f"berlin_bezirk:{bezirk}", "MATCHED_BERLIN_ADDRESS"
            )
        return answer.ambiguous(
            berlin_candidates(view, bezirke), Ask.STRASSE_HAUSNUMMER, "BERLIN_POSTCODE_SPANS_BEZIRKE"
        )

    def _places_of(self, plz: str) -> tuple[Place, ...]:
        places = self.postcodes.get(plz)
        # Berlin addresses under a Brandenburg postcode (e.g. 15537) make Berlin one of its places.
        if self.berlin.bezirke_of_postcode(plz) and all(place.ags != BERLIN_GEMEINDE for place in places):
            places = (*places, Place(BERLIN_GEMEINDE, "Berlin"))
        return places

    def _jobcenters_of_place(self, view: RegisterView, place: Place, plz: str) -> tuple[tuple[Jobcenter, ...], str]:
        if place.ags == BERLIN_GEMEINDE:
            bezirke = self.berlin.bezirke_of_postcode(plz) or BERLIN_BEZIRKE
            return berlin_jobcenters(view, bezirke), f"kreis:{BERLIN_KREIS}"
        return view.for_gemeinde(place.ags)

    def _candidates(self, view: RegisterView, places: tuple[Place, ...], plz: str) -> tuple[Candidate, ...]:
        by_jobcenter: dict[str, tuple[Jobcenter, list[Place]]] = {}
        for place in places:
            for jobcenter in self._jobcenters_of_place(view, place, plz)[0]:
                by_jobcenter.setdefault(jobcenter.jobcenter_id, (jobcenter, []))[1].append(place)
        return tuple(
            Candidate(jobcenter, tuple(found)) for jobcenter, found in sorted(by_jobcenter.values(), key=by_id)
        )


def by_id(item: tuple[Jobcenter, list[Place]]) -> str:
    return item[0].jobcenter_id


def matching_places(places: tuple[Place, ...], ort: str) -> tuple[Place, ...]:
    """The places named ``ort``: the same name in any spelling, else the places whose name starts with it."""
    wanted = place_key(ort)
    if not wanted:
        return ()
    exact = tuple(place for place in places if place.key == wanted)
    if exact or len(wanted) < 3:
        return exact
    started = tuple(place for place in places if place.key.startswith(wanted))
    if started:
        return started
    # "Berlin-Köpenick", "Gera Langenberg": the place with a part of it after its name
    return tuple(place for place in places if len(place.key) >= 3 and wanted.startswith(place.key))


def berlin_jobcenters(view: RegisterView, bezirke: tuple[str, ...]) -> tuple[Jobcenter, ...]:
    return tuple(jobcenter for bezirk in bezirke if (jobcenter := view.for_berlin_bezirk(bezirk)) is not None)


def berlin_candidates(view: RegisterView, bezirke: tuple[str, ...]) -> tuple[Candidate, ...]:
    return tuple(
        Candidate(jobcenter, berlin_bezirk=bezirk)
        for bezirk in bezirke
        if (jobcenter := view.for_berlin_bezirk(bezirk)) is not None
    )


@dataclass(frozen=True)
class _Answer:
    """Builds the resolutions of one request."""

    view: RegisterView
    on_date: date

    def decided(self, jobcenters: tuple[Jobcenter, ...], matched_key: str, code: str, ask: Ask = Ask.ORT) -> Resolution:
        if not jobcenters:
            return self.unknown("KREIS_UNKNOWN")
        if len(jobcenters) > 1:
            return self.ambiguous(tuple(Candidate(jobcenter) for jobcenter in jobcenters), ask, "AREA_SPANS_JOBCENTERS")
        jobcenter = jobcenters[0]
        if not jobcenter.served:
            return self._resolution(Outcome.NOT_SERVED, "AREA_OF_ZKT", jobcenter=jobcenter, matched_key=matched_key)
        return self._resolution(Outcome.ASSIGNED, code, jobcenter=jobcenter, matched_key=matched_key)

    def ambiguous(self, candidates: tuple[Candidate, ...], ask: Ask, code: str) -> Resolution:
        return self._resolution(Outcome.AMBIGUOUS, code, candidates=candidates, ask=ask)

    def unknown(self, code: str) -> Resolution:
        return self._resolution(Outcome.UNKNOWN_INPUT, code)

    def _resolution(self, outcome: Outcome, code: str, **details: Any) -> Resolution:
        matched_key = details.get("matched_key")
        reason = area_reason(self.view, matched_key) if matched_key else None
        return Resolution(outcome, code, self.view.version, self.on_date, reason=reason, **details)


def area_reason(view: RegisterView, matched_key: str) -> str:
    """``Ihre Anschrift liegt im Berliner Bezirk Treptow-Köpenick.``: the area that decided, for people."""
    names = []
    for key in matched_key.split(","):
        kind, _, value = key.partition(":")
        if kind == "berlin_bezirk":
            return f"Ihre Anschrift liegt im Berliner Bezirk {BEZIRK_NAMES.get(value, value)}."
        if kind == "gemeinde":
            name = view.gemeinde_names.get(value, value)
            return f"Ihr Wohnort gehört zur Gemeinde {name}, für die dieses Jobcenter zuständig ist."
        names.append(f"„{view.kreis_names.get(value, value)}“ (Kreisschlüssel {value})")
    if len(names) == 1:
        return f"Ihr Wohnort liegt im Gebiet {names[0]}, für das dieses Jobcenter zuständig ist."
    return f"Ihr Wohnort liegt in einem dieser Gebiete, für die dieses Jobcenter zuständig ist: {', '.join(names)}."

"""Clout where merchants already work: saved order views, definitions of the customer
metafields Clout writes, and customer segments, kept in the store's own admin.

Agents filter tagged orders in the Shopify admin; without these they must know Clout's tag names
and type the filter themselves, and Clout's metafields show as raw, unnamed values that Flow
conditions and segments cannot use well. So each connected store gets:

- **saved order views** ("Clout · needs attention", "· urgent", "· overdue", "· hidden
  influencers") whose queries are built from the store's own attention and resolved tag names,
  and rewritten when those change;
- **metafield definitions** for every metafield Clout writes on a customer (namespace `clout`),
  named and described in the merchant's words, the ones an agent reads first pinned, private to
  the admin (no storefront, no customer account access) — the definition is what lets Flow
  conditions and customer segments filter on them;
- **customer segments**: the customers with an open case, and those whose case was resolved in
  the last 30 days (a win-back email, a survey, with the tools the merchant already uses). The
  customers' "unhappy now" view is the first of these: Shopify's customer index shows segments,
  and `customerSavedSearches` is deprecated in 2026-07 ("use `segments` instead").

Plan (pure: `wanted_workspace`, `plan_workspace`) → push (`push_workspace`, Shopify only) →
nothing to record: Shopify holds them, and Clout finds its own again by name (views, segments)
or by namespace and key (definitions), so making them twice makes them once. Definitions come
before segments: Shopify refuses a segment on a metafield it has no definition for.

Shopify revokes an app's token when the merchant uninstalls it, so nothing here can be removed
after the fact; `remove_workspace` takes Clout's views and segments away while the token still
works (the definitions stay, with the values Clout wrote: they are the merchant's data).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from service.core.vocabulary import InfluenceBand, Priority, Severity
from service.shopify.admin import METAFIELD_NAMESPACE, ShopifyAdmin

VIEW_PREFIX = "Clout · "
# Tags `policy.decide` writes on an order (tests hold these to what it writes).
URGENT_TAG = f"clout-priority-{Priority.URGENT}"
OVERDUE_TAG = "clout-overdue"
HIDDEN_INFLUENCER_TAG = "clout-hidden-influencer"
RESOLVED_WINDOW = "-30d"  # the segment language's date offset: the last 30 days
# The shop settings the views and segments are written in: a change to one rewrites them.
WORKSPACE_KEYS = frozenset({"attention_tag", "resolved_tag"})


@dataclass(frozen=True)
class SavedView:
    """A saved search on the orders index."""

    name: str
    query: str


@dataclass(frozen=True)
class Segment:
    name: str
    query: str


@dataclass(frozen=True)
class FieldDefinition:
    """A customer metafield Clout writes, as Shopify should know it."""

    key: str
    type: str
    name: str
    description: str
    pinned: bool = False
    validations: tuple[tuple[str, str], ...] = ()

    def as_input(self) -> dict[str, Any]:
        """`MetafieldDefinitionInput`: private to the admin (an unhappy customer's reasons are
        nobody else's business); `access.admin` is only for app-reserved namespaces."""
        return {
            "namespace": METAFIELD_NAMESPACE,
            "key": self.key,
            "ownerType": "CUSTOMER",
            "type": self.type,
            "name": self.name,
            "description": self.description,
            "pin": self.pinned,
            "validations": [{"name": n, "value": v} for n, v in self.validations],
            "access": {"storefront": "NONE", "customerAccount": "NONE"},
        }

    def as_update(self) -> dict[str, Any]:
        """`MetafieldDefinitionUpdateInput`: what may change (type, namespace and key name the
        definition and cannot)."""
        return {
            "namespace": METAFIELD_NAMESPACE,
            "key": self.key,
            "ownerType": "CUSTOMER",
            "name": self.name,
            "description": self.description,
            "pin": self.pinned,
            "validations": [{"name": n, "value": v} for n, v in self.validations],
            "access": {"storefront": "NONE", "customerAccount": "NONE"},
        }


def _choices(values: Iterable[str]) -> tuple[tuple[str, str], ...]:
    return (("choices", json.dumps(list(values))),)


_SCORE_RANGE = (("min", "0"), ("max", "100"))

# Every metafield `attend` writes on a customer, in the order an agent reads them.
DEFINITIONS: tuple[FieldDefinition, ...] = (
    FieldDefinition(
        key="attention_priority",
        type="single_line_text_field",
        name="Clout priority",
        description="How soon this unhappy customer should hear from you: normal, high or "
        "urgent. Influence only ever raises it.",
        pinned=True,
        validations=_choices(p.value for p in Priority),
    ),
    FieldDefinition(
        key="attention_deadline",
        type="date_time",
        name="Clout answer by",
        description="When this customer should have an answer, at the latest.",
        pinned=True,
    ),
    FieldDefinition(
        key="attention_reasons",
        type="multi_line_text_field",
        name="Clout reasons",
        description="Why Clout thinks this customer is unhappy, in their own words, one a line.",
        pinned=True,
    ),
    FieldDefinition(
        key="attention_severity",
        type="single_line_text_field",
        name="Clout severity",
        description="How bad it is: low, normal, high or critical.",
        validations=_choices(s.value for s in Severity),
    ),
    FieldDefinition(
        key="clout_score",
        type="number_integer",
        name="Clout score (real-world influence)",
        description="0-100: how many people this customer reaches offline: orders, referrals, "
        "people around them. Absent while unknown, never a made-up zero.",
        pinned=True,
        validations=_SCORE_RANGE,
    ),
    FieldDefinition(
        key="klout_score",
        type="number_integer",
        name="Klout score (online reach)",
        description="0-100: followers and online presence, from handles the customer gave. "
        "Absent while unknown, never a made-up zero.",
        pinned=True,
        validations=_SCORE_RANGE,
    ),
    FieldDefinition(
        key="influence_band",
        type="single_line_text_field",
        name="Clout influence band",
        description="unknown, low, medium or high, or opted-out when the customer asked not to "
        "be profiled.",
        validations=_choices(b.value for b in InfluenceBand),
    ),
    FieldDefinition(
        key="resolved_at",
        type="date_time",
        name="Clout case resolved",
        description="When this customer's last case was resolved: follow up with a win-back "
        "email or a survey.",
    ),
)


def _quoted(value: str) -> str:
    """A value in Shopify's search syntax (single quotes; a quote or backslash escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def order_views(*, attention_tag: str, resolved_tag: str) -> tuple[SavedView, ...]:
    """The saved order views, in the store's own tag names."""
    open_case = f"tag:{_quoted(attention_tag)} AND NOT tag:{_quoted(resolved_tag)}"
    return (
        SavedView(f"{VIEW_PREFIX}needs attention", open_case),
        SavedView(f"{VIEW_PREFIX}urgent", f"{open_case} AND tag:{_quoted(URGENT_TAG)}"),
        SavedView(f"{VIEW_PREFIX}overdue", f"{open_case} AND tag:{_quoted(OVERDUE_TAG)}"),
        SavedView(
            f"{VIEW_PREFIX}hidden influencers",
            f"{open_case} AND tag:{_quoted(HIDDEN_INFLUENCER_TAG)}",
        ),
    )


def customer_segments(*, attention_tag: str) -> tuple[Segment, ...]:
    """The customer segments: an open case (the customer carries the attention tag while it is
    open), and a case resolved in the last 30 days (`resolved_at`, written at resolution)."""
    return (
        Segment("Unhappy customers (Clout)", f"customer_tags CONTAINS {_quoted(attention_tag)}"),
        Segment(
            "Resolved in the last 30 days (Clout)",
            f"metafields.{METAFIELD_NAMESPACE}.resolved_at >= {RESOLVED_WINDOW}",
        ),
    )


@dataclass(frozen=True)
class Workspace:
    views: tuple[SavedView, ...]
    definitions: tuple[FieldDefinition, ...]
    segments: tuple[Segment, ...]


def wanted_workspace(*, attention_tag: str, resolved_tag: str) -> Workspace:
    return Workspace(
        views=order_views(attention_tag=attention_tag, resolved_tag=resolved_tag),
        definitions=DEFINITIONS,
        segments=customer_segments(attention_tag=attention_tag),
    )


# --- plan: what Shopify has against what Clout wants ----------------------------------------


@dataclass(frozen=True)
class Found:
    """What the store has now, as Shopify answered it."""

    views: Sequence[Mapping[str, Any]] = ()  # {id, name, query}
    definitions: Sequence[Mapping[str, Any]] = ()  # MetafieldDefinitionFields
    segments: Sequence[Mapping[str, Any]] = ()  # {id, name, query}


@dataclass(frozen=True)
class WorkspacePlan:
    present: tuple[str, ...] = ()  # what is there as wanted, in words
    create_views: tuple[SavedView, ...] = ()
    update_views: tuple[tuple[str, SavedView], ...] = ()  # (id, wanted)
    create_definitions: tuple[FieldDefinition, ...] = ()
    update_definitions: tuple[FieldDefinition, ...] = ()
    # A definition under Clout's key with another type: Shopify cannot change a type, and
    # deleting it would delete the merchant's values, so a person decides.
    conflicts: tuple[str, ...] = ()
    create_segments: tuple[Segment, ...] = ()
    update_segments: tuple[tuple[str, Segment], ...] = ()

    @property
    def in_order(self) -> bool:
        return not (
            self.create_views
            or self.update_views
            or self.create_definitions
            or self.update_definitions
            or self.conflicts
            or self.create_segments
            or self.update_segments
        )


def _definition_differs(wanted: FieldDefinition, found: Mapping[str, Any]) -> bool:
    validations = {(v.get("name"), v.get("value")) for v in found.get("validations") or []}
    access = found.get("access") or {}
    return (
        found.get("name") != wanted.name
        or (found.get("description") or "") != wanted.description
        or (found.get("pinnedPosition") is not None) != wanted.pinned
        or validations != set(wanted.validations)
        or access.get("storefront") not in (None, "NONE")
        or access.get("customerAccount") not in (None, "NONE")
    )


_Named = TypeVar("_Named", SavedView, Segment)


def _named(
    wanted: Sequence[_Named], found: Sequence[Mapping[str, Any]], label: str, present: list[str]
) -> tuple[tuple[_Named, ...], tuple[tuple[str, _Named], ...]]:
    """Views and segments are Clout's by name: the missing ones, and the ones to rewrite."""
    by_name = {str(f.get("name")): f for f in found}
    create: list[_Named] = []
    update: list[tuple[str, _Named]] = []
    for item in wanted:
        have = by_name.get(item.name)
        if have is None:
            create.append(item)
        elif have.get("query") != item.query:
            update.append((str(have.get("id")), item))
        else:
            present.append(f"{label} “{item.name}”")
    return tuple(create), tuple(update)


def plan_workspace(*, wanted: Workspace, found: Found) -> WorkspacePlan:
    """Compare the store's views, definitions and segments with Clout's. Pure."""
    present: list[str] = []
    create_views, update_views = _named(wanted.views, found.views, "order view", present)
    definitions_by_key = {
        str(d.get("key")): d
        for d in found.definitions
        if d.get("namespace") == METAFIELD_NAMESPACE and d.get("ownerType") in (None, "CUSTOMER")
    }
    create_definitions, update_definitions, conflicts = [], [], []
    for definition in wanted.definitions:
        have = definitions_by_key.get(definition.key)
        if have is None:
            create_definitions.append(definition)
            continue
        have_type = (have.get("type") or {}).get("name")
        if have_type != definition.type:
            conflicts.append(
                f"{METAFIELD_NAMESPACE}.{definition.key} is defined as {have_type}, Clout writes "
                f"{definition.type}: delete that definition in Settings → Custom data → "
                "Customers, then run this again"
            )
        elif _definition_differs(definition, have):
            update_definitions.append(definition)
        else:
            present.append(f"metafield {METAFIELD_NAMESPACE}.{definition.key}")
    create_segments, update_segments = _named(wanted.segments, found.segments, "segment", present)
    return WorkspacePlan(
        present=tuple(present),
        create_views=create_views,
        update_views=update_views,
        create_definitions=tuple(create_definitions),
        update_definitions=tuple(update_definitions),
        conflicts=tuple(conflicts),
        create_segments=create_segments,
        update_segments=update_segments,
    )


def describe_workspace(plan: WorkspacePlan) -> list[str]:
    """The plan in plain words, one line each."""
    lines = ["Clout's views, metafield definitions and segments in the Shopify admin"]
    lines += [f"  ok       {what}" for what in plan.present]
    lines += [f"  missing  order view “{v.name}”" for v in plan.create_views]
    lines += [f"  outdated order view “{v.name}”: {v.query}" for _, v in plan.update_views]
    lines += [
        f"  missing  metafield {METAFIELD_NAMESPACE}.{d.key}" for d in plan.create_definitions
    ]
    lines += [
        f"  outdated metafield {METAFIELD_NAMESPACE}.{d.key}" for d in plan.update_definitions
    ]
    lines += [f"  conflict {c}" for c in plan.conflicts]
    lines += [f"  missing  segment “{s.name}”" for s in plan.create_segments]
    lines += [f"  outdated segment “{s.name}”: {s.query}" for _, s in plan.update_segments]
    return lines


# --- push: Shopify calls only -----------------------------------------------------------------


def read_workspace(*, client: ShopifyAdmin) -> Found:
    return Found(
        views=client.order_saved_searches(),
        definitions=client.metafield_definitions("CUSTOMER", METAFIELD_NAMESPACE),
        segments=client.segments(),
    )


@dataclass
class WorkspacePushed:
    done: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "what: Shopify's reason"


def push_workspace(*, client: ShopifyAdmin, plan: WorkspacePlan) -> WorkspacePushed:
    """Make what is missing and rewrite what is outdated, definitions before segments (a
    segment on an undefined metafield is refused). Each refusal is reported, then on."""
    pushed = WorkspacePushed()

    def attempt(what: str, call: Any, *args: Any) -> None:
        try:
            call(*args)
        except Exception as error:  # noqa: BLE001 - each item's answer is reported, then on
            pushed.refused.append(f"{what}: {error}")
            return
        pushed.done.append(what)

    for view in plan.create_views:
        attempt(
            f"made     order view “{view.name}”", client.create_order_view, view.name, view.query
        )
    for view_id, view in plan.update_views:
        attempt(
            f"rewrote  order view “{view.name}”",
            client.update_saved_search,
            view_id,
            view.name,
            view.query,
        )
    for definition in plan.create_definitions:
        attempt(
            f"made     metafield {METAFIELD_NAMESPACE}.{definition.key}",
            client.create_metafield_definition,
            definition.as_input(),
        )
    for definition in plan.update_definitions:
        attempt(
            f"updated  metafield {METAFIELD_NAMESPACE}.{definition.key}",
            client.update_metafield_definition,
            definition.as_update(),
        )
    for segment in plan.create_segments:
        attempt(
            f"made     segment “{segment.name}”",
            client.create_segment,
            segment.name,
            segment.query,
        )
    for segment_id, segment in plan.update_segments:
        attempt(
            f"rewrote  segment “{segment.name}”",
            client.update_segment,
            segment_id,
            segment.name,
            segment.query,
        )
    return pushed


def tend_workspace(
    *, client: ShopifyAdmin, attention_tag: str, resolved_tag: str, fix: bool
) -> tuple[WorkspacePlan, list[str]]:
    """Read, compare and (with `fix`) mend the store's workspace; the plan after mending, and
    what to tell the merchant. Raises ShopifyUnavailable / ShopifyRefused when the store cannot
    be read at all."""
    wanted = wanted_workspace(attention_tag=attention_tag, resolved_tag=resolved_tag)
    plan = plan_workspace(wanted=wanted, found=read_workspace(client=client))
    lines = describe_workspace(plan)
    if fix and not plan.in_order:
        pushed = push_workspace(client=client, plan=plan)
        lines += [f"  {line}" for line in pushed.done]
        lines += [f"  refused  {line}" for line in pushed.refused]
        plan = plan_workspace(wanted=wanted, found=read_workspace(client=client))
    return plan, lines


def remove_workspace(*, client: ShopifyAdmin) -> list[str]:
    """Take Clout's order views and segments out of the store (before uninstalling: afterwards
    Shopify refuses Clout's token). The metafield definitions stay with their values."""
    removed: list[str] = []
    for view in client.order_saved_searches():
        if str(view.get("name", "")).startswith(VIEW_PREFIX):
            client.delete_saved_search(str(view["id"]))
            removed.append(f"order view “{view['name']}”")
    names = {s.name for s in customer_segments(attention_tag="")}
    for segment in client.segments():
        if segment.get("name") in names:
            client.delete_segment(str(segment["id"]))
            removed.append(f"segment “{segment['name']}”")
    return removed

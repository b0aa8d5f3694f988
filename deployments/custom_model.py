"""Deploying a model that is not in the catalog: its form fields and the facts the pipeline uses.

The facts are checked by `catalog.custom` and then sized and built exactly like a catalog
model's: they become the same `ModelFacts` that `plan` and the GPU fit take.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpRequest

from catalog.custom import (
    ENGINE_KEYS,
    FORM_FIELDS,
    MAX_CONTEXT_LENGTH,
    MAX_PARAMETERS_BILLIONS,
    CustomModel,
    CustomModelError,
    from_form_data,
    parse_custom_model,
)
from catalog.weights import DEFAULT_WEIGHT_FORMAT, WEIGHT_FORMATS
from deployments.engines import ENGINES
from deployments.manifests import ModelFacts

# What the form is built for while the facts are still missing or wrong: every engine, any
# context length, so only the facts' own fields carry messages.
PLACEHOLDER = ModelFacts(
    slug="custom-model",
    hf_repo_id="",
    name="This model",
    context_length=MAX_CONTEXT_LENGTH,
    supported_engines=ENGINE_KEYS,
)

_INPUT = (
    "w-full rounded-lg border border-zinc-700 bg-zinc-950 px-3 py-2 text-sm text-zinc-100 "
    "placeholder:text-zinc-600 focus:border-nvidia focus:outline-none focus:ring-2 "
    "focus:ring-nvidia/40 aria-invalid:border-red-500"
)


def requested(request: HttpRequest) -> bool:
    """Whether the deploy page is for a custom model (`?custom=1`, or the form's hidden field)."""
    return bool(request.GET.get("custom") or request.POST.get("custom"))


def facts_for(custom: CustomModel) -> ModelFacts:
    """The pipeline's facts of a custom model; its repo id is its model id."""
    return ModelFacts(
        slug=custom.hf_repo_id,
        hf_repo_id=custom.hf_repo_id,
        name=custom.hf_repo_id,
        context_length=custom.context_length,
        supported_engines=tuple(custom.engines),
        parameters_billions=custom.parameters,
        weight_format=custom.weight_format,
    )


def parse_form(data: Mapping[str, Any]) -> tuple[CustomModel | None, dict[str, list[str]]]:
    """The facts from the deploy form's fields, and the messages per form field."""
    try:
        return parse_custom_model(from_form_data(data)), {}
    except CustomModelError as exc:
        return None, {FORM_FIELDS.get(key, "__all__"): msgs for key, msgs in exc.errors.items()}


def facts_from_form(data: Mapping[str, Any]) -> ModelFacts:
    """The facts the form is built for: the person's when they are right, else a placeholder."""
    custom, _ = parse_form(data)
    return facts_for(custom) if custom else PLACEHOLDER


def form_fields() -> dict[str, forms.Field]:
    """The deploy form's fields for the facts, first in the form."""
    return {
        FORM_FIELDS["hfRepoId"]: forms.CharField(
            label="Hugging Face repo id",
            required=False,
            help_text="As on huggingface.co: the owner, a slash, the model's name.",
            widget=forms.TextInput(
                attrs={
                    "class": _INPUT + " font-mono",
                    "autocomplete": "off",
                    "spellcheck": "false",
                    "placeholder": "owner/name",
                }
            ),
        ),
        FORM_FIELDS["parameters"]: forms.CharField(
            label="Parameters (billions)",
            required=False,
            help_text="From the model card, e.g. 7.2; the GPU fit sizes the weights by it.",
            widget=forms.NumberInput(
                attrs={"class": _INPUT, "min": 0, "max": MAX_PARAMETERS_BILLIONS, "step": "any"}
            ),
        ),
        FORM_FIELDS["weightFormat"]: forms.ChoiceField(
            label="Weight format",
            choices=list(WEIGHT_FORMATS.items()),
            initial=DEFAULT_WEIGHT_FORMAT,
            required=False,
            widget=forms.Select(attrs={"class": _INPUT}),
        ),
        FORM_FIELDS["contextLength"]: forms.CharField(
            label="Model context length (tokens)",
            required=False,
            help_text=f"The longest context the model handles, at most {MAX_CONTEXT_LENGTH:,}.",
            widget=forms.NumberInput(attrs={"class": _INPUT, "min": 1, "max": MAX_CONTEXT_LENGTH}),
        ),
        FORM_FIELDS["engines"]: forms.MultipleChoiceField(
            label="Engines it runs on",
            choices=[(key, ENGINES[key].label) for key in ENGINE_KEYS],
            required=False,
            widget=forms.CheckboxSelectMultiple,
        ),
    }


def initial_from_config(value: Any) -> dict[str, Any]:
    """Form initial values from the stored facts of a submission, to retry it."""
    if not isinstance(value, Mapping):
        return {}
    return {name: value[key] for key, name in FORM_FIELDS.items() if value.get(key) is not None}


@dataclass(frozen=True)
class PageModel:
    """What the deploy page shows about the model (a catalog entry's attributes)."""

    facts: ModelFacts
    custom: bool = True
    gated: bool = False

    @property
    def slug(self) -> str:
        return self.facts.slug

    @property
    def name(self) -> str:
        return self.facts.hf_repo_id or "a custom model"

    @property
    def hf_repo_id(self) -> str:
        return self.facts.hf_repo_id

    @property
    def size_label(self) -> str:
        return f"{self.facts.parameters_billions:g}B" if self.facts.parameters_billions else ""

    @property
    def context_length(self) -> int:
        return self.facts.context_length

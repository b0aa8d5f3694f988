"""A model that is not in the catalog: its facts, how they are checked, and saving it as an entry.

The deploy form, `POST /api/deployments` and the "Save to catalog" button all read the facts
through `parse_custom_model`, so the same mistake gets the same message everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from catalog.weights import WEIGHT_FORMATS

ENGINE_KEYS = ("vllm", "sglang", "trtllm")
# Long-context models reach 1-10 M tokens; anything beyond is a typo.
MAX_CONTEXT_LENGTH = 10_000_000
# Larger than any published checkpoint (Kimi K2 and DeepSeek V3 are about 1,000 B).
MAX_PARAMETERS_BILLIONS = 10_000
# Hugging Face's rules for a repo id: `owner/name`, letters, digits, "-", "_" and ".", no "--"
# or "..", not ending in ".git", owner and name at most 96 characters each.
_REPO_PART = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
_REPO_ID = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$")
REPO_ID_HELP = "Give a Hugging Face repo id as owner/name, e.g. mistralai/Mistral-7B-v0.3."

# The deploy form's names for the facts (snake_case, prefixed so they never meet the
# deployment's own fields such as its context length).
FORM_FIELDS = {
    "hfRepoId": "custom_hf_repo_id",
    "parameters": "custom_parameters",
    "weightFormat": "custom_weight_format",
    "contextLength": "custom_context_length",
    "engines": "custom_engines",
}


class CustomModel(BaseModel):
    """What a person says about a Hugging Face model Dynamote does not know."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    hf_repo_id: str
    parameters: float
    weight_format: str = "bf16"
    context_length: int
    engines: list[str]

    @field_validator("hf_repo_id")
    @classmethod
    def _repo_id(cls, value: str) -> str:
        value = value.strip()
        if (
            not _REPO_ID.match(value)
            or any(len(part) > 96 for part in value.split("/"))
            or "--" in value
            or ".." in value
            or value.endswith(".git")
        ):
            raise ValueError(REPO_ID_HELP)
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: float) -> float:
        if not 0 < value <= MAX_PARAMETERS_BILLIONS:
            raise ValueError(
                "Give the parameter count in billions: more than 0, at most "
                f"{MAX_PARAMETERS_BILLIONS:,} (e.g. 7.2 for a 7.2 B model)."
            )
        return value

    @field_validator("weight_format")
    @classmethod
    def _weight_format(cls, value: str) -> str:
        if value not in WEIGHT_FORMATS:
            raise ValueError(f"Choose one of {', '.join(WEIGHT_FORMATS.values())}.")
        return value

    @field_validator("context_length")
    @classmethod
    def _context_length(cls, value: int) -> int:
        if not 1 <= value <= MAX_CONTEXT_LENGTH:
            raise ValueError(f"Choose between 1 and {MAX_CONTEXT_LENGTH:,} tokens.")
        return value

    @field_validator("engines", mode="before")
    @classmethod
    def _engines(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple) or not value:
            raise ValueError("Choose at least one engine the model runs on.")
        unknown = [str(engine) for engine in value if engine not in ENGINE_KEYS]
        if unknown:
            raise ValueError(f"Unknown engine {', '.join(unknown)}: use {', '.join(ENGINE_KEYS)}.")
        # In the table's order, each once.
        return [engine for engine in ENGINE_KEYS if engine in value]

    def as_config(self) -> dict[str, Any]:
        """The camelCase shape stored with a deployment and sent by the JSON API."""
        return self.model_dump(mode="json", by_alias=True)

    @property
    def name(self) -> str:
        """What people call it: the repo's name without the owner."""
        return self.hf_repo_id.split("/", 1)[1]

    @property
    def size_label(self) -> str:
        return f"{self.parameters:g}B"


class CustomModelError(Exception):
    """The facts are wrong; `errors` maps the camelCase fact names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {' '.join(m)}" for key, m in errors.items()))


_MESSAGES = {
    "missing": "This field is required.",
    "float_parsing": "Enter a number, e.g. 7.2.",
    "float_type": "Enter a number, e.g. 7.2.",
    "int_parsing": "Enter a whole number of tokens.",
    "int_type": "Enter a whole number of tokens.",
    "int_from_float": "Enter a whole number of tokens.",
    "string_type": "Enter text.",
    "finite_number": "Enter a number, e.g. 7.2.",
}


def parse_custom_model(data: Any) -> CustomModel:
    """The checked facts; CustomModelError with a message per fact otherwise."""
    if not isinstance(data, Mapping):
        raise CustomModelError({"__all__": ["Give the model's facts as an object."]})
    raw = {
        key: value.strip() if isinstance(value, str) else value
        for key, value in data.items()
        if value is not None and value != ""
    }
    try:
        return CustomModel.model_validate(raw)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            loc = error.get("loc") or ()
            key = str(loc[0]) if loc else "__all__"
            key = CustomModel.model_fields[key].alias if key in CustomModel.model_fields else key
            kind = error.get("type", "")
            if kind == "value_error":
                message = str((error.get("ctx") or {}).get("error", error.get("msg", "")))
            elif kind == "extra_forbidden":
                key, message = "__all__", f"Dynamote has no model fact named {loc[0]!r}."
            else:
                message = _MESSAGES.get(kind, str(error.get("msg", "This value is not valid.")))
            if message not in errors.setdefault(key, []):
                errors[key].append(message)
        raise CustomModelError(errors) from None


def from_form_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The facts as the deploy form sends them (a QueryDict or a plain dict) in camelCase."""
    facts: dict[str, Any] = {}
    for key, name in FORM_FIELDS.items():
        if key == "engines":
            values = data.getlist(name) if hasattr(data, "getlist") else data.get(name)
            facts[key] = list(values or [])
        else:
            facts[key] = data.get(name)
    return facts

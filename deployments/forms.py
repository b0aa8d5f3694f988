"""The deploy form: what a person chooses, checked by the config layer and the CRD schema."""

from __future__ import annotations

import json
import secrets
import shlex
from typing import Any

from django import forms
from django.forms.utils import ErrorDict
from pydantic.alias_generators import to_snake

from deployments import custom_model
from deployments.manifests import (
    DEFAULT_HF_TOKEN_SECRET,
    ENGINES,
    MAX_REPLICAS,
    MODES,
    ROUTER_MODES,
    TP_SIZES,
    DeploymentConfig,
    ModelFacts,
    default_image_tag,
    default_name,
    max_name_length,
)
from deployments.plan import Plan, Target, plan
from deployments.services import model_cache_check, propose_name
from deployments.volumes import MODEL_CACHE_MOUNT, CacheCheck

INPUT = (
    "w-full rounded-lg border border-zinc-700 bg-zinc-950 px-3 py-2 text-sm text-zinc-100 "
    "placeholder:text-zinc-600 focus:border-nvidia focus:outline-none focus:ring-2 "
    "focus:ring-nvidia/40 aria-invalid:border-red-500"
)
CHECKBOX = "size-4 rounded border-zinc-600 bg-zinc-950 accent-[#76B900]"

ENGINE_BLURBS = {
    "vllm": "PagedAttention, the widest model support.",
    "sglang": "RadixAttention prefix cache, fast structured output.",
    "trtllm": "NVIDIA's compiled kernels, highest throughput on NVIDIA GPUs.",
}

# Fields that only make sense in disaggregated mode, and the advanced section's fields.
ROLE_FIELDS = (
    "prefill_replicas",
    "prefill_tensor_parallel_size",
    "decode_replicas",
    "decode_tensor_parallel_size",
)
ADVANCED_FIELDS = (
    "served_model_name",
    "context_length",
    "enforce_eager",
    "enable_prefix_caching",
    "trust_remote_code",
    "engine_args",
    "image",
    "cpu",
    "memory",
)


class EngineCards(forms.RadioSelect):
    """Engines as radio cards; engines the model does not run on are disabled with the reason."""

    template_name = "django/forms/widgets/engine_cards.html"
    option_template_name = "django/forms/widgets/engine_card.html"

    def __init__(self, *args, reasons: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.reasons = reasons or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        reason = self.reasons.get(str(value), "")
        option["reason"] = reason
        option["blurb"] = ENGINE_BLURBS.get(str(value), "")
        if reason:
            option["attrs"]["disabled"] = True
            option["attrs"]["aria-describedby"] = f"{option['attrs'].get('id', '')}_reason"
        return option


class ChoiceCards(forms.RadioSelect):
    """A short list of choices as side-by-side cards."""

    template_name = "django/forms/widgets/choice_cards.html"
    option_template_name = "django/forms/widgets/choice_card.html"


def _number(minimum: int, maximum: int) -> forms.NumberInput:
    return forms.NumberInput(attrs={"min": minimum, "max": maximum, "class": INPUT})


def _tp_choices() -> list[tuple[int, str]]:
    return [(tp, f"{tp} GPU{'' if tp == 1 else 's'}") for tp in TP_SIZES]


class DeploymentForm(forms.Form):
    """Deploy one catalog model; `clean` leaves the parsed config and the manifest behind."""

    # Numbers and choices are checked by the config layer, so every message reads the same
    # whether it comes from this form, the JSON API or the command line.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False)
    model = forms.CharField(widget=forms.HiddenInput)
    engine = forms.ChoiceField(choices=[(key, facts.label) for key, facts in ENGINES.items()])
    name = forms.CharField(
        required=False,
        max_length=63,
        help_text="Lowercase letters, digits and hyphens; also the prefix of its pods.",
        widget=forms.TextInput(
            attrs={"class": INPUT + " font-mono", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    namespace = forms.CharField(max_length=63)
    mode = forms.ChoiceField(
        choices=list(MODES.items()),
        initial="aggregated",
        widget=ChoiceCards,
    )
    replicas = forms.IntegerField(initial=1, label="Replicas", widget=_number(1, MAX_REPLICAS))
    tensor_parallel_size = forms.TypedChoiceField(
        coerce=int,
        choices=_tp_choices(),
        label="GPUs per worker (TP)",
        widget=forms.Select(attrs={"class": INPUT}),
    )
    prefill_replicas = forms.IntegerField(
        required=False, label="Prefill replicas", widget=_number(1, MAX_REPLICAS)
    )
    prefill_tensor_parallel_size = forms.TypedChoiceField(
        coerce=int,
        choices=_tp_choices(),
        required=False,
        label="Prefill GPUs per worker (TP)",
        widget=forms.Select(attrs={"class": INPUT}),
    )
    decode_replicas = forms.IntegerField(
        required=False, label="Decode replicas", widget=_number(1, MAX_REPLICAS)
    )
    decode_tensor_parallel_size = forms.TypedChoiceField(
        coerce=int,
        choices=_tp_choices(),
        required=False,
        label="Decode GPUs per worker (TP)",
        widget=forms.Select(attrs={"class": INPUT}),
    )
    router_mode = forms.ChoiceField(
        label="Router mode", widget=forms.Select(attrs={"class": INPUT})
    )
    hf_token_secret = forms.CharField(
        label="Hugging Face token secret",
        initial=DEFAULT_HF_TOKEN_SECRET,
        max_length=253,
        help_text="A Secret in the namespace with the key HF_TOKEN; mounted into every worker.",
        widget=forms.TextInput(attrs={"class": INPUT + " font-mono", "autocomplete": "off"}),
    )
    served_model_name = forms.CharField(
        required=False,
        label="Served model name",
        help_text="The name clients put in the API's model field; the Hugging Face id by default.",
        widget=forms.TextInput(attrs={"class": INPUT + " font-mono", "autocomplete": "off"}),
    )
    context_length = forms.IntegerField(
        required=False,
        label="Context length (tokens)",
        widget=forms.NumberInput(attrs={"class": INPUT, "min": 1}),
    )
    enforce_eager = forms.BooleanField(
        required=False,
        label="Enforce eager (no CUDA graphs)",
        widget=forms.CheckboxInput(attrs={"class": CHECKBOX}),
    )
    enable_prefix_caching = forms.BooleanField(
        required=False,
        initial=True,
        label="Prefix caching",
        widget=forms.CheckboxInput(attrs={"class": CHECKBOX}),
    )
    trust_remote_code = forms.BooleanField(
        required=False,
        label="Trust remote code",
        widget=forms.CheckboxInput(attrs={"class": CHECKBOX}),
    )
    engine_args = forms.CharField(
        required=False,
        label="Extra engine arguments",
        help_text="Split like a shell line, e.g. --max-num-seqs 64 --kv-cache-dtype fp8.",
        widget=forms.TextInput(
            attrs={"class": INPUT + " font-mono", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    image = forms.CharField(
        required=False,
        label="Runtime image",
        widget=forms.TextInput(attrs={"class": INPUT + " font-mono", "autocomplete": "off"}),
    )
    cpu = forms.CharField(
        required=False,
        label="CPU request",
        widget=forms.TextInput(attrs={"class": INPUT, "placeholder": "e.g. 8"}),
    )
    memory = forms.CharField(
        required=False,
        label="Memory request",
        widget=forms.TextInput(attrs={"class": INPUT, "placeholder": "e.g. 32Gi"}),
    )
    # Where the weights live and which GPUs run them (choices from the cluster, see
    # `_storage_choices`; free text when it cannot be asked).
    model_cache = forms.CharField(
        required=False,
        label="Model cache",
        widget=forms.TextInput(
            attrs={"class": INPUT + " font-mono", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    gpu_product = forms.CharField(
        required=False,
        label="GPU type",
        widget=forms.TextInput(
            attrs={"class": INPUT + " font-mono", "autocomplete": "off", "spellcheck": "false"}
        ),
    )

    def __init__(
        self,
        data=None,
        *,
        model: ModelFacts,
        target: Target,
        default_namespace: str,
        allowed_namespaces: list[str] | None = None,
        taken_names: set[str] | None = None,
        custom: bool = False,
        **kwargs,
    ):
        super().__init__(data, **kwargs)
        # A model that is not in the catalog: its facts are fields of the form, first.
        self.custom = custom
        self.custom_model = None
        # While previewing, a fact not typed yet gets no message (a submit says it is needed).
        self.custom_quiet = False
        if custom:
            self.fields = {**custom_model.form_fields(), **self.fields}
        # Names of the DGDs already in the chosen namespace: generated names avoid them.
        self.taken_names = taken_names or set()
        self.name_suggestion: str | None = None  # a free name, after the cluster said "taken"
        self.facts = model
        self.target = target
        self.default_namespace = default_namespace
        self.config: DeploymentConfig | None = None
        self.manifest: dict | None = None

        supported = [engine for engine in ENGINES if engine in model.supported_engines]
        first = supported[0] if supported else "vllm"
        self.fields["engine"].widget = EngineCards(
            reasons={
                key: f"{model.name or model.slug} does not run on {facts.label}."
                for key, facts in ENGINES.items()
                if key not in model.supported_engines
            }
        )
        self.fields["engine"].widget.choices = self.fields["engine"].choices
        self.fields["engine"].initial = first
        self.fields["model"].initial = model.slug
        self.fields["idempotency_key"].initial = secrets.token_urlsafe(24)
        self.fields["name"].initial = self.default_names()[first]
        self.fields["name"].widget.attrs["data-generated-names"] = json.dumps(self.default_names())
        self.fields["tensor_parallel_size"].initial = model.default_tp
        for role in ("prefill", "decode"):
            self.fields[f"{role}_replicas"].initial = 1
            self.fields[f"{role}_tensor_parallel_size"].initial = model.default_tp
        self.fields["context_length"].widget.attrs["max"] = model.context_length
        self.fields["context_length"].widget.attrs["placeholder"] = f"{model.context_length}"
        self.fields[
            "context_length"
        ].help_text = f"At most {model.context_length:,}; the model's full context by default."
        self.fields["image"].widget.attrs["placeholder"] = ENGINES[first].image(
            default_image_tag(target.api_version, target.dynamo_version)
        )
        modes = ROUTER_MODES[target.api_version]
        self.fields["router_mode"].choices = [(mode, mode) for mode in modes]
        self.fields["router_mode"].initial = modes[0]
        self.fields["router_mode"].help_text = (
            "How the frontend picks a worker; kv routes to the worker holding the prompt's "
            "prefix in its KV cache."
        )

        namespaces = allowed_namespaces or target.namespaces
        if namespaces:
            choices = sorted(set(namespaces) | ({default_namespace} - {""}))
            if allowed_namespaces:
                choices = list(allowed_namespaces)
            self.fields["namespace"] = forms.ChoiceField(
                choices=[(ns, ns) for ns in choices],
                widget=forms.Select(attrs={"class": INPUT}),
            )
        else:
            self.fields["namespace"].widget = forms.TextInput(
                attrs={"class": INPUT + " font-mono", "autocomplete": "off"}
            )
            self.fields["namespace"].help_text = target.namespaces_note
        self.fields["namespace"].initial = default_namespace
        self.fields["namespace"].label = "Namespace"
        self._storage_choices()

    # --- model cache and GPU type ---------------------------------------------------------

    CACHE_HELP = (
        f"An existing PersistentVolumeClaim mounted at {MODEL_CACHE_MOUNT} on the frontend and "
        "every worker (HF_HOME), so the weights are downloaded once, not by every pod."
    )

    @property
    def storage_namespace(self) -> str:
        """The namespace whose claims the model-cache choice lists."""
        value = self.data.get("namespace") if self.is_bound else None
        return str(value or self.default_namespace).strip()

    def _storage_choices(self) -> None:
        """Claims of the chosen namespace and the nodes' GPU products as choices."""
        bound = self.data if self.is_bound else {}
        listing = self.target.claims_in(self.storage_namespace)
        if listing is not None and listing.claims is not None:
            choices = [("", "No cache: each worker downloads the weights")]
            choices += [(claim.name, claim.label) for claim in listing.claims.values()]
            chosen = str(bound.get("model_cache") or "").strip()
            if chosen and chosen not in listing.claims:
                choices.append((chosen, f"{chosen} (not in {listing.namespace})"))
            self.fields["model_cache"] = forms.ChoiceField(
                choices=choices,
                required=False,
                label="Model cache",
                widget=forms.Select(attrs={"class": INPUT}),
            )
            self.fields["model_cache"].help_text = self.CACHE_HELP
        else:
            note = listing.note if listing is not None else "The cluster cannot be asked."
            self.fields["model_cache"].help_text = f"{self.CACHE_HELP} {note}"
        products = self.target.gpu_products
        if products is not None and products.products is not None:
            choices = [("", "Any GPU")]
            choices += [(product, products.label(product)) for product in products.products]
            chosen = str(bound.get("gpu_product") or "").strip()
            if chosen and chosen not in products.products:
                choices.append((chosen, f"{chosen} (no node has it)"))
            self.fields["gpu_product"] = forms.ChoiceField(
                choices=choices,
                required=False,
                label="GPU type",
                widget=forms.Select(attrs={"class": INPUT}),
            )
            self.fields["gpu_product"].help_text = (
                "Pins the workers to nodes of this GPU (nvidia.com/gpu.product); "
                "the GPU fit counts only those."
            )
        else:
            note = products.note if products is not None else "The cluster cannot be asked."
            self.fields[
                "gpu_product"
            ].help_text = (
                f"A node label nvidia.com/gpu.product value, e.g. NVIDIA-H100-80GB-HBM3. {note}"
            )

    @property
    def claims_stale(self) -> bool:
        """Whether the page lists another namespace's claims (the namespace changed)."""
        return self.is_bound and self.data.get("claims_for") != self.storage_namespace

    @property
    def cache_check(self) -> CacheCheck | None:
        """What the chosen model cache means, with the fix when the claim is wrong."""
        config = self.config or self.plan_config
        if config is None:
            return None
        return model_cache_check(target=self.target, config=config, model=self.facts)

    @property
    def plan_config(self) -> DeploymentConfig | None:
        return getattr(getattr(self, "plan", None), "config", None)

    # --- reading the form ---------------------------------------------------------------

    def config_data(self) -> dict[str, Any]:
        """The submitted values as the config's fields (snake_case), unparsed."""
        data: dict[str, Any] = {}
        disaggregated = self._raw("mode") == "disaggregated"
        for name in self.fields:
            if name in ("idempotency_key", "model") or name.startswith("custom_"):
                continue
            if name in ROLE_FIELDS and not disaggregated:
                continue
            data[name] = self._raw(name)
        engine, name = data.get("engine"), data.get("name")
        if name and engine in ENGINES and name in self.generated_names():
            # An untouched generated name follows the engine and stays free:
            # qwen3-8b-vllm -> qwen3-8b-sglang, or qwen3-8b-vllm-2 when the first is taken.
            data["name"] = self.default_names()[engine]
        data["model_id"] = self.facts.slug
        if self.custom_model is not None:
            data["custom_model"] = self.custom_model.as_config()
        return data

    def _raw(self, name: str) -> Any:
        widget = self.fields[name].widget
        return widget.value_from_datadict(self.data, self.files, self.add_prefix(name))

    def full_clean(self) -> None:
        """Validation is the deploy pipeline's (`plan`), so the form says what the API says."""
        self._errors = ErrorDict(renderer=self.renderer)
        self.cleaned_data = {}
        if not self.is_bound:
            return
        custom_errors: dict[str, list[str]] = {}
        if self.custom:
            self.custom_model, custom_errors = custom_model.parse_form(self.data)
        self.plan: Plan = plan(self.facts, self.target, self.config_data())
        self.add_config_errors(self.plan.errors)
        for name, messages in custom_errors.items():
            if self.custom_quiet and name in self.fields and not self._raw(name):
                continue
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        if self.plan.ok and not custom_errors:
            self.config, self.manifest = self.plan.config, self.plan.manifest
            self.cleaned_data = self.config_data()

    def add_config_errors(self, errors: dict[str, list[str]]) -> None:
        """Puts the config layer's (or the cluster's) messages next to the fields they name."""
        for key, messages in errors.items():
            name = _form_field(key)
            for message in messages:
                if name in self.fields and name not in ("model", "idempotency_key"):
                    if message not in self.errors.get(name, []):
                        self.add_error(name, message)
                else:
                    label = "" if key == "__all__" else f"{key}: "
                    self.add_error(None, f"{label}{message}")

    def default_names(self) -> dict[str, str]:
        """Per engine, the generated name, or the first free `-2`, `-3` … when it is taken."""
        names = {}
        for engine in ENGINES:
            base = default_name(self.facts, engine)
            limit = max_name_length(engine, "disaggregated")
            names[engine] = propose_name(name=base, taken=self.taken_names, limit=limit) or base
        return names

    def generated_names(self) -> set[str]:
        """Every name Dynamote may have proposed, so a name nobody typed is recognised."""
        bases = {default_name(self.facts, engine) for engine in ENGINES}
        return bases | set(self.default_names().values())

    @property
    def default_names_json(self) -> str:
        return json.dumps(self.default_names())

    # --- for the template ---------------------------------------------------------------

    @property
    def disaggregated(self) -> bool:
        return self._value("mode") == "disaggregated"

    @property
    def advanced_open(self) -> bool:
        """Open the advanced section when it holds an error or a value other than the default."""
        for name in ADVANCED_FIELDS:
            if self.errors.get(name):
                return True
            value = self._value(name)
            initial = self.fields[name].initial
            if name == "enable_prefix_caching":
                if value is not None and bool(value) != bool(initial):
                    return True
            elif value not in (None, "", False, initial):
                return True
        return False

    def _value(self, name: str) -> Any:
        return self[name].value()

    def group(self, *names: str) -> list[forms.BoundField]:
        return [self[name] for name in names]

    @property
    def custom_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("custom_")]

    @property
    def basics(self) -> list[forms.BoundField]:
        return self.group("name", "namespace")

    @property
    def aggregated_sizing(self) -> list[forms.BoundField]:
        return self.group("replicas", "tensor_parallel_size")

    @property
    def prefill_sizing(self) -> list[forms.BoundField]:
        return self.group("prefill_replicas", "prefill_tensor_parallel_size")

    @property
    def decode_sizing(self) -> list[forms.BoundField]:
        return self.group("decode_replicas", "decode_tensor_parallel_size")

    @property
    def advanced_text(self) -> list[forms.BoundField]:
        return self.group("served_model_name", "context_length", "engine_args", "image")

    @property
    def advanced_flags(self) -> list[forms.BoundField]:
        return self.group("enforce_eager", "enable_prefix_caching", "trust_remote_code")

    @property
    def advanced_resources(self) -> list[forms.BoundField]:
        return self.group("cpu", "memory")


def _form_field(key: str) -> str:
    if key == "__all__":
        return "__all__"
    if key == "modelId":
        return "model"
    return to_snake(key)


def initial_from_config(config: dict[str, Any]) -> dict[str, Any]:
    """Form initial values from a stored (camelCase) config, e.g. to retry a submission."""
    initial = custom_model.initial_from_config(config.get("customModel"))
    for key, value in config.items():
        name = _form_field(key)
        if name in DeploymentForm.base_fields and name not in ("model", "idempotency_key"):
            if name == "engine_args" and isinstance(value, list):
                value = shlex.join(value)
            initial[name] = value
    return initial

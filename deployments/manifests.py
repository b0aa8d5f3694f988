"""Turn a deployment configuration into a DynamoGraphDeployment manifest (pure, no I/O).

Validation comes in layers: `parse_config` checks what a person chose (layer 1),
`crd.schema_errors` checks the built manifest against the CRD the cluster serves (layer 2), and
the deploy service runs a server-side dry-run before the real create (layer 3).
"""

from __future__ import annotations

import json
import math
import re
import shlex
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from deployments.engines import (
    API_VERSIONS,
    DEFAULT_API_VERSION,
    DEFAULT_ROUTER_MODE,
    ENGINES,
    GROUP,
    KIND,
    MANAGED_ENV,
    MANAGED_FLAGS,
    MODES,
    ROUTER_MODES,
    TRTLLM_DISAGG_ENGINE_ARGS,
    EngineFacts,
    newest_published,
    resolve_release,
)
from deployments.volumes import weights_storage, with_storage

__all__ = [
    "API_VERSIONS",
    "ENGINES",
    "MANAGED_BY",
    "MODES",
    "ROUTER_MODES",
    "ConfigError",
    "DeploymentConfig",
    "ModelFacts",
    "build_manifest",
    "config_field_for_path",
    "default_image_tag",
    "default_name",
    "max_name_length",
    "parse_config",
    "render_yaml",
]

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "dynamote"
MODEL_ID_KEY = "dynamote.io/model-id"
ENGINE_LABEL = "dynamote.io/engine"
# A model that is not in the catalog carries its facts (JSON), so the pages can name it.
CUSTOM_MODEL_KEY = "dynamote.io/custom-model"
DEFAULT_HF_TOKEN_SECRET = "hf-token-secret"

MAX_REPLICAS = 10
TP_SIZES = (1, 2, 4, 8)
MAX_ENGINE_ARGS = 200
MAX_TOKEN_LENGTH = 4096
MAX_ENV = 50
MAX_ENV_VALUE = 4096
# The kubelet replaces $(NAME) in container args and env values with another variable's value.
_REFERENCE = "$("
_REFERENCE_WHY = (
    "Kubernetes replaces $(NAME) with the value of the variable NAME (HF_TOKEN included), "
    "which would then show in the process arguments and logs; $$( is expanded too."
)
# Kubernetes caps object names used as DNS labels (and label values) at 63 characters.
DNS_LABEL_MAX = 63

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_QUANTITY = re.compile(
    r"^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE]\+?[0-9]+))?$"
)
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_IMAGE_NAME = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?/)?"
    rf"{_IMAGE_NAME}(?:/{_IMAGE_NAME})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
_FORBIDDEN_CHARS = ("\n", "\r", "\x00")


class ModelFacts(BaseModel):
    """What the builder needs from a catalog entry, without importing Django."""

    model_config = ConfigDict(frozen=True)

    slug: str
    hf_repo_id: str
    name: str = ""
    context_length: int
    supported_engines: tuple[str, ...]
    default_tp: int = 1
    gated: bool = False
    parameters_billions: float = 0.0
    weight_format: str = "bf16"

    @classmethod
    def from_catalog(cls, obj: Any) -> ModelFacts:
        """Read the facts off a CatalogModel (or anything with the same attributes)."""
        return cls(
            slug=obj.slug,
            hf_repo_id=obj.hf_repo_id,
            name=obj.name,
            context_length=obj.context_length,
            supported_engines=tuple(obj.supported_engines),
            default_tp=obj.default_tp,
            gated=obj.gated,
            parameters_billions=obj.parameters_billions,
            weight_format=getattr(obj, "weight_format", "bf16"),
        )


class ConfigError(Exception):
    """A configuration a person must fix; `errors` maps camelCase field names to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = {field: list(messages) for field, messages in errors.items() if messages}
        super().__init__(
            "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in self.errors.items())
        )


class DeploymentConfig(BaseModel):
    """What a person chose for one deployment; build it with `parse_config`."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        protected_namespaces=(),
    )

    name: str = ""
    namespace: str = "default"
    model_id: str = ""
    engine: Literal["vllm", "sglang", "trtllm"] = "vllm"
    mode: Literal["aggregated", "disaggregated"] = "aggregated"
    api_version: Literal["v1alpha1", "v1beta1"] = DEFAULT_API_VERSION
    image: str | None = None
    # Worker replicas and GPUs per worker; in disaggregated mode, the defaults for both roles.
    replicas: int = 1
    tensor_parallel_size: int = 1
    prefill_replicas: int | None = None
    prefill_tensor_parallel_size: int | None = None
    decode_replicas: int | None = None
    decode_tensor_parallel_size: int | None = None
    served_model_name: str | None = None
    router_mode: str = DEFAULT_ROUTER_MODE
    hf_token_secret: str | None = None
    context_length: int | None = None
    enforce_eager: bool = False
    enable_prefix_caching: bool = True
    trust_remote_code: bool = False
    engine_args: list[str] = Field(default_factory=list)
    cpu: str | None = None
    memory: str | None = None
    shared_memory_size: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    # An existing PersistentVolumeClaim for the weights, and the GPU type to run on.
    model_cache: str | None = None
    gpu_product: str | None = None
    # A model that is not in the catalog: its checked facts (`catalog.custom.CustomModel`).
    custom_model: dict[str, Any] | None = None
    # The seed's spelling of CPU and memory requests; parse_config folds it into cpu/memory.
    resources: dict[str, Any] | None = Field(default=None, exclude=True)

    @field_validator("engine_args", mode="before")
    @classmethod
    def _split_engine_args(cls, value: Any) -> Any:
        # A single string (a form's text box, a shell line) is split the way a shell would.
        if isinstance(value, str):
            try:
                return shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"The arguments cannot be split into tokens: {exc}.") from exc
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env_as_mapping(cls, value: Any) -> Any:
        # Accept [{"name": ..., "value": ...}] (Kubernetes' shape) and ["NAME=value"] too.
        if not isinstance(value, list):
            return value
        result: dict[str, Any] = {}
        for item in value:
            if isinstance(item, dict) and set(item) <= {"name", "value"} and "name" in item:
                name, val = item["name"], item.get("value", "")
            elif isinstance(item, str) and "=" in item:
                name, _, val = item.partition("=")
            else:
                raise ValueError(
                    "Give each variable as NAME=value or as {name: NAME, value: value}."
                )
            if not isinstance(name, str):
                raise ValueError("Variable names must be text.")
            if name in result:
                raise ValueError(f"The variable {name} is given twice.")
            result[name] = val
        return result

    @property
    def engine_facts(self) -> EngineFacts:
        return ENGINES[self.engine]

    @property
    def disaggregated(self) -> bool:
        return self.mode == "disaggregated"

    def role_replicas(self, role: str) -> int:
        value = {"prefill": self.prefill_replicas, "decode": self.decode_replicas}.get(role)
        return self.replicas if value is None else value

    def role_tensor_parallel_size(self, role: str) -> int:
        value = {
            "prefill": self.prefill_tensor_parallel_size,
            "decode": self.decode_tensor_parallel_size,
        }.get(role)
        return self.tensor_parallel_size if value is None else value


# --- names and defaults -------------------------------------------------------------------


def worker_roles(mode: str) -> list[str]:
    return ["prefill", "decode"] if mode == "disaggregated" else ["worker"]


def component_names(engine: str, mode: str) -> list[str]:
    """The components a graph of this engine and mode has, frontend first."""
    facts = ENGINES[engine]
    return ["Frontend", *(facts.component_name(role) for role in worker_roles(mode))]


def max_name_length(engine: str, mode: str) -> int:
    """The longest deployment name whose derived `<name>-<component>` names fit in 63."""
    longest = max(len(name) for name in component_names(engine, mode))
    return DNS_LABEL_MAX - 1 - longest


def default_name(model: ModelFacts, engine: str) -> str:
    """A deployment name from the catalog id and engine, e.g. `qwen3-8b-vllm`."""
    base = re.sub(r"[^a-z0-9]+", "-", f"{model.slug}-{engine}".lower()).strip("-")
    if not base or not base[0].isalpha():
        base = f"m-{base}".strip("-")
    # Short enough for either mode, so switching mode never makes the default name invalid.
    limit = max_name_length(engine, "disaggregated") if engine in ENGINES else DNS_LABEL_MAX
    return base[:limit].rstrip("-")


def default_image_tag(api_version: str, configured: str | None = None) -> str:
    """The runtime tag for a target: the configured release if it is of the right generation.

    A release newer than the newest published one Dynamote knows gets the newest published
    images (its own are not out yet).
    """
    return resolve_release(api_version=api_version, configured=configured).image_tag


def image_tag_reason(api_version: str, configured: str | None = None) -> str:
    """Why new deployments of this target run the runtime tag they run, in one sentence."""
    return resolve_release(api_version=api_version, configured=configured).reason


# --- layer 1: the configuration -------------------------------------------------------------

_FIELD_LABELS = {
    "modelId": "the model",
    "servedModelName": "Served model name",
    "tensorParallelSize": "Tensor-parallel size",
    "contextLength": "Context length",
    "trustRemoteCode": "Trust remote code",
    "enforceEager": "Enforce eager",
    "enablePrefixCaching": "Prefix caching",
    "mode": "Mode",
    "routerMode": "Router mode",
    "modelCache": "Model cache",
    "gpuProduct": "GPU type",
}

_ALIASES = {name: field.alias or name for name, field in DeploymentConfig.model_fields.items()}
_KNOWN_KEYS = set(_ALIASES) | set(_ALIASES.values())


def parse_config(
    data: dict,
    *,
    model: ModelFacts,
    api_version: str | None = None,
    default_namespace: str = "default",
) -> DeploymentConfig:
    """Validate what a person chose and fill in the defaults; raise ConfigError if it is wrong."""
    try:
        return _parse_config(data, model, api_version, default_namespace)
    except ConfigError:
        raise
    except Exception as exc:  # a bug must still reach the person as a message, not a 500
        raise ConfigError(
            {"__all__": [f"Dynamote could not read these settings ({type(exc).__name__})."]}
        ) from exc


def _parse_config(
    data: Any, model: ModelFacts, api_version: str | None, default_namespace: str
) -> DeploymentConfig:
    if not isinstance(data, dict):
        raise ConfigError({"__all__": ["Give the settings as a mapping of field names to values."]})
    raw = {}
    for key, value in data.items():
        # A blank form field or a missing CLI option means "use the default".
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, str) and key != "engineArgs" and key != "engine_args":
            value = value.strip()
        raw[key] = value
    unknown = [key for key in raw if not isinstance(key, str) or key not in _KNOWN_KEYS]
    errors: dict[str, list[str]] = {}
    if unknown:
        names = ", ".join(sorted(repr(key) for key in unknown))
        errors["__all__"] = [f"Dynamote has no setting named {names}."]
        raw = {key: value for key, value in raw.items() if key not in unknown}

    defaults: dict[str, Any] = {
        "namespace": default_namespace,
        "modelId": model.slug,
        "apiVersion": api_version or DEFAULT_API_VERSION,
        "tensorParallelSize": model.default_tp,
    }
    if model.supported_engines:
        defaults["engine"] = model.supported_engines[0]
    # Like the deploy form: the token Secret is always wired, so a model that becomes gated,
    # or one with gated dependencies, still starts.
    defaults["hfTokenSecret"] = DEFAULT_HF_TOKEN_SECRET
    for alias, value in defaults.items():
        snake = next(name for name, a in _ALIASES.items() if a == alias)
        if alias not in raw and snake not in raw:
            raw[alias] = value
    if isinstance(raw.get("apiVersion"), str):
        raw["apiVersion"] = raw["apiVersion"].removeprefix(f"{GROUP}/")

    try:
        config = DeploymentConfig.model_validate(raw)
    except ValidationError as exc:
        errors.update(_pydantic_errors(exc))
        # Check the rest too, so a person sees every problem at once.
        bad = set(errors)
        raw = {key: value for key, value in raw.items() if _ALIASES.get(key, key) not in bad}
        try:
            config = DeploymentConfig.model_validate(raw)
        except ValidationError:
            raise ConfigError(errors) from None

    if not config.name:
        config = config.model_copy(update={"name": default_name(model, config.engine)})
    for field, messages in _check(config, model).items():
        if field not in errors:
            errors[field] = messages
    if any(errors.values()):
        raise ConfigError(errors)
    return _with_resources(config)


def _pydantic_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        loc = error.get("loc") or ()
        field = str(loc[0]) if loc else "__all__"
        field = _ALIASES.get(field, field)
        kind = error.get("type", "")
        ctx = error.get("ctx") or {}
        if kind == "value_error":
            message = str(ctx.get("error", error.get("msg", "")))
        elif kind in {"int_parsing", "int_type", "int_from_float"}:
            message = "Enter a whole number."
        elif kind in {"bool_parsing", "bool_type"}:
            message = "Choose true or false."
        elif kind == "string_type":
            message = "Enter text."
        elif kind == "literal_error":
            message = f"Choose one of {ctx.get('expected', '')}."
        elif kind == "list_type":
            message = "Give a list of values."
        elif kind == "dict_type":
            message = "Give a mapping of names to values."
        elif kind == "missing":
            message = "This field is required."
        else:
            message = str(error.get("msg", "This value is not valid."))
        if len(loc) > 1 and kind != "value_error":
            where = loc[1] + 1 if isinstance(loc[1], int) else loc[1]
            message = f"Item {where}: {message}"
        errors.setdefault(field, [])
        if message not in errors[field]:
            errors[field].append(message)
    return errors


def _check(config: DeploymentConfig, model: ModelFacts) -> dict[str, list[str]]:
    """The checks that need the catalog entry or several fields at once."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    facts = config.engine_facts
    limit = max_name_length(config.engine, config.mode)
    if len(config.name) > limit:
        longest = max(component_names(config.engine, config.mode), key=len).lower()
        add(
            "name",
            f"Use at most {limit} characters: the operator names services "
            f"“<name>-{longest}”, and Kubernetes allows {DNS_LABEL_MAX}.",
        )
    elif not _DNS_1035_LABEL.match(config.name):
        add(
            "name",
            "Use lowercase letters, digits and hyphens, starting with a letter and ending "
            "with a letter or digit (a Kubernetes DNS label).",
        )
    if len(config.namespace) > DNS_LABEL_MAX or not _DNS_LABEL.match(config.namespace):
        add(
            "namespace",
            f"Use at most {DNS_LABEL_MAX} lowercase letters, digits and hyphens, starting and "
            "ending with a letter or digit (a Kubernetes namespace name).",
        )
    if config.model_id != model.slug:
        add("modelId", f"This deployment is for {model.slug}, not {config.model_id!r}.")
    if config.engine not in model.supported_engines:
        labels = ", ".join(ENGINES[e].label for e in model.supported_engines if e in ENGINES)
        add(
            "engine",
            f"{model.name or model.slug} does not run on {facts.label}; choose {labels or 'none'}.",
        )

    replica_fields = {"replicas": config.replicas}
    tp_fields = {"tensorParallelSize": config.tensor_parallel_size}
    role_fields = {
        "prefillReplicas": config.prefill_replicas,
        "decodeReplicas": config.decode_replicas,
        "prefillTensorParallelSize": config.prefill_tensor_parallel_size,
        "decodeTensorParallelSize": config.decode_tensor_parallel_size,
    }
    for field, value in role_fields.items():
        if value is None:
            continue
        if not config.disaggregated:
            add(field, "This applies only to disaggregated mode; clear it or change the mode.")
        elif field.endswith("Replicas"):
            replica_fields[field] = value
        else:
            tp_fields[field] = value
    for field, value in replica_fields.items():
        if not 1 <= value <= MAX_REPLICAS:
            add(field, f"Choose between 1 and {MAX_REPLICAS} replicas.")
    for field, value in tp_fields.items():
        if value not in TP_SIZES:
            add(
                field,
                "Choose a tensor-parallel size of 1, 2, 4 or 8 (one GPU per rank, "
                "so each worker gets that many GPUs).",
            )

    if config.context_length is not None:
        if config.context_length < 1:
            add("contextLength", "Choose a positive number of tokens.")
        elif config.context_length > model.context_length:
            add(
                "contextLength",
                f"{model.name or model.slug} handles at most {model.context_length} tokens; "
                "choose that or fewer.",
            )

    modes = ROUTER_MODES[config.api_version]
    if config.router_mode not in modes:
        known = any(config.router_mode in listed for listed in ROUTER_MODES.values())
        add(
            "routerMode",
            (
                f"Router mode {config.router_mode!r} is not available with {config.api_version} "
                f"(Dynamo {newest_published(config.api_version)})"
                if known
                else f"Dynamo has no router mode {config.router_mode!r}"
            )
            + f"; choose one of {', '.join(modes)}.",
        )

    if config.served_model_name is not None and (
        len(config.served_model_name) > 256
        or any(ch.isspace() or not ch.isprintable() for ch in config.served_model_name)
    ):
        add("servedModelName", "Use at most 256 characters without spaces or control characters.")
    elif config.served_model_name is not None and _REFERENCE in config.served_model_name:
        add("servedModelName", f"Remove “$(”: {_REFERENCE_WHY}")
    if config.hf_token_secret is not None and (
        len(config.hf_token_secret) > 253 or not _DNS_SUBDOMAIN.match(config.hf_token_secret)
    ):
        add(
            "hfTokenSecret",
            "Name a Kubernetes Secret: lowercase letters, digits, '-' and '.', "
            "at most 253 characters.",
        )
    if config.image is not None and (len(config.image) > 512 or not _IMAGE.match(config.image)):
        add(
            "image",
            "Give a container image reference such as "
            f"{facts.image(newest_published(config.api_version))}.",
        )

    unsupported = {
        "trustRemoteCode": config.trust_remote_code,
        "enforceEager": config.enforce_eager,
        "enablePrefixCaching": not config.enable_prefix_caching,
    }
    for field, asked in unsupported.items():
        if asked and not facts.options[field]:
            add(
                field,
                f"{facts.label} does not take “{_FIELD_LABELS[field]}” on the command line; "
                "set it in an engine config YAML (--extra-engine-args in engine args) "
                "and leave this at its default.",
            )

    if config.router_mode == "kv" and not config.enable_prefix_caching:
        add(
            "enablePrefixCaching",
            "KV-aware routing needs prefix caching: the workers publish the KV-cache blocks "
            "it keeps. Turn prefix caching on, or choose another router mode.",
        )
    for field, messages in _storage_errors(config).items():
        errors.setdefault(field, []).extend(messages)
    for message in _engine_args_errors(config.engine_args):
        add("engineArgs", message)
    for message in _env_errors(config.env):
        add("env", message)
    for message in _resources_errors(config.resources):
        add("resources", message)
    for field, value in (
        ("cpu", config.cpu),
        ("memory", config.memory),
        ("sharedMemorySize", config.shared_memory_size),
    ):
        if value is not None and not _is_positive_quantity(value):
            add(field, _QUANTITY_HINT[field])
    return errors


def _storage_errors(config: DeploymentConfig) -> dict[str, list[str]]:
    """The model cache must name a claim and the GPU type must be a label value."""
    errors: dict[str, list[str]] = {}
    cache = config.model_cache
    if cache is not None and (len(cache) > 253 or not _DNS_SUBDOMAIN.match(cache)):
        errors["modelCache"] = [
            "Name a PersistentVolumeClaim: lowercase letters, digits, '-' and '.', "
            "at most 253 characters."
        ]
    elif cache is not None and "HF_HOME" in config.env:
        errors["env"] = ["Remove HF_HOME: with a model cache Dynamote sets it to the cache."]
    product = config.gpu_product
    if product is not None and (len(product) > DNS_LABEL_MAX or not _LABEL_VALUE.match(product)):
        errors["gpuProduct"] = [
            "Give a GPU product as nodes label it, e.g. NVIDIA-H100-80GB-HBM3 "
            f"(at most {DNS_LABEL_MAX} letters, digits, '-', '_' and '.')."
        ]
    return errors


_QUANTITY_HINT = {
    "cpu": "Give a CPU quantity such as 4 or 500m.",
    "memory": "Give a memory quantity such as 16Gi.",
    "sharedMemorySize": "Give a size such as 8Gi.",
}


def _is_positive_quantity(value: str) -> bool:
    if not _QUANTITY.match(value):
        return False
    digits = re.match(r"^\+?([0-9.]+)", value)
    try:
        number = float(digits.group(1)) if digits else 0.0
    except ValueError:
        return False
    return math.isfinite(number) and number > 0


def _engine_args_errors(tokens: list[str]) -> list[str]:
    messages: list[str] = []
    if len(tokens) > MAX_ENGINE_ARGS:
        return [f"Give at most {MAX_ENGINE_ARGS} arguments."]
    for index, token in enumerate(tokens, start=1):
        if not token.strip():
            messages.append(f"Argument {index} is empty; remove it.")
        elif any(ch in token for ch in _FORBIDDEN_CHARS):
            messages.append(
                f"Argument {index} contains a line break or NUL character; "
                "give one token per argument."
            )
        elif len(token) > MAX_TOKEN_LENGTH:
            messages.append(f"Argument {index} is longer than {MAX_TOKEN_LENGTH} characters.")
        elif _REFERENCE in token:
            messages.append(f"Argument {index} contains “$(”: {_REFERENCE_WHY}")
        elif token.startswith("-"):
            flag = token.split("=", 1)[0].replace("_", "-")
            if flag == OVERRIDE_ENGINE_ARGS and not _json_object(_flag_value(tokens, index - 1)):
                messages.append(
                    f"Give {OVERRIDE_ENGINE_ARGS} a JSON object, e.g. '{{\"max_batch_size\": 64}}'."
                )
            field = MANAGED_FLAGS.get(flag)
            if field:
                label = _FIELD_LABELS.get(field, field)
                messages.append(
                    f"Remove {flag}: Dynamote sets it from {label} ({field}); "
                    "change that field instead."
                )
    return messages


def _flag_value(tokens: list[str], index: int) -> str | None:
    """The value of the flag at `index`: after its "=", or the next token."""
    token = tokens[index]
    if "=" in token:
        return token.split("=", 1)[1]
    return tokens[index + 1] if index + 1 < len(tokens) else None


def _json_object(text: str | None) -> bool:
    try:
        return isinstance(json.loads(text or ""), dict)
    except ValueError:
        return False


def _env_errors(env: dict[str, str]) -> list[str]:
    messages: list[str] = []
    if len(env) > MAX_ENV:
        return [f"Give at most {MAX_ENV} variables."]
    for name, value in env.items():
        if not _ENV_NAME.fullmatch(name) or len(name) > 256:
            messages.append(
                f"{name!r} is not a valid variable name: use letters, digits, '_', '-' and '.', "
                "not starting with a digit."
            )
        elif name in MANAGED_ENV:
            field = MANAGED_ENV[name]
            messages.append(f"Remove {name}: Dynamote sets it from {_FIELD_LABELS[field]}.")
        elif name == "HF_TOKEN":
            messages.append(
                "Do not put HF_TOKEN in plain text: store it in a Secret and name the Secret "
                "in hfTokenSecret."
            )
        elif "\x00" in value:
            messages.append(f"The value of {name} contains a NUL character.")
        elif len(value.encode()) > MAX_ENV_VALUE:
            messages.append(f"The value of {name} is longer than {MAX_ENV_VALUE} bytes.")
        elif _REFERENCE in value:
            messages.append(f"The value of {name} contains “$(”: {_REFERENCE_WHY}")
    return messages


def _resources_errors(resources: dict[str, Any] | None) -> list[str]:
    if resources is None:
        return []
    flat = _flatten_resources(resources)
    messages = []
    for key, value in flat.items():
        if key == "gpu":
            messages.append(
                "GPUs follow the tensor-parallel size (one per rank); set tensorParallelSize."
            )
        elif key not in ("cpu", "memory"):
            messages.append(f"Dynamote sets CPU and memory requests only, not {key!r}.")
        elif not isinstance(value, str | int) or isinstance(value, bool):
            messages.append(f"Give {key} as a quantity such as 4 or 16Gi.")
        elif not _is_positive_quantity(str(value)):
            messages.append(_QUANTITY_HINT[key])
    return messages


def _flatten_resources(resources: dict[str, Any]) -> dict[str, Any]:
    """{"cpu": …} or {"requests": {"cpu": …}} as one flat mapping."""
    flat: dict[str, Any] = {}
    for key, value in resources.items():
        if key == "requests" and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def _with_resources(config: DeploymentConfig) -> DeploymentConfig:
    if config.resources is None:
        return config
    flat = _flatten_resources(config.resources)
    update: dict[str, Any] = {"resources": None}
    for key in ("cpu", "memory"):
        if key in flat and getattr(config, key) is None:
            update[key] = str(flat[key])
    return config.model_copy(update=update)


# --- the builder ------------------------------------------------------------------------------


def build_manifest(config: DeploymentConfig, model: ModelFacts, *, image_tag: str) -> dict:
    """The DynamoGraphDeployment for a config from `parse_config` (pure)."""
    facts = config.engine_facts
    image = config.image or facts.image(image_tag)
    labels = {MANAGED_BY_LABEL: MANAGED_BY, ENGINE_LABEL: config.engine}
    if len(model.slug) <= DNS_LABEL_MAX and _LABEL_VALUE.match(model.slug):
        labels[MODEL_ID_KEY] = model.slug
    metadata = {
        "name": config.name,
        "namespace": config.namespace,
        "labels": labels,
        "annotations": {MODEL_ID_KEY: model.slug},
    }
    if config.custom_model:
        metadata["annotations"][CUSTOM_MODEL_KEY] = json.dumps(
            config.custom_model, sort_keys=True, separators=(",", ":")
        )
    workers = [
        (facts.component_name(role), role, worker_args(config, model, role))
        for role in worker_roles(config.mode)
    ]
    if config.api_version == "v1alpha1":
        spec = _spec_v1alpha1(config, facts, image, workers)
    else:
        spec = _spec_v1beta1(config, facts, image, workers)
    storage = weights_storage(
        parameters_billions=model.parameters_billions, weight_format=model.weight_format
    )
    spec = with_storage(spec, config, ephemeral_storage=storage)
    return {
        "apiVersion": f"{GROUP}/{config.api_version}",
        "kind": KIND,
        "metadata": metadata,
        "spec": spec,
    }


def worker_args(config: DeploymentConfig, model: ModelFacts, role: str) -> list[str]:
    """The engine's command-line arguments for one worker role (worker, prefill or decode)."""
    facts = config.engine_facts
    args = [facts.model_flag(config.api_version), model.hf_repo_id]
    served = config.served_model_name
    if served is None and facts.always_served_model_name:
        served = model.hf_repo_id
    if served is not None:
        args += ["--served-model-name", served]
    args += [facts.tp_flag, str(config.role_tensor_parallel_size(role))]
    if config.context_length is not None:
        args += [facts.context_length_flag, str(config.context_length)]
    if config.trust_remote_code and facts.trust_remote_code_flag:
        args.append(facts.trust_remote_code_flag)
    if config.enforce_eager and facts.enforce_eager_flag:
        args.append(facts.enforce_eager_flag)
    if not config.enable_prefix_caching and facts.no_prefix_caching_flag:
        args.append(facts.no_prefix_caching_flag)
    if role != "worker":
        args += facts.disaggregation_args(role, config.api_version)
    extra = list(config.engine_args)
    if config.router_mode == "kv":
        args += _without_given(facts.kv_events_args(config.api_version), extra)
    overrides = TRTLLM_DISAGG_ENGINE_ARGS.get(role, {}) if config.engine == "trtllm" else {}
    if overrides:
        extra, given = _pop_flag(extra, OVERRIDE_ENGINE_ARGS)
        # The person's own overrides win, except where the KV hand-over needs ours.
        merged = {**(json.loads(given) if given else {}), **overrides}
        args += [OVERRIDE_ENGINE_ARGS, json.dumps(merged, separators=(",", ":"))]
    return args + extra


OVERRIDE_ENGINE_ARGS = "--override-engine-args"


def _without_given(flags: list[str], given: list[str]) -> list[str]:
    """Dynamote's `--flag value` pairs, minus the flags the person already gave."""
    names = {token.split("=", 1)[0] for token in given if token.startswith("-")}
    result: list[str] = []
    index = 0
    while index < len(flags):
        flag = flags[index]
        has_value = index + 1 < len(flags) and not flags[index + 1].startswith("--")
        pair = flags[index : index + 2] if has_value else [flag]
        if flag not in names:
            result += pair
        index += len(pair)
    return result


def _pop_flag(tokens: list[str], flag: str) -> tuple[list[str], str | None]:
    """The tokens without `flag value` (or `flag=value`), and that value."""
    rest: list[str] = []
    value = None
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == flag and index + 1 < len(tokens):
            value = tokens[index + 1]
            index += 2
            continue
        if token.startswith(flag + "="):
            value = token.split("=", 1)[1]
        else:
            rest.append(token)
        index += 1
    return rest, value


# /dev/shm per GPU of a multi-GPU worker: NCCL's buffers between its tensor-parallel ranks
# live there. Upstream recipes give multi-GPU workers 20-80 Gi; the operator's default is 8 Gi.
SHARED_MEMORY_GI_PER_GPU = 16
SHARED_MEMORY_MAX_GI = 80


def worker_shared_memory(config: DeploymentConfig, role: str) -> str | None:
    """The /dev/shm size of a worker: the person's, else 16 Gi per GPU (at most 80 Gi) for a
    worker on several GPUs, else the operator's default (None)."""
    if config.shared_memory_size:
        return config.shared_memory_size
    tp = config.role_tensor_parallel_size(role)
    if tp <= 1:
        return None
    return f"{min(SHARED_MEMORY_GI_PER_GPU * tp, SHARED_MEMORY_MAX_GI)}Gi"


def _env_list(config: DeploymentConfig, *, frontend: bool) -> list[dict[str, str]]:
    env = [{"name": "DYN_ROUTER_MODE", "value": config.router_mode}] if frontend else []
    env += [{"name": name, "value": value} for name, value in config.env.items()]
    return env


def _requests(config: DeploymentConfig) -> dict[str, str]:
    return {
        key: value
        for key, value in (("cpu", config.cpu), ("memory", config.memory))
        if value is not None
    }


def _spec_v1beta1(
    config: DeploymentConfig,
    facts: EngineFacts,
    image: str,
    workers: list[tuple[str, str, list[str]]],
) -> dict:
    env_from = [{"secretRef": {"name": config.hf_token_secret}}] if config.hf_token_secret else None
    frontend_container: dict[str, Any] = {
        "name": "main",
        "image": image,
        "env": _env_list(config, frontend=True),
    }
    if env_from:
        frontend_container["envFrom"] = env_from
    components: list[dict[str, Any]] = [
        {
            "name": "Frontend",
            "type": "frontend",
            "replicas": 1,
            "podTemplate": {"spec": {"containers": [frontend_container]}},
        }
    ]
    for name, role, args in workers:
        container: dict[str, Any] = {
            "name": "main",
            "image": image,
            "workingDir": facts.working_dir,
            "command": facts.command,
            "args": args,
        }
        env = _env_list(config, frontend=False)
        if env:
            container["env"] = env
        if env_from:
            container["envFrom"] = [dict(item) for item in env_from]
        resources: dict[str, Any] = {
            "limits": {"nvidia.com/gpu": str(config.role_tensor_parallel_size(role))}
        }
        if _requests(config):
            resources["requests"] = _requests(config)
        container["resources"] = resources
        component: dict[str, Any] = {
            "name": name,
            "type": role,
            "replicas": config.role_replicas(role),
        }
        shared_memory = worker_shared_memory(config, role)
        if shared_memory:
            component["sharedMemorySize"] = shared_memory
        component["podTemplate"] = {"spec": {"containers": [container]}}
        components.append(component)
    return {"backendFramework": config.engine, "components": components}


def _spec_v1alpha1(
    config: DeploymentConfig,
    facts: EngineFacts,
    image: str,
    workers: list[tuple[str, str, list[str]]],
) -> dict:
    frontend: dict[str, Any] = {
        "componentType": "frontend",
        "dynamoNamespace": config.name,
        "replicas": 1,
    }
    if config.hf_token_secret:
        frontend["envFromSecret"] = config.hf_token_secret
    frontend["envs"] = _env_list(config, frontend=True)
    frontend["extraPodSpec"] = {"mainContainer": {"image": image}}
    services: dict[str, Any] = {"Frontend": frontend}
    for name, role, args in workers:
        service: dict[str, Any] = {"componentType": "worker"}
        if role != "worker":
            service["subComponentType"] = role
        service["dynamoNamespace"] = config.name
        service["replicas"] = config.role_replicas(role)
        if config.hf_token_secret:
            service["envFromSecret"] = config.hf_token_secret
        env = _env_list(config, frontend=False)
        if env:
            service["envs"] = env
        resources: dict[str, Any] = {"limits": {"gpu": str(config.role_tensor_parallel_size(role))}}
        if _requests(config):
            resources["requests"] = _requests(config)
        service["resources"] = resources
        shared_memory = worker_shared_memory(config, role)
        if shared_memory:
            service["sharedMemory"] = {"size": shared_memory}
        service["extraPodSpec"] = {
            "mainContainer": {
                "image": image,
                "workingDir": facts.working_dir,
                "command": facts.command,
                "args": args,
            }
        }
        services[name] = service
    return {"backendFramework": config.engine, "services": services}


# --- YAML -------------------------------------------------------------------------------------

_TOP_ORDER = ("apiVersion", "kind", "metadata", "spec", "status")
_METADATA_ORDER = ("name", "namespace", "labels", "annotations")


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _ordered(mapping: dict, order: tuple[str, ...]) -> dict:
    first = {key: mapping[key] for key in order if key in mapping}
    return first | {key: value for key, value in mapping.items() if key not in first}


def block_yaml(data: Any) -> str:
    """YAML for people to read and diff: block style, keys in their order, and a value that
    appears twice written out twice (never as an `&id001` anchor and `*id001` alias)."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)


def render_yaml(manifest: dict) -> str:
    """The manifest as one YAML document: leading `---`, block style, kubectl's key order."""
    document = _ordered(manifest, _TOP_ORDER)
    if isinstance(document.get("metadata"), dict):
        document["metadata"] = _ordered(document["metadata"], _METADATA_ORDER)
    body = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1000,
    )
    return f"---\n{body}"


# --- where a manifest field comes from --------------------------------------------------------


_ROLE_FIELDS = {
    "replicas": {
        "worker": "replicas",
        "prefill": "prefillReplicas",
        "decode": "decodeReplicas",
    },
    "tp": {
        "worker": "tensorParallelSize",
        "prefill": "prefillTensorParallelSize",
        "decode": "decodeTensorParallelSize",
    },
}


def config_field_for_path(path: str, manifest: dict | None = None) -> str:
    """The config field behind a manifest field path (from the schema check or a 422)."""
    path = (path or "").strip().lstrip(".")
    if path == "apiVersion":
        return "apiVersion"
    match = re.match(r"^metadata\.(name|namespace)$", path)
    if match:
        return match.group(1)
    if path.startswith("spec.backendFramework"):
        return "engine"
    if re.match(r"^spec\.envs?(\[|\.|$)", path):
        return "env"
    if path.startswith("spec.pvcs"):
        return "modelCache"
    spec = (manifest or {}).get("spec") or {}
    match = re.match(r"^spec\.components\[(\d+)\](.*)$", path)
    if match:
        components = spec.get("components") if isinstance(spec, dict) else None
        index = int(match.group(1))
        component = (
            components[index] if isinstance(components, list) and index < len(components) else {}
        )
        component = component if isinstance(component, dict) else {}
        role = component.get("type") or "worker"
        return _component_field(match.group(2), role, component)
    match = re.match(r"^spec\.services(?:\.([^.\[]+)|\[([^\]]+)\])(.*)$", path)
    if match:
        key = match.group(1) or match.group(2)
        services = spec.get("services") if isinstance(spec, dict) else None
        service = services.get(key) if isinstance(services, dict) else None
        if isinstance(service, dict):
            role = service.get("subComponentType") or service.get("componentType") or "worker"
        else:
            lowered = key.lower()
            role = next((r for r in ("frontend", "prefill", "decode") if r in lowered), "worker")
            service = {}
        return _component_field(match.group(3), role, service)
    return "__all__"


def _component_field(rest: str, role: str, component: dict) -> str:
    """The config field behind a path inside one component (v1beta1) or service (v1alpha1)."""
    frontend = role == "frontend"
    if re.match(r"^\.replicas$", rest):
        return "__all__" if frontend else _ROLE_FIELDS["replicas"].get(role, "replicas")
    if rest.startswith((".sharedMemorySize", ".sharedMemory")):
        return "sharedMemorySize"
    if rest.startswith((".type", ".componentType", ".subComponentType")):
        return "mode"
    if rest.startswith(".dynamoNamespace"):
        return "name"
    if rest.startswith(".envFromSecret"):
        return "hfTokenSecret"
    if rest.startswith((".volumeMounts", ".podTemplate.spec.volumes")):
        return "modelCache"
    if rest.startswith((".extraPodSpec.nodeSelector", ".podTemplate.spec.nodeSelector")):
        return "gpuProduct"
    match = re.match(r"^\.envs\[(\d+)\]", rest)
    if match:
        return _env_field(component.get("envs"), int(match.group(1)))
    if rest.startswith(".resources"):
        return _resources_field(rest.removeprefix(".resources"), role)
    container: dict = {}
    match = re.match(r"^\.podTemplate\.spec\.containers\[(\d+)\](.*)$", rest)
    if match:
        containers = ((component.get("podTemplate") or {}).get("spec") or {}).get("containers")
        index = int(match.group(1))
        if isinstance(containers, list) and index < len(containers):
            container = containers[index] if isinstance(containers[index], dict) else {}
        inner = match.group(2)
    else:
        match = re.match(r"^\.extraPodSpec\.mainContainer(.*)$", rest)
        if not match:
            return "__all__"
        container = (component.get("extraPodSpec") or {}).get("mainContainer") or {}
        inner = match.group(1)
    if inner.startswith(".image"):
        return "image"
    if inner.startswith(".args"):
        return "engineArgs"
    if inner.startswith((".command", ".workingDir")):
        return "engine"
    if inner.startswith(".envFrom"):
        return "hfTokenSecret"
    if inner.startswith(".volumeMounts"):
        return "modelCache"
    match = re.match(r"^\.env\[(\d+)\]", inner)
    if match:
        return _env_field(container.get("env"), int(match.group(1)))
    if inner.startswith(".resources"):
        return _resources_field(inner.removeprefix(".resources"), role)
    return "__all__"


def _env_field(env: Any, index: int) -> str:
    if isinstance(env, list) and index < len(env) and isinstance(env[index], dict):
        return MANAGED_ENV.get(env[index].get("name"), "env")
    return "env"


def _resources_field(rest: str, role: str) -> str:
    if rest.startswith(".limits") and "gpu" in rest:
        return _ROLE_FIELDS["tp"].get(role, "tensorParallelSize")
    if rest.startswith(".requests.cpu"):
        return "cpu"
    if rest.startswith(".requests.memory"):
        return "memory"
    return "__all__"

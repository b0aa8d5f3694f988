"""The curated catalog of models Dynamote can deploy."""

import math

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from catalog.weights import BYTES_PER_PARAMETER, DEFAULT_WEIGHT_FORMAT, WEIGHT_FORMATS

ENGINES = {"vllm": "vLLM", "sglang": "SGLang", "trtllm": "TensorRT-LLM"}

# Minimum GPU memory: the weights (parameters x bytes per parameter of the weight format,
# 2 in BF16) plus 20 % headroom for the KV cache, activations and the CUDA context, rounded
# up to a whole GB.
HEADROOM = 1.2


def min_gpu_memory_for(
    parameters_billions: float, weight_format: str = DEFAULT_WEIGHT_FORMAT
) -> int:
    """The catalog's one sizing rule, in GB."""
    return math.ceil(parameters_billions * BYTES_PER_PARAMETER[weight_format] * HEADROOM)


def validate_engines(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one engine.")
    unknown = [engine for engine in value if engine not in ENGINES]
    if unknown:
        raise ValidationError(
            f"Unknown engine {', '.join(map(str, unknown))}: use {', '.join(ENGINES)}."
        )
    if len(set(value)) != len(value):
        raise ValidationError("Each engine may appear only once.")


class Task(models.TextChoices):
    CHAT = "chat", "Chat"
    REASONING = "reasoning", "Reasoning"
    CODE = "code", "Code"
    TEXT_GENERATION = "text-generation", "Text generation"
    VISION_LANGUAGE = "vision-language", "Vision-language"


class CatalogModelQuerySet(models.QuerySet):
    def published(self) -> "CatalogModelQuerySet":
        return self.filter(published=True)


class CatalogModel(models.Model):
    """One model in the catalog, as shown on a card and used to build deployments."""

    slug = models.SlugField("id", max_length=63, unique=True)
    hf_repo_id = models.CharField("Hugging Face repo id", max_length=200)
    name = models.CharField(max_length=100)
    description = models.TextField()
    size_label = models.CharField("size", max_length=20, help_text="For example 8B or 30B-A3B.")
    task = models.CharField(max_length=20, choices=Task.choices)
    context_length = models.PositiveIntegerField(
        "context length (tokens)", validators=[MinValueValidator(1)]
    )
    supported_engines = models.JSONField(
        default=list,
        validators=[validate_engines],
        error_messages={"blank": "Choose at least one engine."},
        help_text="A list drawn from vllm, sglang, trtllm.",
    )
    min_gpu_memory_gb = models.PositiveIntegerField(
        "minimum GPU memory (GB)", validators=[MinValueValidator(1)]
    )
    parameters_billions = models.FloatField(
        "parameters (billions)", validators=[MinValueValidator(0.001)]
    )
    weight_format = models.CharField(
        max_length=10,
        choices=list(WEIGHT_FORMATS.items()),
        default=DEFAULT_WEIGHT_FORMAT,
        help_text="How the checkpoint stores its weights; sizing follows it.",
    )
    license = models.CharField(max_length=100)
    gated = models.BooleanField(
        default=False, help_text="The Hugging Face repo needs an access token."
    )
    default_tp = models.PositiveSmallIntegerField(
        "default tensor-parallel size",
        default=1,
        validators=[MinValueValidator(1)],
    )
    published = models.BooleanField(default=True)

    objects = CatalogModelQuerySet.as_manager()

    class Meta:
        ordering = ["parameters_billions", "name"]
        verbose_name = "catalog model"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.default_tp and self.default_tp & (self.default_tp - 1):
            raise ValidationError({"default_tp": "Use a power of two: 1, 2, 4 or 8."})

    @property
    def engine_labels(self) -> list[str]:
        return [ENGINES[engine] for engine in self.supported_engines if engine in ENGINES]

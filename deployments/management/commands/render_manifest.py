"""Print the DynamoGraphDeployment Dynamote would create, as YAML (the GitOps export)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.models import CatalogModel
from deployments.manifests import ModelFacts, render_yaml
from deployments.plan import offline_target, plan

INVALID = 2

# Command-line options and the config field each one sets.
OPTIONS = {
    "engine": "engine",
    "mode": "mode",
    "api_version": "apiVersion",
    "name": "name",
    "namespace": "namespace",
    "replicas": "replicas",
    "tp": "tensorParallelSize",
    "prefill_replicas": "prefillReplicas",
    "prefill_tp": "prefillTensorParallelSize",
    "decode_replicas": "decodeReplicas",
    "decode_tp": "decodeTensorParallelSize",
    "router_mode": "routerMode",
    "hf_token_secret": "hfTokenSecret",
    "context_length": "contextLength",
    "served_model_name": "servedModelName",
    "image": "image",
    "cpu": "cpu",
    "memory": "memory",
    "shared_memory_size": "sharedMemorySize",
    "model_cache": "modelCache",
    "gpu_product": "gpuProduct",
    "engine_arg": "engineArgs",
    "env": "env",
    "trust_remote_code": "trustRemoteCode",
    "enforce_eager": "enforceEager",
    "no_prefix_caching": "enablePrefixCaching",
}


class Command(BaseCommand):
    help = (
        "Print the DynamoGraphDeployment for a catalog model as YAML on stdout; "
        "on bad input print the field messages on stderr and exit with status 2."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True, help="catalog id, e.g. qwen3-8b")
        parser.add_argument("--engine", help="vllm, sglang or trtllm (default: the model's first)")
        parser.add_argument("--mode", help="aggregated (default) or disaggregated")
        parser.add_argument("--api-version", help="v1beta1 (default) or v1alpha1 (Dynamo 0.x)")
        parser.add_argument("--name", help="deployment name (default: <model>-<engine>)")
        parser.add_argument("--namespace", help="default: DYNAMOTE_DEFAULT_NAMESPACE")
        parser.add_argument("--replicas", help="worker replicas, 1-10 (default 1)")
        parser.add_argument("--tp", help="tensor-parallel size = GPUs per worker: 1, 2, 4 or 8")
        parser.add_argument("--prefill-replicas", help="disaggregated: prefill workers")
        parser.add_argument("--prefill-tp", help="disaggregated: prefill tensor-parallel size")
        parser.add_argument("--decode-replicas", help="disaggregated: decode workers")
        parser.add_argument("--decode-tp", help="disaggregated: decode tensor-parallel size")
        parser.add_argument("--router-mode", help="round-robin (default), kv, random, …")
        parser.add_argument(
            "--hf-token-secret",
            help="Secret with HF_TOKEN (default hf-token-secret, as on the form)",
        )
        parser.add_argument("--context-length", help="maximum tokens per request")
        parser.add_argument("--served-model-name", help="model name clients ask for")
        parser.add_argument("--image", help="runtime image (default: Dynamo's for the engine)")
        parser.add_argument("--cpu", help="CPU request per worker, e.g. 8")
        parser.add_argument("--memory", help="memory request per worker, e.g. 64Gi")
        parser.add_argument("--shared-memory-size", help="shared memory per worker, e.g. 8Gi")
        parser.add_argument(
            "--model-cache", help="an existing PersistentVolumeClaim mounted at /opt/models"
        )
        parser.add_argument(
            "--gpu-product", help="pin workers to nodes labelled nvidia.com/gpu.product=VALUE"
        )
        parser.add_argument(
            "--engine-arg",
            action="append",
            help="one extra engine argument per use; write flags as --engine-arg=--flag",
        )
        parser.add_argument(
            "--env", action="append", help="NAME=value for every component (repeatable)"
        )
        parser.add_argument("--trust-remote-code", action="store_true", default=None)
        parser.add_argument("--enforce-eager", action="store_true", default=None)
        parser.add_argument("--no-prefix-caching", action="store_false", default=None)

    def handle(self, *args: object, **options: object) -> None:
        slug = options["model"]
        entry = CatalogModel.objects.published().filter(slug=slug).first()
        if entry is None:
            known = ", ".join(CatalogModel.objects.published().values_list("slug", flat=True))
            self._fail({"modelId": [f"No catalog model has the id {slug!r}; use one of {known}."]})
        model = ModelFacts.from_catalog(entry)
        data = {
            field: options[option]
            for option, field in OPTIONS.items()
            if options.get(option) is not None
        }
        target = offline_target(
            default_namespace=settings.DYNAMOTE_DEFAULT_NAMESPACE,
            dynamo_version=settings.DYNAMOTE_DYNAMO_VERSION,
        )
        result = plan(model, target, data)
        if not result.ok:
            self._fail(result.errors)
        manifest = result.manifest
        self.stdout.write(render_yaml(manifest), ending="")

    def _fail(self, errors: dict[str, list[str]]) -> None:
        for field, messages in errors.items():
            for message in messages:
                self.stderr.write(f"{field}: {message}")
        raise CommandError("The deployment settings are not valid.", returncode=INVALID)

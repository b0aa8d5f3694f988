"""The deploy pipeline: what a person chose -> a checked config and the manifest (pure, no I/O).

The deploy form, `POST /api/deployments` and `manage.py render_manifest` all call `plan`, so
the same mistake gets the same message wherever it is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deployments.crd import compact_crd, schema_errors
from deployments.engines import Release
from deployments.manifests import (
    DEFAULT_API_VERSION,
    ConfigError,
    DeploymentConfig,
    ModelFacts,
    build_manifest,
    default_image_tag,
    parse_config,
)
from deployments.volumes import ClaimListing, GpuProducts, cluster_errors


@dataclass(frozen=True)
class Target:
    """What the manifest is built for: the API version and the CRD schema it must satisfy."""

    api_version: str
    crd: dict
    reachable: bool
    note: str = ""
    namespaces: list[str] = field(default_factory=list)
    namespaces_note: str = ""
    default_namespace: str = "default"
    # DYNAMOTE_NAMESPACES: when set, the only namespaces a deployment may go to.
    allowed_namespaces: tuple[str, ...] = ()
    # The runtime release tag (from the cluster's operator or DYNAMOTE_DYNAMO_VERSION), when
    # it is of the target's generation.
    dynamo_version: str | None = None
    # The cluster's GPU products and, per namespace, its claims (None: not asked).
    gpu_products: GpuProducts | None = None
    claims: Callable[[str], ClaimListing] | None = None

    def claims_in(self, namespace: str) -> ClaimListing | None:
        """The claims of a namespace, as far as the cluster could be asked."""
        return self.claims(namespace) if self.claims is not None else None

    # Which Dynamo release the manifest is for, and why (None without a cluster).
    release: Release | None = None


def offline_target(
    *,
    api_version: str = DEFAULT_API_VERSION,
    default_namespace: str = "default",
    allowed_namespaces: tuple[str, ...] = (),
    dynamo_version: str | None = None,
    note: str = "",
) -> Target:
    """A target without a cluster: the project's compact CRD."""
    return Target(
        api_version=api_version,
        crd=compact_crd(),
        reachable=False,
        note=note,
        default_namespace=default_namespace,
        allowed_namespaces=tuple(allowed_namespaces),
        dynamo_version=dynamo_version,
    )


@dataclass(frozen=True)
class Plan:
    """The checked config and its manifest, or the messages per config field (camelCase)."""

    config: DeploymentConfig | None
    manifest: dict | None
    errors: dict[str, list[str]]

    @property
    def ok(self) -> bool:
        return not self.errors and self.manifest is not None


def plan(model: ModelFacts, target: Target, data: Mapping[str, Any]) -> Plan:
    """Checks the settings (config layer, allowed namespace, CRD schema) and builds the DGD."""
    try:
        config = parse_config(
            dict(data),
            model=model,
            api_version=target.api_version,
            default_namespace=target.default_namespace,
        )
    except ConfigError as exc:
        return Plan(None, None, exc.errors)
    allowed = target.allowed_namespaces
    if allowed and config.namespace not in allowed:
        return Plan(config, None, {"namespace": [f"Choose one of {', '.join(allowed)}."]})
    tag = default_image_tag(config.api_version, target.dynamo_version)
    manifest = build_manifest(config, model, image_tag=tag)
    errors = schema_errors(manifest, target.crd)
    if errors:
        return Plan(config, manifest, errors)
    # What only the cluster knows: the claim and the GPU type must be there.
    claims = target.claims_in(config.namespace) if config.model_cache else None
    errors = cluster_errors(config, claims=claims, products=target.gpu_products)
    return Plan(config, manifest, errors)

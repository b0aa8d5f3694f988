"""Properties: valid configs build schema-valid manifests; bad ones are refused, never crash."""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployments.crd import compact_crd, schema_errors
from deployments.engines import MANAGED_FLAGS, ROUTER_MODES
from deployments.manifests import (
    ConfigError,
    build_manifest,
    default_image_tag,
    max_name_length,
    parse_config,
)

from .conftest import LLAMA_70B, QWEN3_0_6B, SHARED, upstream_crd

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODELS = st.sampled_from([QWEN3_0_6B, LLAMA_70B])

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SAFE_TOKEN = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x00"),
    min_size=1,
    max_size=40,
).filter(
    lambda t: (
        t.strip() and t.split("=", 1)[0].replace("_", "-") not in MANAGED_FLAGS and "$(" not in t
    )  # the kubelet would expand it: refused
)
QUANTITY = st.sampled_from(["1", "500m", "2.5", "16Gi", "512Mi", "1e3", "4k"])


def names(max_size: int) -> st.SearchStrategy[str]:
    return st.from_regex(r"\A[a-z]([-a-z0-9]{0,40}[a-z0-9])?\Z").filter(
        lambda n: len(n) <= max_size
    )


@st.composite
def valid_settings(draw):
    model = draw(MODELS)
    engine = draw(st.sampled_from(model.supported_engines))
    mode = draw(st.sampled_from(["aggregated", "disaggregated"]))
    api_version = draw(st.sampled_from(["v1alpha1", "v1beta1"]))
    data = {
        "engine": engine,
        "mode": mode,
        "apiVersion": api_version,
        "name": draw(names(max_name_length(engine, mode))),
        "namespace": draw(st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z")),
        "replicas": draw(st.integers(1, 10)),
        "tensorParallelSize": draw(st.sampled_from([1, 2, 4, 8])),
        "routerMode": draw(st.sampled_from(ROUTER_MODES[api_version])),
        "contextLength": draw(st.none() | st.integers(1, model.context_length)),
        "hfTokenSecret": draw(
            st.none()
            | st.from_regex(
                r"\A[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?)?\Z"
            )
        ),
        "servedModelName": draw(
            st.none() | st.from_regex(r"\A[A-Za-z0-9][-A-Za-z0-9_./:]{0,30}\Z")
        ),
        "engineArgs": draw(st.lists(SAFE_TOKEN, max_size=5)),
        "env": draw(
            st.dictionaries(
                st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,15}\Z").filter(
                    lambda n: n not in ("DYN_ROUTER_MODE", "HF_TOKEN")
                ),
                st.text(
                    alphabet=st.characters(
                        blacklist_characters="\x00", blacklist_categories=("Cs",)
                    ),
                    max_size=20,
                ).filter(lambda v: "$(" not in v),
                max_size=3,
            )
        ),
        "cpu": draw(st.none() | QUANTITY),
        "memory": draw(st.none() | QUANTITY),
        "sharedMemorySize": draw(st.none() | QUANTITY),
    }
    if engine != "trtllm":
        data["trustRemoteCode"] = draw(st.booleans())
        data["enforceEager"] = draw(st.booleans())
        # KV-aware routing needs prefix caching (a config error otherwise).
        data["enablePrefixCaching"] = data["routerMode"] == "kv" or draw(st.booleans())
    if mode == "disaggregated":
        data["prefillReplicas"] = draw(st.none() | st.integers(1, 10))
        data["decodeTensorParallelSize"] = draw(st.none() | st.sampled_from([1, 2, 4, 8]))
    return model, data


def crds_for(api_version: str) -> list[dict]:
    crds = [compact_crd()]
    if SHARED.is_dir():
        crds.append(upstream_crd("dynamo-1.5.0"))
        if api_version == "v1alpha1":
            crds.append(upstream_crd("dynamo-0.6.1"))
    return crds


@FAST
@given(valid_settings())
def test_any_valid_config_gives_a_schema_valid_manifest(case):
    model, data = case
    config = parse_config(data, model=model)
    manifest = build_manifest(config, model, image_tag=default_image_tag(config.api_version))
    for crd in crds_for(config.api_version):
        assert schema_errors(manifest, crd) == {}
    gpus = [
        c["podTemplate"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"]
        for c in manifest["spec"].get("components", [])
        if c["type"] != "frontend"
    ] or [
        s["resources"]["limits"]["gpu"]
        for s in manifest["spec"]["services"].values()
        if s["componentType"] != "frontend"
    ]
    assert all(int(g) in (1, 2, 4, 8) for g in gpus)


def refused_on(data: dict, field: str) -> None:
    try:
        parse_config(data, model=QWEN3_0_6B)
    except ConfigError as error:
        assert field in error.errors, error.errors
        assert all(isinstance(m, str) and m for m in error.errors[field])
    else:
        raise AssertionError(f"{data!r} was accepted")


@FAST
@given(
    st.text(max_size=80).filter(
        lambda n: (
            n.strip()
            and not (DNS_LABEL.match(n.strip()) and n.strip()[0].isalpha() and len(n.strip()) <= 52)
        )
    )
)
def test_invalid_names_are_refused(name):
    refused_on({"name": name}, "name")


@FAST
@given(
    st.text(max_size=80).filter(
        lambda n: n.strip() and not (DNS_LABEL.match(n.strip()) and len(n.strip()) <= 63)
    )
)
def test_invalid_namespaces_are_refused(namespace):
    refused_on({"namespace": namespace}, "namespace")


@FAST
@given(
    st.integers().filter(lambda n: not 1 <= n <= 10)
    | st.floats().filter(lambda f: not (f.is_integer() and 1 <= f <= 10))
    | st.text(min_size=1).filter(
        lambda t: t.strip() and t.strip() not in [str(i) for i in range(1, 11)]
    )
    | st.lists(st.integers(), max_size=2)
    | st.booleans().filter(lambda b: not b)
)
def test_invalid_replica_counts_are_refused(replicas):
    refused_on({"replicas": replicas}, "replicas")


BAD_TOKEN = st.one_of(
    st.tuples(
        st.text(max_size=10), st.sampled_from(["\n", "\r", "\x00"]), st.text(max_size=10)
    ).map("".join),
    st.sampled_from(sorted(MANAGED_FLAGS)).flatmap(
        lambda flag: st.sampled_from(
            # The underscore spelling keeps the leading dashes: --model_path, -tp.
            [flag, f"{flag}=x", re.sub(r"(?<=\w)-", "_", flag)]
        )
    ),
)


@FAST
@given(st.lists(SAFE_TOKEN, max_size=3), BAD_TOKEN, st.lists(SAFE_TOKEN, max_size=3))
def test_invalid_engine_args_are_refused(before, bad, after):
    refused_on({"engineArgs": [*before, bad, *after]}, "engineArgs")


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    [
        "name",
        "namespace",
        "modelId",
        "engine",
        "mode",
        "replicas",
        "servedModelName",
        "routerMode",
        "hfTokenSecret",
        "contextLength",
        "enforceEager",
        "enablePrefixCaching",
        "trustRemoteCode",
        "engineArgs",
        "resources",
        "image",
        "tensorParallelSize",
        "prefillReplicas",
        "prefillTensorParallelSize",
        "decodeReplicas",
        "decodeTensorParallelSize",
        "apiVersion",
        "cpu",
        "memory",
        "sharedMemorySize",
        "env",
        "unknownThing",
    ]
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(FIELDS, JSONISH, max_size=6) | JSONISH)
def test_anything_is_either_a_valid_config_or_a_config_error(data):
    try:
        config = parse_config(data, model=QWEN3_0_6B)
    except ConfigError as error:
        assert error.errors
        assert all(isinstance(k, str) for k in error.errors)
        assert all(
            messages and all(isinstance(m, str) for m in messages)
            for messages in error.errors.values()
        )
        return
    manifest = build_manifest(config, QWEN3_0_6B, image_tag="1.5.0")
    assert schema_errors(manifest, compact_crd()) == {}

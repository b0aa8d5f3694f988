"""URL converters for Kubernetes names: a route never matches a name Kubernetes would refuse.

So `.`, `..`, `%2e`, uppercase or over-long names never reach a view, let alone the cluster,
where a single-object URL with such a name would address the whole collection.
"""

from django.urls import register_converter

from deployments.names import (
    NAME_PATTERN,
    NAME_RULE,
    NAMESPACE_PATTERN,
    NAMESPACE_RULE,
    is_name,
    is_namespace,
)


class NamespaceConverter:
    """`<namespace:...>`: a DNS-1123 label of at most 63 characters."""

    regex = NAMESPACE_PATTERN

    def to_python(self, value: str) -> str:
        if not is_namespace(value):
            raise ValueError(NAMESPACE_RULE)
        return value

    def to_url(self, value: str) -> str:
        if not is_namespace(value):
            raise ValueError(NAMESPACE_RULE)
        return value


class NameConverter:
    """`<k8sname:...>`: a DNS-1123 subdomain of at most 253 characters."""

    regex = NAME_PATTERN

    def to_python(self, value: str) -> str:
        if not is_name(value):
            raise ValueError(NAME_RULE)
        return value

    def to_url(self, value: str) -> str:
        if not is_name(value):
            raise ValueError(NAME_RULE)
        return value


register_converter(NamespaceConverter, "namespace")
register_converter(NameConverter, "k8sname")

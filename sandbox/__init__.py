"""The sandbox cluster: a Kubernetes API emulator on loopback with a simulated Dynamo operator."""

from .clock import Clock, ManualClock
from .cluster import SandboxCluster, compact_crd
from .rbac import rules_from_role

__all__ = ["Clock", "ManualClock", "SandboxCluster", "compact_crd", "rules_from_role"]

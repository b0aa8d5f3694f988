"""Just enough of Kubernetes' protobuf encoding to read what `kubectl auth can-i` sends.

kubectl sends built-in kinds as protobuf: the 4-byte magic "k8s\\0", then a runtime.Unknown
message whose field 2 holds the object. Only length-delimited and varint fields occur in a
SelfSubjectAccessReview, so that is all this reads.
"""

from __future__ import annotations

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def fields(data: bytes) -> dict[int, list]:
    """A message's fields by number: bytes for length-delimited ones, ints for varints."""
    found: dict[int, list] = {}
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            length, at = _varint(data, at)
            value, at = data[at : at + length], at + length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        found.setdefault(number, []).append(value)
    return found


def _text(message: dict[int, list], number: int) -> str:
    return message.get(number, [b""])[0].decode()


def access_review(body: bytes) -> dict:
    """A SelfSubjectAccessReview (authorization.k8s.io/v1) in protobuf, as JSON-shaped data."""
    if not body.startswith(MAGIC):
        raise ValueError("not a Kubernetes protobuf message")
    raw = fields(body[len(MAGIC) :]).get(2, [b""])[0]
    spec = fields(fields(raw).get(2, [b""])[0])
    review: dict = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview"}
    if 1 in spec:
        attrs = fields(spec[1][0])
        names = ("namespace", "verb", "group", "version", "resource", "subresource", "name")
        resource = {name: _text(attrs, number) for number, name in enumerate(names, 1)}
        review["spec"] = {"resourceAttributes": resource}
    elif 2 in spec:
        attrs = fields(spec[2][0])
        review["spec"] = {
            "nonResourceAttributes": {"path": _text(attrs, 1), "verb": _text(attrs, 2)}
        }
    else:
        review["spec"] = {}
    return review

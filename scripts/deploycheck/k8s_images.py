"""Release images by digest: in production every service container names its image by
``@sha256:<digest>``, never by a tag alone (a tag can be moved to other bytes)."""

from __future__ import annotations

import re

from scripts.deploycheck.k8s import Object, name_of
from scripts.deploycheck.k8s_kafka import _is_service
from scripts.deploycheck.k8s_rules import of_kind

BY_DIGEST = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")


def release_images(objects: tuple[Object, ...], production: bool) -> list[str]:
    if not production:
        return []  # dev runs the images built locally (corridor-<svc>:local)
    problems = []
    for deployment in of_kind(objects, "Deployment"):
        if not _is_service(deployment):
            continue
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            image = str(container.get("image", ""))
            if not BY_DIGEST.match(image):
                problems.append(
                    f"{name_of(deployment)} container {container['name']}: image {image!r} "
                    "is not by digest (<name>@sha256:<digest>)"
                )
    return problems

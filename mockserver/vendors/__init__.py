"""Vendor modules. Each module here that defines `VENDOR` is mounted; adding a vendor is adding a
module and its spec, nothing else."""

from __future__ import annotations

import importlib
import pkgutil

from mockserver.vendors.base import Vendor


def discover() -> dict[str, Vendor]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        vendor = getattr(importlib.import_module(f"{__name__}.{info.name}"), "VENDOR", None)
        if isinstance(vendor, Vendor):
            found[vendor.name] = vendor
    return found

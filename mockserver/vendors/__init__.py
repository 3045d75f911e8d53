"""Vendor modules. Each module here that defines `VENDOR` is mounted; adding a vendor is adding a
module and its spec, nothing else.

A vendor may come in versions, its **profiles**: the default (the seeds' era, named by the module's
`PROFILE`, `seed` when it names none; `seed` always names it too) and others, each a document
`openapi/<vendor>-<profile>.yaml`. A profile's code, only where its document cannot say it all, is
either a module `<vendor>_<profile>.py` here (its own `VENDOR`), or the vendor module's
`for_profile(spec, profile)` (the same code over another document); with neither, the engine serves
the document alone."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from pathlib import Path

from mockserver.spec import SpecError, load_spec, specs_dir
from mockserver.vendors.base import Vendor

SEED = "seed"  # every vendor's default profile answers to this name, whatever else it is called


def _module_names() -> list[str]:
    return sorted(info.name for info in pkgutil.iter_modules(__path__)
                  if not info.name.startswith("_") and info.name != "base")


def _profile_module(name: str, names: list[str]) -> bool:
    """`<vendor>_<profile>`: the code of another vendor module's profile, never mounted by itself."""
    vendor, sep, profile = name.partition("_")
    return bool(sep and profile) and vendor in names


def discover() -> dict[str, Vendor]:
    """Every vendor module's `VENDOR`, as its default profile."""
    found = {}
    names = _module_names()
    for name in names:
        if _profile_module(name, names):
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        vendor = getattr(module, "VENDOR", None)
        if isinstance(vendor, Vendor):
            found[vendor.name] = dataclasses.replace(vendor, profile=getattr(module, "PROFILE", SEED))
    return found


def profile_of(stem: str, vendors: set[str] | dict) -> tuple[str, str] | None:
    """(vendor, profile) when a bundled document's name `<vendor>-<profile>` is a profile of a vendor."""
    for vendor in vendors:
        if stem.startswith(vendor + "-") and len(stem) > len(vendor) + 1:
            return vendor, stem[len(vendor) + 1:]
    return None


def profiles(vendor: Vendor) -> list[str]:
    """The profiles a vendor has: its default's name first, then its documents' in name order."""
    found = [vendor.profile or SEED]
    for path in sorted(specs_dir().glob(f"{vendor.name}-*.yaml")):
        found.append(path.stem[len(vendor.name) + 1:])
    return found


def load_profile(vendor: Vendor, profile: str) -> Vendor:
    """The vendor as `profile` serves it; `vendor` is its default. An unknown profile is a
    `SpecError` naming the known ones."""
    if profile in (vendor.profile, SEED):
        return vendor
    document = specs_dir() / f"{vendor.name}-{profile}.yaml"
    if not document.is_file() or Path(profile).name != profile:
        raise SpecError(f"{vendor.name} has no profile {profile!r}; its profiles: "
                        f"{', '.join(profiles(vendor))} ({SEED} is the default)")
    names = _module_names()
    own = f"{vendor.name}_{profile}"
    if own in names:  # the profile's own code
        made = importlib.import_module(f"{__name__}.{own}").VENDOR
    elif vendor.name in names and hasattr(module := importlib.import_module(f"{__name__}.{vendor.name}"),
                                           "for_profile"):
        made = module.for_profile(load_spec(document, vendor.name), profile)
    else:
        # Imported here: the engine imports `vendors.base`, which runs this package first.
        from mockserver.engine import build_vendor

        made = build_vendor(load_spec(document, vendor.name))
    return dataclasses.replace(made, profile=profile)

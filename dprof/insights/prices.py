"""Prices for the cost figures, from configuration only.

dprof ships no price list: prices change, differ by provider, region, contract and
machine type, and a built-in table would be wrong without saying so. A price is set
by a JSON file (given by option, or named by ``$DPROF_PRICES``) and by single
environment variables, which override the file:

    {"currency": "EUR", "cpu_hour": 0.031, "gb_hour": 0.0042, "io_gb": 0.0}

    DPROF_PRICE_CPU_HOUR   price of one CPU core for one hour
    DPROF_PRICE_GB_HOUR    price of one GiB of memory for one hour
    DPROF_PRICE_IO_GB      price of one GiB read or written
    DPROF_PRICE_CURRENCY   the currency's name (free text, default "")

A price that is not set stays None, and every cost that needs it is reported as
missing with that reason.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Dict, Mapping, Optional

ENV_FILE = "DPROF_PRICES"
ENV_VALUES = {"cpu_hour": "DPROF_PRICE_CPU_HOUR", "gb_hour": "DPROF_PRICE_GB_HOUR",
              "io_gb": "DPROF_PRICE_IO_GB"}
ENV_CURRENCY = "DPROF_PRICE_CURRENCY"
KEYS = tuple(ENV_VALUES) + ("currency",)


@dataclass(frozen=True)
class Prices:
    cpu_hour: Optional[float] = None
    gb_hour: Optional[float] = None
    io_gb: Optional[float] = None
    currency: str = ""
    source: str = "none"          # where they came from, for the report

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.cpu_hour, self.gb_hour, self.io_gb))

    def missing_reason(self, name: str) -> str:
        return (f"no price set for {name} (set {ENV_VALUES[name]}, or '{name}' in a "
                f"JSON prices file given with --prices or ${ENV_FILE})")


def _number(name: str, value, where: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"price {name!r} in {where} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"price {name!r} in {where} must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"price {name!r} in {where} must be a finite number >= 0, got {value!r}")
    return number


def from_mapping(data: Mapping, where: str) -> Dict:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must hold a JSON object of prices, got "
                         f"{type(data).__name__}")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown price names {unknown}; known: {list(KEYS)}")
    out: Dict = {}
    for name in ENV_VALUES:
        if data.get(name) is not None:
            out[name] = _number(name, data[name], where)
    if "currency" in data:
        out["currency"] = str(data["currency"])
    return out


def load(path: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> Prices:
    """Prices from ``path`` (else ``$DPROF_PRICES``), then the single variables."""
    env = os.environ if environ is None else environ
    values: Dict = {}
    sources = []
    path = path or env.get(ENV_FILE) or None
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            raise ValueError(f"prices file {path} does not exist") from None
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read prices file {path} as JSON: {exc}") from None
        values.update(from_mapping(data, f"prices file {path}"))
        sources.append(path)
    for name, var in ENV_VALUES.items():
        if env.get(var):
            values[name] = _number(name, env[var], f"${var}")
            sources.append(f"${var}")
    if env.get(ENV_CURRENCY):
        values["currency"] = env[ENV_CURRENCY]
    return Prices(source=", ".join(sources) or "none", **values)

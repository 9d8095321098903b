"""Finding, loading and validating preset files (`presets/*.json`)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import msgspec
import msgspec.inspect as mi

from breakout.common.presets.model import Preset

_PATH_RE = re.compile(r"\s*-\s*at\s*(?P<key>`key` in\s*)?`\$(?P<path>[^`]*)`\s*$")
_UNKNOWN_RE = re.compile(r"unknown field `(?P<name>[^`]+)`")
_MISSING_RE = re.compile(r"missing required field `(?P<name>[^`]+)`")
# A path segment: a field name, or `[0]` / `[...]` (a list item, a dict value).
_SEGMENT_RE = re.compile(r"\[[^\]]*\]|[^.\[\]]+")


class PresetError(ValueError):
    """A preset file that cannot be used; `field` is the dotted path of the offending key."""

    def __init__(self, source: str, field: str, reason: str) -> None:
        self.source = source
        self.field = field
        self.reason = reason
        where = f"{field}: " if field else ""
        super().__init__(f"{source}: {where}{reason}")


def presets_dir() -> Path:
    """`BREAKOUT_PRESETS_DIR`, else the repository's `presets/`, else `./presets`."""
    configured = os.environ.get("BREAKOUT_PRESETS_DIR", "").strip()
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "presets"
        if (parent / "pyproject.toml").exists() and candidate.is_dir():
            return candidate
    return Path.cwd() / "presets"


def parse_preset(raw: bytes | str, source: str = "<preset>") -> Preset:
    """Decode and validate one preset document; errors name the field and the allowed range."""
    try:
        return msgspec.json.decode(raw, type=Preset)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _PATH_RE.search(message)
        if match is None:
            named = _UNKNOWN_RE.search(message) or _MISSING_RE.search(message)
            raise PresetError(source, named.group("name") if named else "", message) from None
        field = match.group("path").lstrip(".")
        reason = message[: match.start()]
        named = _UNKNOWN_RE.search(reason) or _MISSING_RE.search(reason)
        if named is not None:
            field = f"{field}.{named.group('name')}".lstrip(".")
        elif match.group("key"):
            reason = f"{reason} (a key)"
        elif reason.startswith("Expected"):
            reason = f"{reason} (allowed: {allowed_values(field)})"
        raise PresetError(source, field, reason) from None
    except msgspec.DecodeError as exc:
        raise PresetError(source, "", f"not valid JSON: {exc}") from None


def allowed_values(field: str) -> str:
    """What the preset model allows at the dotted path `field`, e.g. `0.0 < value <= 0.05`."""
    info: mi.Type = mi.type_info(Preset)
    for segment in _SEGMENT_RE.findall(field):
        info = _child(info, segment)
    return _describe(info)


def _child(info: mi.Type, segment: str) -> mi.Type:
    if isinstance(info, mi.UnionType):
        info = next((t for t in info.types if not isinstance(t, mi.NoneType)), info)
    if isinstance(info, mi.StructType):
        return next((f.type for f in info.fields if f.name == segment), mi.AnyType())
    if isinstance(info, mi.DictType):
        return info.value_type
    if isinstance(info, mi.ListType | mi.TupleType | mi.VarTupleType):
        items = getattr(info, "item_type", None)
        return items if items is not None else mi.AnyType()
    return mi.AnyType()


def _describe(info: mi.Type) -> str:
    if isinstance(info, mi.UnionType):
        return " or ".join(_describe(t) for t in info.types)
    if isinstance(info, mi.NoneType):
        return "null"
    if isinstance(info, mi.LiteralType):
        return "one of " + ", ".join(repr(v) for v in info.values)
    if isinstance(info, mi.FloatType | mi.IntType):
        kind = "a number" if isinstance(info, mi.FloatType) else "an integer"
        low = (
            f"{info.ge} <= "
            if info.ge is not None
            else f"{info.gt} < "
            if info.gt is not None
            else ""
        )
        high = (
            f" <= {info.le}"
            if info.le is not None
            else f" < {info.lt}"
            if info.lt is not None
            else ""
        )
        return f"{kind}, {low}value{high}" if low or high else kind
    return type(info).__name__.removesuffix("Type").lower() or "any"


def load_preset_file(path: Path) -> Preset:
    """Load one preset file; its `name` must match the file name."""
    preset = parse_preset(path.read_bytes(), str(path))
    if preset.name != path.stem:
        raise PresetError(
            str(path), "name", f"{preset.name!r} does not match the file name {path.stem!r}"
        )
    return preset


def load_preset(name: str, directory: Path | None = None) -> Preset:
    """Load the preset called `name` (a file path also works)."""
    candidate = Path(name)
    if candidate.suffix == ".json" and candidate.exists():
        return load_preset_file(candidate)
    folder = directory or presets_dir()
    path = folder / f"{name}.json"
    if not path.exists():
        known = ", ".join(available_presets(folder)) or "none"
        raise PresetError(str(path), "", f"no such preset (known: {known})")
    return load_preset_file(path)


def available_presets(directory: Path | None = None) -> list[str]:
    """The names of the preset files in `directory` (default: `presets_dir()`)."""
    folder = directory or presets_dir()
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

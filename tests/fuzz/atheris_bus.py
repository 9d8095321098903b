"""libFuzzer (atheris) over the bus decoder, as the runtime decodes: `decode_wire` then
`.decode()`; anything but the errors the runtime dead-letters is a crash libFuzzer reports.

    make fuzz-atheris [ATHERIS_SECONDS=60]

atheris is not a project dependency (`make fuzz-atheris` adds it for the run only): it ships
Linux wheels and needs clang's libFuzzer to build anywhere else. The seed corpus is a few real
envelopes; libFuzzer keeps what it finds in the corpus directory for the next run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import msgspec

    import breakout.common.events  # noqa: F401  (registers every event type)
    from breakout.common.events import decode_wire

# What the runtime's decode step turns into a dead letter (as tests/fuzz/test_fuzz_bus_and_presets).
DEAD_LETTERED = (msgspec.DecodeError, msgspec.ValidationError, ValueError)


def one_input(payload: bytes) -> None:
    """Decode one bus payload like the runtime."""
    try:
        decode_wire(payload).decode()
    except DEAD_LETTERED:
        return


def seed(corpus: Path) -> None:
    """Write the real envelopes of the hypothesis target into `corpus` (once)."""
    from tests.fuzz.test_fuzz_bus_and_presets import ENVELOPES

    corpus.mkdir(parents=True, exist_ok=True)
    for index, envelope in enumerate(ENVELOPES):
        (corpus / f"seed-{index}.json").write_bytes(msgspec.json.encode(envelope))


def main() -> None:
    """libFuzzer's command line: options (`-max_total_time=60`) and corpus directories."""
    for arg in sys.argv[1:]:
        if not arg.startswith("-"):
            seed(Path(arg))
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

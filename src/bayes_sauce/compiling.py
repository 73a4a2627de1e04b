"""PyTensor's settings for every model this package compiles (set when :mod:`bayes_sauce.model` is imported).

- No fast-math in numba-compiled code: with it, LLVM may reassociate and contract floating-point operations
  differently when a function is compiled together with its callees (a cold cache) than when the callees come
  from numba's cache, so the same seed gave other draws depending on what the caches held. Without it every
  compile computes the same numbers, and the same seed gives the same draws on a machine.
- Generated source in PyTensor's compile folder (content-addressed, pruned by PyTensor), not one file per
  compiled op left in the system's temporary folder.
"""

from __future__ import annotations


def configure() -> None:
    """Apply the settings (idempotent); a user's PYTENSOR_FLAGS cannot turn fast-math back on."""
    import pytensor

    pytensor.config.numba__fastmath = False
    if not pytensor.config.generated_src_dir:
        pytensor.config.generated_src_dir = str(pytensor.config.base_compiledir / "generated_src")

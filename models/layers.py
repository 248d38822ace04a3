"""What each layer of the model is: populations, projections, files, schedule.

``LayerSpec`` is the single description from which the network is assembled
(``models.network``), trained (``training``) and written to disk. Layer 4 and
layer 2/3 are the two instances, ``LAYER4`` and ``LAYER23``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from models import parameters as P


def static(spec: P.ProjectionSpec) -> P.ProjectionSpec:
    """The same projection with static synapses (weights loaded from a snapshot, no learning)."""
    return replace(spec, rule=None, w_init=(0.0, 0.0))


@dataclass(frozen=True)
class LayerSpec:
    name: str                      # "L4" or "L2_3"
    populations: dict              # AdEx populations: name -> size (creation order)
    projections: tuple             # ProjectionSpec, static (rule=None) or plastic
    snapshot_files: dict           # plastic projection -> (subfolder, file stem)
    rate_populations: tuple        # (excitatory, inhibitory) population names for frExc/frInh
    default_out: str
    onoff_balanced: tuple = ()     # projections whose ON/OFF norms are balanced
    normalize_every: int | None = None
    delay_files: dict = field(default_factory=dict)
    frozen_from: "LayerSpec | None" = None  # layer whose trained weights are loaded (frozen)

    @property
    def plastic(self) -> tuple:
        return tuple(s for s in self.projections if s.rule is not None)

    @property
    def has_varying_delays(self) -> bool:
        """Whether some projection draws non-uniform axonal delays (layer 2/3)."""
        return any(s.delay is not None and s.delay[0] != s.delay[1] for s in self.projections)

    def spec(self, name: str) -> P.ProjectionSpec:
        return next(s for s in self.projections if s.name == name)

    def static(self) -> "LayerSpec":
        """This layer with every projection static: the network of a snapshot, for analysis."""
        return replace(self, projections=tuple(static(s) for s in self.projections))

    def snapshot_path(self, out_dir, proj_name: str, step: int) -> Path:
        sub, stem = self.snapshot_files[proj_name]
        return Path(out_dir) / sub / f"{stem}_{step}.txt"

    def snapshot_shapes(self) -> dict:
        """"<subfolder>/<stem>" -> (n_post, n_pre) of every snapshot file."""
        return {f"{sub}/{stem}": P.projection_shape(self.spec(name))
                for name, (sub, stem) in self.snapshot_files.items()}


LAYER4 = LayerSpec(
    name="L4",
    populations={"E": P.N_E, "I": P.N_I},
    projections=P.L4_PROJECTIONS,
    snapshot_files=P.L4_SNAPSHOT_FILES,
    rate_populations=("E", "I"),
    default_out="output_L4",
    onoff_balanced=P.L4_ONOFF_BALANCED,
    normalize_every=P.NORMALIZE_EVERY,
)

LAYER23 = LayerSpec(
    name="L2_3",
    populations={"E": P.N_E, "I": P.N_I, "E2": P.N_E2, "I2": P.N_I2},
    projections=tuple(static(s) for s in P.L4_PROJECTIONS) + P.L23_PROJECTIONS,
    snapshot_files=P.L23_SNAPSHOT_FILES,
    rate_populations=("E2", "I2"),
    default_out="output_L2_3",
    delay_files=P.L23_DELAY_FILES,
    frozen_from=LAYER4,
)

LAYERS = {layer.name: layer for layer in (LAYER4, LAYER23)}

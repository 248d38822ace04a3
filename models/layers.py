"""What each layer of a model is: populations, projections, files, schedule.

``LayerSpec`` is the single description from which the network is assembled
(``simulator.network``), trained (``training``) and written to disk; it carries the model
value it was made from (``models.parameters.Model``). ``layer4(model)`` and
``layer23(model)`` make the two layers of a model; ``layers(model)`` both, by name.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from models.parameters import PUBLISHED, Model, ProjectionSpec

# Snapshot files: projection -> (subfolder, file stem); the names of the published scripts.
L4_SNAPSHOT_FILES = {
    "LGN_E": ("excitatory", "V1weight"),
    "LGN_I": ("excitatory", "InhibW"),
    "E_I": ("V1toIN", "V1toIN"),
    "I_E": ("inhibitory", "INtoV1"),
    "I_I": ("inhibitory", "INLat"),
}
L23_SNAPSHOT_FILES = {
    "E_E2": ("excitatory", "V2weight"),
    "E2_I2": ("excitatory", "V2toIN2"),
    "E_I2": ("excitatory", "V1toIN2"),
    "I2_E2": ("inhibitory", "IN2toV2"),
    "I2_I2": ("inhibitory", "IN2Lat"),
}
# Delay files of layer 2/3 (written once, the delays do not learn).
L23_DELAY_FILES = {
    "E_E2": ("excitatory", "V1toV2_Delay.txt"),
    "E2_I2": ("excitatory", "V2toIN2_Delay.txt"),
}
# Projections whose ON and OFF weight norms are balanced every model.normalize_every patches.
L4_ONOFF_BALANCED = ("LGN_E", "LGN_I")


def static(spec: ProjectionSpec) -> ProjectionSpec:
    """The same projection with static synapses (weights loaded from a snapshot, no learning)."""
    return replace(spec, rule=None, w_init=(0.0, 0.0))


@dataclass(frozen=True)
class LayerSpec:
    name: str                      # "L4" or "L2_3"
    model: Model                   # the model value the layer belongs to
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

    def spec(self, name: str) -> ProjectionSpec:
        return next(s for s in self.projections if s.name == name)

    def static(self) -> "LayerSpec":
        """This layer with every projection static: the network of a snapshot, for analysis."""
        return replace(self, projections=tuple(static(s) for s in self.projections))

    def snapshot_path(self, out_dir, proj_name: str, step: int) -> Path:
        sub, stem = self.snapshot_files[proj_name]
        return Path(out_dir) / sub / f"{stem}_{step}.txt"

    def shape(self, name: str) -> tuple[int, int]:
        """(n_post, n_pre) of the weight file of projection *name*."""
        return self.model.projection_shape(self.spec(name))

    def snapshot_shapes(self) -> dict:
        """"<subfolder>/<stem>" -> (n_post, n_pre) of every snapshot file."""
        return {f"{sub}/{stem}": self.shape(name) for name, (sub, stem) in self.snapshot_files.items()}


def layer4(model: Model = PUBLISHED) -> LayerSpec:
    return LayerSpec(
        name="L4",
        model=model,
        populations={"E": model.sizes.n_exc, "I": model.sizes.n_inh},
        projections=model.projections("L4"),
        snapshot_files=L4_SNAPSHOT_FILES,
        rate_populations=("E", "I"),
        default_out="output_L4",
        onoff_balanced=L4_ONOFF_BALANCED,
        normalize_every=model.normalize_every,
    )


def layer23(model: Model = PUBLISHED) -> LayerSpec:
    sizes = model.sizes
    return LayerSpec(
        name="L2_3",
        model=model,
        populations={"E": sizes.n_exc, "I": sizes.n_inh, "E2": sizes.n_exc2, "I2": sizes.n_inh2},
        projections=tuple(static(s) for s in model.projections("L4")) + model.projections("L2_3"),
        snapshot_files=L23_SNAPSHOT_FILES,
        rate_populations=("E2", "I2"),
        default_out="output_L2_3",
        delay_files=L23_DELAY_FILES,
        frozen_from=layer4(model),
    )


def layers(model: Model = PUBLISHED) -> dict:
    """The layers of *model* by name ("L4", "L2_3")."""
    return {"L4": layer4(model), "L2_3": layer23(model)}


LAYER_NAMES = ("L4", "L2_3")

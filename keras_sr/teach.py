"""Distillation targets: a teacher network's outputs, stored beside the HR in a training file.

    keras-sr teach --teacher fd_irb_x4 --train runs/data/train291_ms6_x4.h5 -o runs/data/train291_ms6_x4_fd_irb.h5
    keras-sr train --train runs/data/train291_ms6_x4_fd_irb.h5 --teacher-weight 0.5 ...

The output holds everything the training file holds (groups `lr` and `hr`, `names`, its
attributes) and one more group, `teacher`: for every item, the teacher's super-resolution of
the item's LR, uint8 and of the HR's shape. Training with `teacher_weight` W > 0 minimizes
(1 - W) L1(output, HR) + W L1(output, teacher) on the same random patch of both.

The teacher runs once per item here, not once per step in training: a large teacher such as
`fd_irb` costs a few minutes for the 291 set, where running it beside every training step would
cost more than the student's own step.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_sr.data.sources import TEACHER_GROUP
from keras_sr.fileio import atomic_output

__all__ = ["TEACHER_GROUP", "load_teacher", "add_teacher_outputs"]


def load_teacher(teacher, scale):
    """The Keras model `teacher` names: a preset (its Keras weights) or a weights file, at `scale`."""
    from keras_sr import presets
    from keras_sr.checkpoints import load_model

    if presets.is_preset(str(teacher)):
        weights = presets.get(str(teacher)).weights
    elif Path(teacher).is_file():
        weights = Path(teacher)
    else:
        raise FileNotFoundError(f"`teacher` must be a preset name ({', '.join(presets.names())}) or a Keras "
                                f"weights file. Received: teacher={str(teacher)!r}, which is neither.")
    model, meta = load_model(weights)
    if meta["scale"] != scale:
        raise ValueError(f"`teacher` {str(teacher)!r} upscales x{meta['scale']}, but the training file is x{scale}.")
    return model


def add_teacher_outputs(train, teacher, output, force=False, self_ensemble=False, quiet=False):
    """Write a copy of the HDF5 training file `train` with the teacher's outputs added.

    Args:
        train: an .h5 file of (LR, HR) items (`keras-sr prepare`).
        teacher: a preset name or a Keras weights file at the file's scale.
        output: the .h5 file to write (atomically; an existing one only with `force`).
        force: overwrite an existing `output`.
        self_ensemble: average the teacher over the 8 flips/rotations of each input (8x the time).
        quiet: no progress bar.

    Returns:
        The number of items written.
    """
    import h5py
    from tqdm import tqdm

    from keras_sr.data.sources import open_pairs
    from keras_sr.scoring import keras_predictor, super_resolve

    train, output = Path(train), Path(output)
    if not train.is_file() or train.suffix.lower() not in (".h5", ".hdf5"):
        raise ValueError(f"`train` must be an existing .h5 training file (keras-sr prepare). Received: '{train}'")
    if output.resolve() == train.resolve():
        raise ValueError(f"`output` must differ from `train`: the training file is never rewritten. "
                         f"Received: output='{output}'")
    if output.exists() and not force:
        raise FileExistsError(f"`output` '{output}' already exists; pass force=True (--force) to overwrite it.")
    with h5py.File(train, "r") as f:
        scale = f.attrs.get("scale")
    if scale is None:
        raise ValueError(f"`train` '{train}' records no `scale` attribute; make it with keras-sr prepare.")
    source = open_pairs(train, int(scale))  # an .h5 file, checked above: an H5PairSource
    predict = keras_predictor(load_teacher(teacher, source.scale))
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(output, suffix=".h5") as tmp:
        with h5py.File(train, "r") as src, h5py.File(tmp, "w") as dst:
            for key in src.keys():
                src.copy(src[key], dst, name=key)
            dst.attrs.update(dict(src.attrs))
            dst.attrs["teacher"] = str(teacher)
            dst.attrs["teacher_self_ensemble"] = bool(self_ensemble)
            group = dst.create_group(TEACHER_GROUP)
            for i in tqdm(range(len(source)), desc=f"teach x{source.scale}", unit="item", disable=quiet):
                lr, _ = source[i]
                out = super_resolve(predict, lr, self_ensemble=self_ensemble)
                group.create_dataset(source.key(i), data=np.round(out * 255.0).astype(np.uint8))
    source.close()
    return len(source)


def main(argv=None) -> int:
    """`python -m keras_sr.teach`: the same as `keras-sr teach`."""
    from keras_sr.cli.teach import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())

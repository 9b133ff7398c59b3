"""`keras-sr teach`: add a teacher network's outputs to an .h5 training file, for distillation."""
from __future__ import annotations

from keras_sr.cli import common


def build_parser():
    parser = common.make_parser(
        "teach", "Copy an .h5 training file and add a teacher's outputs (group 'teacher') for distillation.",
        epilog="The teacher runs once per item. Train on the output with --teacher-weight W: the loss is "
               "(1 - W) L1(HR) + W L1(teacher) on the same patch.")
    parser.add_argument("--teacher", metavar="PRESET|WEIGHTS",
                        help="a shipped preset (keras-sr presets lists them) or a Keras weights file, at the "
                             "training file's scale")
    common.add_train(parser)
    common.add_output(parser, "the .h5 file to write (the training file plus group 'teacher')")
    common.add_force(parser, help="overwrite an existing output file")
    parser.add_argument("--self-ensemble", action="store_true",
                        help="average the teacher over the 8 flips/rotations of each input (8x the time)")
    common.add_quiet(parser)
    common.add_config_file(parser)
    return parser


def run(args, parser):
    from keras_sr.training.runconfig import apply_config_file

    apply_config_file(args, parser)
    common.require(parser, ("--teacher", args.teacher), ("--train", args.train), ("-o/--output", args.output))
    from keras_sr.teach import add_teacher_outputs

    n = add_teacher_outputs(args.train, args.teacher, args.output, force=args.force,
                            self_ensemble=args.self_ensemble, quiet=args.quiet)
    print(f"Wrote {n} items with the outputs of {args.teacher} to {args.output}")
    return 0


def main(argv=None) -> int:
    return common.run_main(build_parser, run, argv)

"""`keras-sr profile`: trainable parameters and Multi-Adds of the registered networks."""
from __future__ import annotations

import json

from keras_sr.cli import common

DEFAULT_INPUT_HW = (180, 320)  # 320x180 LR: 1280x720 at x4


def build_parser():
    parser = common.make_parser(
        "profile", "Trainable parameters and Multi-Adds of the registered networks (or of presets), "
                   "by stage.",
        epilog="Parameters are trainable parameters; the bicubic skip's fixed kernel is counted apart. Multi-Adds: "
               "every call of every conv, trainable layers apart from the fixed bicubic conv; their total is what "
               "`keras-sr benchmark` counts from a converted file. --presets lists the shipped models instead "
               "(same as `keras-sr presets`).")
    common.add_model(parser, action="append",
                     help="a registered network or a preset (repeatable; default: every registered network that "
                          "supports --scale)")
    common.add_scale(parser, help="upscaling factor (default 4, or the preset's)")
    common.add_input_size(parser, default=DEFAULT_INPUT_HW,
                          help="LR input WIDTHxHEIGHT (default 320x180, a 1280x720 output at x4)")
    common.add_set(parser)
    common.add_json(parser)
    parser.add_argument("--presets", action="store_true",
                        help="list the shipped models with their counts and card PSNR (= keras-sr presets)")
    return parser


def _targets(args, parser):
    """[(label, model name, scale, config)] for the requested models, validated with parser.error."""
    from keras_sr import models, presets

    config = common.parse_set_options(args.config)
    if not args.model:
        scale = args.scale or 4
        chosen = [name for name in models.names() if scale in models.supported_scales(name)]
        return [(name, name, scale, config) for name in chosen]
    targets = []
    for name in args.model:
        if presets.is_preset(name):
            preset = presets.get(name)
            if args.scale is not None and args.scale != preset.scale:
                parser.error(f"preset {name!r} is x{preset.scale}. Received: --scale {args.scale}")
            if config:
                parser.error(f"preset {name!r} has a fixed config; --set works with a registered network only")
            targets.append((name, preset.model, preset.scale, dict(preset.config)))
            continue
        if name not in models.names():
            parser.error(f"--model must be a registered network {models.names()} or a preset {presets.names()}. "
                         f"Received: --model {name}")
        scale = args.scale or 4
        if scale not in models.supported_scales(name):
            parser.error(f"--scale must be one of {models.supported_scales(name)} for {name!r}. "
                         f"Received: --scale {scale}")
        targets.append((name, name, scale, config))
    return targets


def run(args, parser):
    if args.presets:
        from keras_sr.cli.presets import listing

        print(listing(as_json=args.json))
        return 0
    targets = _targets(args, parser)
    from keras_sr import models, profile

    rows = [(label, profile.profile_model(models.build(name, scale, **config), input_hw=args.input_hw))
            for label, name, scale, config in targets]
    if args.json:
        payload = rows[0][1] if len(rows) == 1 else {label: result for label, result in rows}
        print(json.dumps(payload, indent=2))
        return 0
    print(profile.format_table(rows, args.input_hw))
    for (label, _, scale, _), (_, result) in zip(targets, rows):
        print(f"\n{label} x{scale}, by stage:\n{profile.format_stages(result)}")
    return 0


def main(argv=None) -> int:
    return common.run_main(build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())

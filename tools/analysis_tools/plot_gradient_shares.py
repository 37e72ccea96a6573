"""Plot the tasks' shares of the shared layers' gradient beside their losses
and weights, one column per run (runs trained with GradientShareHook).

    python tools/analysis_tools/plot_gradient_shares.py RUN [RUN ...] \
        [--labels fixed DMW] [--out gradient_shares.png] [--smooth 5]

RUN is a tools/train.py work dir (its latest run is used), a run dir or a
scalars.json file. To log the shares, train with
--cfg-options "custom_hooks=[dict(type='GradientShareHook',interval=10)]".
"""
import argparse

from mmdmw.visualization.gradient_shares import (load_shares, mean_shares,
                                                 plot_gradient_shares)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Plot gradient shares beside learning paces')
    parser.add_argument('paths', nargs='+',
                        help='work dirs, run dirs or scalars.json files')
    parser.add_argument('--labels', nargs='+', help='column titles')
    parser.add_argument('--out', default='gradient_shares.png',
                        help='PNG to write (default: %(default)s)')
    parser.add_argument('--smooth', type=int, default=1,
                        help='moving-average window in logged points')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    out = plot_gradient_shares(args.paths, args.labels, args.out,
                               args.smooth)
    for label, path in zip(args.labels or args.paths, args.paths):
        shares = mean_shares(load_shares(path), start_fraction=0.5)
        print(f'{label}: mean share over the second half: ' +
              ', '.join(f'{k} {v:.3f}' for k, v in shares.items()))
    print(f'saved {out}')


if __name__ == '__main__':
    main()

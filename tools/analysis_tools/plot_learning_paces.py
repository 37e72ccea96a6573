"""Plot a run's task losses, their DMW weights and val metrics (the paper's
Fig. 1) from MMEngine's scalars.json.

    python tools/analysis_tools/plot_learning_paces.py WORK_DIR \
        [--out paces.png] [--smooth 10] [--log-y] [--title TEXT]

WORK_DIR is a tools/train.py work dir (its latest run is used), a run dir
or a scalars.json file.
"""
import argparse

from mmdmw.visualization.learning_paces import plot_learning_paces


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Plot the learning paces of an mmdmw training run')
    parser.add_argument('path', help='work dir, run dir or scalars.json')
    parser.add_argument('--out', default='learning_paces.png',
                        help='PNG to write (default: %(default)s)')
    parser.add_argument('--smooth', type=int, default=1,
                        help='moving-average window in logged points '
                        '(default: %(default)s, raw)')
    parser.add_argument('--log-y', action='store_true',
                        help='log scale for the losses')
    parser.add_argument('--title', help='figure title (default: the '
                        'scalars file, relative to the current directory '
                        'when below it)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    out = plot_learning_paces(args.path, args.out, args.smooth, args.log_y,
                              args.title)
    print(f'saved {out}')


if __name__ == '__main__':
    main()

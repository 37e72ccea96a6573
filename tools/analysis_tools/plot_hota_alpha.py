"""Plot HOTA, DetA, AssA, DetRe, DetPr, AssRe, AssPr and LocA over
TrackEval's localisation thresholds alpha (the paper's Fig. 3) for a finished
``tools/test.py ... --eval track`` run.

    python tools/test.py CONFIG CKPT --eval track --work-dir WORK_DIR
    python tools/analysis_tools/plot_hota_alpha.py WORK_DIR \
        [--out hota_alpha.png] [--sequence MOT17-02-FRCNN] [--title TEXT]

WORK_DIR is the test run's work dir (its latest run is used), a run dir or
the ``hota_alpha.json`` file.
"""
import argparse

from mmdmw.visualization.hota_alpha import plot_hota_alpha


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Plot HOTA and its sub-metrics over alpha (Fig. 3)')
    parser.add_argument('path', help='work dir, run dir or hota_alpha.json')
    parser.add_argument('--out', default='hota_alpha.png',
                        help='PNG to write (default: %(default)s)')
    parser.add_argument('--sequence',
                        help='one sequence instead of all combined')
    parser.add_argument('--title', help='figure title')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    out = plot_hota_alpha(args.path, args.out, args.sequence, args.title)
    print(f'saved {out}')


if __name__ == '__main__':
    main()

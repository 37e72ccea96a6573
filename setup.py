"""Installs mmdmw, reading its requirements the way OpenMMLab packages do."""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def get_version() -> str:
    with open(osp.join(HERE, 'mmdmw', 'version.py')) as f:
        return re.search(r"__version__ = '(.+)'", f.read()).group(1)


def parse_requirements(fname: str) -> list:
    """Read one ``requirements/*.txt`` file, skipping comments and blanks."""
    with open(osp.join(HERE, 'requirements', fname)) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


setup(
    name='mmdmw',
    version=get_version(),
    description='Dynamic multi-loss weighting for chained multiple people '
    'tracking, an OpenMMLab (mmdet 3.x) plugin',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests',
                                    'benchmarks')),
    python_requires='>=3.8',
    install_requires=parse_requirements('runtime.txt'),
    extras_require=dict(
        tests=parse_requirements('tests.txt'),
        build=parse_requirements('build.txt'),
        optional=parse_requirements('optional.txt')),
    zip_safe=False)

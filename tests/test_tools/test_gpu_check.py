"""tools/gpu_check.sh, the parts that run without a GPU: its syntax, the
arch list it derives, the plan ``--dry-run`` prints, and the config overrides
of its training and tracking steps (one iteration, no download)."""
import argparse
import os
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from mmdmw.apis import add_runner_args

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'gpu_check.sh')
R50 = osp.join(ROOT, 'configs', 'dmw', 'retina_dmw_r50_mot17.py')
STEPS = ['env', 'build', 'install', 'pytest', 'train', 'track']


def dry_run(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ('TORCH_CUDA_ARCH_LIST', 'MAX_JOBS')}
    return subprocess.run(
        ['bash', SCRIPT, *args, '--dry-run', '--python', sys.executable],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**base, **env})


def commands(stdout: str) -> list:
    """The printed commands (``+ ...`` lines) as argument lists."""
    return [shlex.split(line[2:]) for line in stdout.splitlines()
            if line.startswith('+ ')]


def command_with(stdout: str, word: str) -> list:
    found = [cmd for cmd in commands(stdout) if word in cmd]
    assert len(found) == 1, (word, found)
    return found[0]


def test_bash_syntax():
    subprocess.run(['bash', '-n', SCRIPT], check=True)


def test_dry_run_prints_every_step_and_writes_nothing(tmp_path):
    out = tmp_path / 'out'
    proc = dry_run(str(out), '--capability', '9.0')
    assert proc.returncode == 0, proc.stderr
    assert not out.exists()
    headers = re.findall(r'^== (\d)/6 (\w+) \(limit (\d+)s', proc.stdout,
                         re.M)
    assert [name for _, name, _ in headers] == STEPS
    # the limits add up to a run that a 10-minute slot can hold when the
    # build is quick; each one alone is under 10 minutes
    assert all(int(limit) < 600 for _, _, limit in headers)
    assert 'GPU check: dry run, nothing ran' in proc.stdout
    assert re.search(r'^env +dry run', proc.stdout, re.M)


def test_build_is_for_this_gpu_only():
    proc = dry_run('--capability', '9.0')
    assert proc.returncode == 0, proc.stderr
    build = command_with(proc.stdout, 'mmcv==2.1.0')
    assert build[:5] == ['env', 'TORCH_CUDA_ARCH_LIST=9.0', 'MMCV_WITH_OPS=1',
                         'FORCE_CUDA=1',
                         f'MAX_JOBS={len(os.sched_getaffinity(0))}']
    assert build[5:9] == [sys.executable, '-m', 'pip', 'wheel']
    for flag in ('--no-build-isolation', '--no-cache-dir', '--no-deps'):
        assert flag in build
    # the wheel is kept beside the logs, then installed over any other mmcv
    wheel_dir = build[build.index('-w') + 1]
    assert wheel_dir == osp.join(ROOT, 'work_dirs', 'gpu_check', 'wheels')
    install = command_with(proc.stdout, f'{wheel_dir}/mmcv-2.1.0-*.whl')
    assert '--force-reinstall' in install and '--no-index' in install
    assert commands(proc.stdout).index(build) < commands(
        proc.stdout).index(install)
    # the build tools first, setuptools below 82 (pkg_resources, STACK.md)
    tools = command_with(proc.stdout, 'setuptools<82')
    assert commands(proc.stdout).index(tools) < commands(
        proc.stdout).index(build)
    assert 'TORCH_CUDA_ARCH_LIST=9.0  (--capability)' in proc.stdout


@pytest.mark.parametrize('given, arch', [('8.6;9.0', '8.6;9.0'),
                                         ('7.5,8.0', '7.5;8.0')])
def test_several_capabilities(given, arch):
    proc = dry_run('--capability', given, '--steps', 'build')
    assert proc.returncode == 0, proc.stderr
    build = command_with(proc.stdout, 'mmcv==2.1.0')
    assert f'TORCH_CUDA_ARCH_LIST={arch}' in build


def test_arch_list_from_the_environment_wins():
    proc = dry_run('--capability', '9.0', '--steps', 'build',
                   TORCH_CUDA_ARCH_LIST='8.0 8.6+PTX', MAX_JOBS='3')
    assert proc.returncode == 0, proc.stderr
    build = command_with(proc.stdout, 'mmcv==2.1.0')
    assert build[1] == 'TORCH_CUDA_ARCH_LIST=8.0 8.6+PTX'
    assert build[4] == 'MAX_JOBS=3'
    assert 'from the environment' in proc.stdout


@pytest.mark.parametrize('bad', ['sm_90', '9', '9.0.1', ''])
def test_bad_capability_is_refused(bad):
    proc = dry_run('--capability', bad)
    assert proc.returncode != 0
    assert 'capability' in proc.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is visible')
def test_no_gpu_is_reported_not_guessed():
    proc = dry_run('--steps', 'env,build')
    assert proc.returncode == 0, proc.stderr
    assert 'TORCH_CUDA_ARCH_LIST=<unknown: no CUDA GPU visible' in proc.stdout
    # a real run stops at the env step with that message
    assert 'is_available() is False' in proc.stdout


def test_steps_subset_and_unknown_step():
    proc = dry_run('--capability', '9.0', '--steps', 'pytest,train')
    assert proc.returncode == 0, proc.stderr
    assert re.findall(r'^== \d/6 (\w+)', proc.stdout, re.M) == [
        'pytest', 'train']
    assert re.search(r'^build +not selected', proc.stdout, re.M)
    pytest_cmd = command_with(proc.stdout, 'pytest')
    assert pytest_cmd[3:6] == ['-m', 'cuda', 'tests/test_cuda']
    bad = dry_run('--steps', 'pytest,lint')
    assert bad.returncode != 0 and "unknown step 'lint'" in bad.stderr


def test_wheelhouse_installs_offline(tmp_path):
    wheels = tmp_path / 'wheels'
    proc = dry_run('--capability', '9.0', '--wheelhouse', str(wheels))
    assert proc.returncode == 0, proc.stderr
    build = command_with(proc.stdout, 'mmcv==2.1.0')
    assert '--no-index' in build
    assert build[build.index('--find-links') + 1] == str(wheels)
    install = command_with(proc.stdout, f'{wheels}/*.whl')
    assert '--no-index' in install and '--no-deps' in install


def test_fetch_wheels_dry_run(tmp_path):
    proc = dry_run('--fetch-wheels', str(tmp_path / 'w'), '--python-version',
                   '3.12')
    assert proc.returncode == 0, proc.stderr
    wheels, sdist = [c for c in commands(proc.stdout) if 'download' in c]
    assert wheels[wheels.index('--python-version') + 1] == '3.12'
    assert 'mmdet==3.3.0' in wheels and 'mmengine==0.10.7' in wheels
    assert 'mmcv==2.1.0' in sdist and '--no-binary=:all:' in sdist
    # the sdist's metadata is read with setuptools < 82 (pkg_resources)
    assert sdist[:2] == ['env', next(a for a in sdist
                                     if a.startswith('PIP_CONSTRAINT='))]


def cfg_options(cmd: list) -> Config:
    """The R50 config with the ``--cfg-options`` of a printed command."""
    parser = argparse.ArgumentParser()
    add_runner_args(parser)
    args, _ = parser.parse_known_args(cmd[cmd.index('--cfg-options'):])
    cfg = Config.fromfile(R50)
    cfg.merge_from_dict(args.cfg_options)
    return cfg


def test_train_and_track_steps_build_one_iteration_and_16_frames(tmp_path):
    proc = dry_run(str(tmp_path / 'out'), '--capability', '9.0',
                   '--scratch', str(tmp_path / 'scratch'))
    assert proc.returncode == 0, proc.stderr
    train = command_with(proc.stdout, 'tools/train.py')
    test = command_with(proc.stdout, 'tools/test.py')
    assert train[2] == test[2] == 'configs/dmw/retina_dmw_r50_mot17.py'
    assert '--amp' in train
    assert test[3] == str(tmp_path / 'scratch' / 'train' / 'epoch_1.pth')
    # make the two synthetic sets exactly as printed
    for cmd in commands(proc.stdout):
        if 'tools/misc/make_synthetic_mot.py' in cmd:
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True,
                           timeout=300)
    train_cfg, test_cfg = cfg_options(train), cfg_options(test)
    for cfg in (train_cfg, test_cfg):
        assert cfg.model.backbone.init_cfg is None  # no download
    assert train_cfg.train_cfg.max_epochs == 1
    assert train_cfg.default_hooks.checkpoint.save_best is None
    assert test_cfg.model.tracker.init_score_thr == 0.0
    with DefaultScope.overwrite_default_scope('mmdet'):
        import mmdmw  # noqa: F401  registers MOTVideoDataset
        train_loader = Runner.build_dataloader(train_cfg.train_dataloader)
        test_loader = Runner.build_dataloader(test_cfg.test_dataloader)
    assert len(train_loader) == 1  # one --amp iteration
    assert len(test_loader) == 16  # one 16-frame video, a frame per step
    first = test_loader.dataset[0]['data_samples'].video_data_samples[0]
    assert '/test/SYN-02/img1/' in first.img_path


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is visible')
def test_real_run_without_a_gpu_stops_at_env_and_says_so(tmp_path):
    # the runner itself: each step timed and logged, a summary file, exit 1
    out = tmp_path / 'out'
    base = {k: v for k, v in os.environ.items()
            if k != 'TORCH_CUDA_ARCH_LIST'}
    proc = subprocess.run(
        ['bash', SCRIPT, str(out), '--python', sys.executable, '--steps',
         'env,pytest'], cwd=ROOT, capture_output=True, text=True,
        timeout=120, env=base)
    assert proc.returncode == 1
    summary = (out / 'summary.txt').read_text()
    assert re.search(r'^env +FAILED \(exit 1\) +\d+ +logs/1-env.log$',
                     summary, re.M)
    assert re.search(r'^pytest +skipped \(env did not pass\)', summary, re.M)
    assert re.search(r'^build +not selected', summary, re.M)
    assert re.search(r'^total \d+ s$', summary, re.M)
    assert (out / 'logs' / '1-env.log').read_text().count('AssertionError')
    assert not (out / 'logs' / '4-pytest.log').exists()
    assert 'GPU check: FAILED' in proc.stdout

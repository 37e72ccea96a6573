"""Every MMEngine checkpoint scheme loads through mmdmw's safe loader or is
refused (mmdmw.compat mend 1). What would reach the network or an object
store (torch.hub's download, pavi's model cloud, petrel's client, the name ->
URL tables that need torchvision) is stood in for by a function that serves
a local file; everything from ``CheckpointLoader`` down to ``torch.load`` is
the real code."""
import json
import os
import os.path as osp
import shutil
import sys
import types
from typing import Callable, Dict

import pytest
import torch
from mmengine.runner import checkpoint as checkpoint_module
from mmengine.runner.checkpoint import CheckpointLoader

from mmdmw.utils.safe_checkpoint import (UnsafeCheckpointError,
                                         check_torch_allowlists,
                                         load_url_safe, trust_checkpoint)

URL = 'https://download.example.org/weights/{}.pth'


def serve_downloads(monkeypatch, tmp_path, served: Dict[str, str]) -> None:
    """torch.hub downloads ``url`` as a copy of ``served[url]``, into a
    cache under ``tmp_path``."""

    def download(url: str, dst: str, *args, **kwargs) -> None:
        shutil.copy(served[url], dst)

    monkeypatch.setattr(torch.hub, 'download_url_to_file', download)
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))


def fake_module(monkeypatch, name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    vars(module).update(attrs)
    monkeypatch.setitem(sys.modules, name, module)
    return module


def serve_pavi(monkeypatch, src: str) -> None:
    """pavi's model cloud, holding ``src`` under any name."""

    class Model:
        name = 'model.pth'

        def download(self, dst: str) -> None:
            shutil.copy(src, dst)

    modelcloud = types.SimpleNamespace(get=lambda path: Model())
    fake_module(monkeypatch, 'pavi', modelcloud=modelcloud)


def serve_petrel(monkeypatch, src: str) -> None:
    """petrel_client, the network client under MMEngine's real
    ``PetrelBackend``: every object holds ``src``'s bytes."""

    class Client:

        def __init__(self, conf_path=None, enable_mc=True) -> None:
            pass

        def Get(self, filepath: str) -> bytes:
            with open(src, 'rb') as f:
                return f.read()

    client = fake_module(monkeypatch, 'petrel_client.client', Client=Client)
    fake_module(monkeypatch, 'petrel_client', client=client)


def openmmlab_home(monkeypatch, tmp_path, entry: str) -> None:
    """``$MMENGINE_HOME/open_mmlab.json`` naming model ``m`` as ``entry``
    (a URL, or a path under the home)."""
    home = tmp_path / 'mmengine_home'
    home.mkdir(exist_ok=True)
    (home / 'open_mmlab.json').write_text(json.dumps({'m': entry}))
    monkeypatch.setenv('MMENGINE_HOME', str(home))


def via_url(prefix: str, table: str) -> Callable:

    def serve(monkeypatch, tmp_path, src: str) -> str:
        url = URL.format(prefix.rstrip(':/'))
        serve_downloads(monkeypatch, tmp_path, {url: src})
        monkeypatch.setattr(checkpoint_module, table, lambda: {'m': url})
        return prefix + 'm'

    return serve


def via_http(scheme: str) -> Callable:

    def serve(monkeypatch, tmp_path, src: str) -> str:
        url = URL.format('w').replace('https://', scheme)
        serve_downloads(monkeypatch, tmp_path, {url: src})
        return url

    return serve


def via_openmmlab_url(monkeypatch, tmp_path, src: str) -> str:
    url = URL.format('openmmlab')
    serve_downloads(monkeypatch, tmp_path, {url: src})
    openmmlab_home(monkeypatch, tmp_path, url)
    return 'open-mmlab://m'


def via_openmmlab_home(prefix: str) -> Callable:

    def serve(monkeypatch, tmp_path, src: str) -> str:
        openmmlab_home(monkeypatch, tmp_path, 'weights/m.pth')
        dst = tmp_path / 'mmengine_home' / 'weights'
        dst.mkdir(exist_ok=True)
        shutil.copy(src, dst / 'm.pth')
        return prefix + 'm'

    return serve


def via_pavi(monkeypatch, tmp_path, src: str) -> str:
    serve_pavi(monkeypatch, src)
    return 'pavi://project/model.pth'


def via_petrel(name: str) -> Callable:

    def serve(monkeypatch, tmp_path, src: str) -> str:
        serve_petrel(monkeypatch, src)
        return name

    return serve


#: scheme -> how its name is served from a local file; returns the name.
SCHEMES = {
    'local': lambda monkeypatch, tmp_path, src: src,
    'http': via_http('http://'),
    'https': via_http('https://'),
    'torchvision': via_url('torchvision://', 'get_torchvision_models'),
    'modelzoo': via_url('modelzoo://', 'get_torchvision_models'),
    'mmcls': via_url('mmcls://', 'get_mmcls_models'),
    'open-mmlab (URL)': via_openmmlab_url,
    'open-mmlab (local)': via_openmmlab_home('open-mmlab://'),
    'openmmlab (local)': via_openmmlab_home('openmmlab://'),
    'pavi': via_pavi,
    's3': via_petrel('s3://bucket/work/epoch_1.pth'),
    'petrel': via_petrel('petrel://bucket/work/epoch_1.pth'),
    'open-mmlab:s3': via_petrel('open-mmlab:s3://bucket/epoch_1.pth'),
}


@pytest.mark.parametrize('scheme', SCHEMES)
def test_crafted_checkpoint_is_refused_through_every_scheme(
        scheme, crafted, monkeypatch, tmp_path):
    path, marker = crafted
    name = SCHEMES[scheme](monkeypatch, tmp_path, path)
    with pytest.raises(UnsafeCheckpointError) as err:
        CheckpointLoader.load_checkpoint(name, map_location='cpu')
    message = str(err.value)
    assert '\n' not in message and 'io.open' in message
    assert '--trust-checkpoint' in message
    assert not osp.exists(marker)


@pytest.mark.parametrize('scheme', SCHEMES)
def test_good_checkpoint_loads_through_every_scheme(
        scheme, good, monkeypatch, tmp_path):
    """The stand-ins really serve the file: the refusal above is the
    loader's, not a missing download."""
    name = SCHEMES[scheme](monkeypatch, tmp_path, good)
    loaded = CheckpointLoader.load_checkpoint(name, map_location='cpu')
    if scheme == 'mmcls':  # upstream keeps only backbone.* weights
        assert loaded == dict(state_dict={})
    else:
        assert loaded['state_dict']['w'].tolist() == [1.0, 1.0]
        assert loaded['message_hub']['loss'].mean() == 2.0


@pytest.mark.parametrize('scheme', ['open-mmlab (local)', 'pavi', 's3'])
def test_trusting_a_scheme_name_loads_that_name_in_full(
        scheme, crafted, monkeypatch, tmp_path):
    """``--trust-checkpoint`` on a ``scheme://`` name covers its download
    or copy, which has another path."""
    from mmdmw.utils import trust_checkpoint
    path, marker = crafted
    name = SCHEMES[scheme](monkeypatch, tmp_path, path)
    trust_checkpoint(name)
    loaded = CheckpointLoader.load_checkpoint(name, map_location='cpu')
    assert loaded['state_dict']['w'].tolist() == [1.0, 1.0]
    assert osp.exists(marker)


def test_pavi_without_pavi_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pavi', None)  # import fails
    with pytest.raises(ImportError, match=r'^pavi://p/m\.pth: pavi:// '
                       r'checkpoints .*give its local path$'):
        CheckpointLoader.load_checkpoint('pavi://p/m.pth')


def test_s3_without_petrel_client_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, 'petrel_client', None)
    with pytest.raises(ImportError, match=r'^s3://b/m\.pth: s3:// and '
                       r'petrel:// .*give its local path$'):
        CheckpointLoader.load_checkpoint('s3://b/m.pth')


def test_a_scheme_mmdmw_has_not_checked_is_refused(
        crafted, monkeypatch, tmp_path):
    """A loader registered by someone else (here one that unpickles in
    full, as MMEngine's own did) is not called."""
    path, marker = crafted
    monkeypatch.setattr(CheckpointLoader, '_schemes',
                        dict(CheckpointLoader._schemes))

    def load_from_elsewhere(filename, map_location=None):
        return torch.load(path, weights_only=False)

    CheckpointLoader.register_scheme('elsewhere://', load_from_elsewhere)
    with pytest.raises(UnsafeCheckpointError,
                       match=r'^elsewhere://m was not loaded: its scheme is '
                       r'read by .*load_from_elsewhere'):
        CheckpointLoader.load_checkpoint('elsewhere://m')
    assert not osp.exists(marker)


def test_torch_without_allowlists_is_refused_at_import():
    check_torch_allowlists()  # the installed one
    for version, serialization in (
            ('2.5.1', torch.serialization),
            ('2.13.0', types.SimpleNamespace(safe_globals=None))):
        with pytest.raises(ImportError,
                           match=r'^mmdmw needs torch >= 2\.6\.0 .*found '
                           f'torch {version}.*"torch>=2.6.0"$'):
            check_torch_allowlists(version, serialization)


def test_trusted_url_covers_only_the_file_downloaded_from_it(
        crafted, monkeypatch, tmp_path):
    """The download cache is keyed by file name: a booby-trapped file of
    the same name already in the cache (put there by hand, or fetched from
    another URL) must not be loaded in full because the user trusted a
    URL that ends in that name."""
    path, marker = crafted
    trusted_url = URL.format('crafted')
    serve_downloads(monkeypatch, tmp_path, {trusted_url: path})
    cache = tmp_path / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    shutil.copy(path, cache / 'crafted.pth')  # not from trusted_url
    trust_checkpoint(trusted_url)
    with pytest.raises(UnsafeCheckpointError, match='crafted.pth'):
        load_url_safe(trusted_url)
    assert not osp.exists(marker)


def test_trusted_url_loads_in_full_what_it_downloaded(crafted, monkeypatch,
                                                       tmp_path):
    path, marker = crafted
    url = URL.format('crafted')
    serve_downloads(monkeypatch, tmp_path, {url: path})
    trust_checkpoint(url)
    loaded = load_url_safe(url)  # downloads, records the URL, trusts it
    assert osp.exists(marker)
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    os.remove(marker)
    load_url_safe(url)  # from the cache, still the trusted URL's file
    assert osp.exists(marker)


def test_untrusted_url_download_is_refused(crafted, monkeypatch, tmp_path):
    path, marker = crafted
    url = URL.format('crafted')
    serve_downloads(monkeypatch, tmp_path, {url: path})
    with pytest.raises(UnsafeCheckpointError):
        load_url_safe(url)
    assert not osp.exists(marker)

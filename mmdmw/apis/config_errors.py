"""Turn MMEngine's build errors into messages that point into the config.

MMEngine says ``KeyError: 'ChainedRetinaHeed is not in the mmdet::model
registry...'`` or ``TypeError: AnchorHead.__init__() got an unexpected
keyword argument 'feat_chanels'`` from deep inside the build, without saying
where in the config the value is or what was meant. :func:`explain_build_error`
finds the config key (``model.head.type``) and suggests close spellings.
"""
import difflib
import inspect
import re
from typing import (Any, Callable, Iterator, List, Optional, Set, Tuple,
                    Union)

from mmengine.config import Config
from mmengine.registry import Registry

UNKNOWN_TYPE = re.compile(
    r"^'?(?P<type>\S+) is not in the (?P<scope>[\w.]+)::(?P<name>[\w ]+) "
    'registry')
UNEXPECTED_ARG = re.compile(
    r"(?P<cls>\w+)\.__init__\(\) got an unexpected keyword argument "
    r"'(?P<arg>\w+)'")
MISSING_ARGS = re.compile(
    r'(?P<cls>\w+)\.__init__\(\) missing \d+ required (?:positional |'
    r'keyword-only )?arguments?: (?P<args>.*)')
MAX_SUGGESTIONS = 3
SUGGESTION_CUTOFF = 0.6  # difflib similarity for "did you mean"
MAX_PATHS_SHOWN = 3

Path = str  # a config location such as "model.head" or "x.pipeline[0]"


def explain_build_error(cfg: Union[Config, dict],
                        err: BaseException) -> Optional[str]:
    """Explain an unknown type, an unknown argument or a missing argument.

    Args:
        cfg (Config | dict): The config the objects were built from.
        err (BaseException): What the build raised.

    Returns:
        str | None: A message naming the config key and what to do; None
        when ``err`` is not one of these three mistakes.
    """
    if isinstance(cfg, Config):
        cfg = cfg.to_dict()
    text = str(err.args[0]) if err.args else ''
    if isinstance(err, KeyError):
        match = UNKNOWN_TYPE.match(text)
        return _unknown_type(cfg, match) if match else None
    if isinstance(err, TypeError):
        match = UNEXPECTED_ARG.search(text)
        if match:
            return _unexpected_arg(cfg, match['arg'])
        match = MISSING_ARGS.search(text)
        if match:
            return _missing_args(cfg, match['cls'],
                                 re.findall(r"'(\w+)'", match['args']))
    return None


def _unknown_type(cfg: dict, match: re.Match) -> str:
    name = match['type']
    paths = [f'{p}.type' for p in find_dicts(cfg, lambda d: d['type'] == name)]
    known = registered_names(match['scope'], match['name'])
    return (f'{_where(paths)}: type {name!r} is not registered in '
            f'{match["scope"]}\'s {match["name"]} registry'
            f'{_did_you_mean(name, known)}. Fix the spelling, or add the '
            'module that registers it to custom_imports in the config.')


def _unexpected_arg(cfg: dict, arg: str) -> Optional[str]:
    found = find_dicts(cfg, lambda d: arg in d)
    if not found:
        return None
    path = found[0]
    obj_type = get_path(cfg, path)['type']
    params = init_params(obj_type)
    return (f'{_where([f"{p}.{arg}" for p in found])}: {obj_type} takes no '
            f'argument {arg!r}{_did_you_mean(arg, params)}. Rename or '
            'delete the key.')


def _missing_args(cfg: dict, cls_name: str, args: List[str]) -> str:
    paths = find_dicts(cfg, lambda d: _type_name(d['type']) == cls_name)
    missing = ', '.join(repr(a) for a in args)
    return (f'{_where(paths)} (type {cls_name}) lacks the required key(s) '
            f'{missing}; add them (the _base_ configs show an example).')


# ---------------------------------------------------------------- helpers
def find_dicts(cfg: Any, pred: Callable[[dict], bool],
               path: Path = '') -> List[Path]:
    """Config locations of the dicts with a ``type`` key that ``pred``
    accepts, in depth-first order."""
    return [p for p, d in _walk(cfg, path) if 'type' in d and pred(d)]


def _walk(node: Any, path: Path) -> Iterator[Tuple[Path, dict]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f'{path}[{i}]')


def get_path(cfg: Any, path: Path) -> Any:
    """The value at a location returned by :func:`find_dicts`."""
    node = cfg
    for key, index in re.findall(r'([^.\[\]]+)|\[(\d+)\]', path):
        node = node[int(index)] if index else node[key]
    return node


def _type_name(obj_type: Any) -> str:
    return obj_type if isinstance(obj_type, str) else getattr(
        obj_type, '__name__', str(obj_type))


def registered_names(scope: str, name: str) -> Set[str]:
    """Every name a registry of ``scope`` (and its parents) can build."""
    registry = _find_registry(scope, name)
    names: Set[str] = set()
    while registry is not None:
        names.update(registry.module_dict)
        registry = registry.parent
    return names


def _find_registry(scope: str, name: str) -> Optional[Registry]:
    import importlib
    try:
        module = importlib.import_module(f'{scope}.registry')
    except ImportError:
        return None
    for value in vars(module).values():
        if (isinstance(value, Registry) and value.name == name
                and value.scope == scope):
            value.import_from_location()
            return value
    return None


def init_params(obj_type: Any) -> Set[str]:
    """Constructor arguments of a registered type (its bases' too, as they
    take ``**kwargs`` on)."""
    cls = obj_type if inspect.isclass(obj_type) else _lookup(obj_type)
    params: Set[str] = set()
    for klass in getattr(cls, '__mro__', ()):
        if '__init__' in vars(klass):
            try:
                params.update(inspect.signature(klass.__init__).parameters)
            except (TypeError, ValueError):
                continue
    return params - {'self', 'args', 'kwargs'}


def _lookup(name: str) -> Any:
    from mmdet import registry as mmdet_registry
    for value in vars(mmdet_registry).values():
        if isinstance(value, Registry):
            found = value.get(name)
            if found is not None:
                return found
    return None


def _did_you_mean(word: str, choices: Set[str]) -> str:
    close = difflib.get_close_matches(
        word, sorted(choices), n=MAX_SUGGESTIONS, cutoff=SUGGESTION_CUTOFF)
    if not close:
        return ''
    names = [repr(c) for c in close]
    listed = ', '.join(names[:-1]) + ' or ' if len(names) > 1 else ''
    return f' (did you mean {listed}{names[-1]}?)'


def _where(paths: List[Path]) -> str:
    if not paths:
        return 'in the config'
    shown = ', '.join(paths[:MAX_PATHS_SHOWN])
    more = len(paths) - MAX_PATHS_SHOWN
    return f'config {shown}' + (f' (and {more} more)' if more > 0 else '')

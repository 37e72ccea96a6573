"""Turn MMEngine's build errors into messages that point into the config.

MMEngine says ``KeyError: 'ChainedRetinaHeed is not in the mmdet::model
registry...'`` or ``TypeError: AnchorHead.__init__() got an unexpected
keyword argument 'feat_chanels'`` from deep inside the build, without saying
where in the config the value is or what was meant. :func:`explain_build_error`
finds the config key (``model.head.type``) and suggests close spellings.
A bad value that a model part's constructor rejects (e.g. an unknown
``DMWLoss`` mode) is reported the same way, naming the config key of that
part (:func:`explain_constructor_error`).
"""
import difflib
import inspect
import os.path as osp
import re
import traceback
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
        when ``err`` is not one of these three mistakes nor a value a
        constructor rejected (:func:`explain_constructor_error`).
    """
    if isinstance(cfg, Config):
        cfg = cfg.to_dict()
    text = str(err.args[0]) if err.args else ''
    if isinstance(err, KeyError):
        match = UNKNOWN_TYPE.match(text)
        if match:
            return _unknown_type(cfg, match)
    if isinstance(err, TypeError):
        match = UNEXPECTED_ARG.search(text)
        if match:
            return _unexpected_arg(cfg, match['arg'])
        match = MISSING_ARGS.search(text)
        if match:
            return _missing_args(cfg, match['cls'],
                                 re.findall(r"'(\w+)'", match['args']))
    return explain_constructor_error(cfg, err)


#: Errors a constructor raises for a bad value. Others (AttributeError,
#: RuntimeError, ...) point at a bug, not at the config, and keep their
#: traceback.
BAD_VALUE_ERRORS = (ValueError, TypeError, KeyError, AssertionError,
                    NotImplementedError)
#: Registries whose builds are explained: the model and its parts (losses,
#: layers, trackers, ...).
EXPLAINED_REGISTRIES = ('model', )


def explain_constructor_error(cfg: Union[Config, dict],
                              err: BaseException) -> Optional[str]:
    """Explain a bad value that a model part's constructor rejected.

    The part is the innermost object MMEngine's ``build_from_cfg`` was
    building when ``err`` was raised (read from the traceback); its config
    key is found by its type and arguments.

    Args:
        cfg (Config | dict): The config the objects were built from.
        err (BaseException): What the build raised.

    Returns:
        str | None: ``config KEY (type T) cannot be built: MESSAGE. Fix
        ...``; None when ``err`` was not raised by a constructor of the
        model registry or is not one of :data:`BAD_VALUE_ERRORS`.
    """
    if not isinstance(err, BAD_VALUE_ERRORS):
        return None
    built = _innermost_build(err)
    if built is None:
        return None
    obj_type, args = built
    if isinstance(cfg, Config):
        cfg = cfg.to_dict()
    name = _type_name(obj_type)
    paths = find_dicts(cfg, lambda d: _type_name(d['type']) == name)
    exact = [p for p in paths if _same_args(get_path(cfg, p), args)]
    return (f'{_where(exact or paths)} (type {name}) cannot be built: '
            f'{_one_line(err)}. Fix that value in the config.')


def _innermost_build(err: BaseException) -> Optional[Tuple[Any, dict]]:
    """``(type, args)`` of the innermost ``build_from_cfg`` call of the
    model registry that ``err`` passed through while leaving a constructor
    (not raised by ``build_from_cfg`` itself)."""
    found = None
    tb = err.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        local = frame.f_locals
        if (frame.f_code.co_name == 'build_from_cfg'
                and osp.basename(frame.f_code.co_filename)
                == 'build_functions.py' and 'obj_cls' in local
                and tb.tb_next is not None):
            registry = local.get('registry')
            if getattr(registry, 'name', None) in EXPLAINED_REGISTRIES:
                found = (local.get('obj_type', local['obj_cls']),
                         dict(local.get('args') or {}))
        tb = tb.tb_next
    return found


def _same_args(node: dict, args: dict) -> bool:
    """Whether a config dict holds the arguments an object was built with."""
    try:
        return all(
            key == 'type' or (key in args and bool(args[key] == value))
            for key, value in node.items())
    except (TypeError, ValueError, RuntimeError):  # e.g. arrays compared
        return False


def _one_line(err: BaseException) -> str:
    """The error's message on one line; for a bare ``assert``, its source."""
    text = str(err.args[0]) if err.args else ''
    if not text:
        last = traceback.extract_tb(err.__traceback__)[-1]
        text = (f'{type(err).__name__} at {osp.basename(last.filename)}:'
                f'{last.lineno}: {last.line}')
    return ' '.join(text.split()).rstrip('.')


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

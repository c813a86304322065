"""Loading a pipeline file: run it as a module and find the :class:`Pipeline` it declares."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path

from threadline.errors import ConfigError, PipelineError, ThreadlineError
from threadline.pipeline.declare import Pipeline


def load_pipeline(path: str | Path, name: str | None = None) -> Pipeline:
    """The pipeline declared in the Python file ``path`` (the one named ``name`` when it has several).

    A missing file, a file that fails to import, or one without a pipeline is a :class:`PipelineError`
    saying which; a mistake in the configuration is the :class:`ConfigError` that names the key.
    """
    file = Path(path)
    if not file.is_file():
        msg = f"no pipeline file {file}: give the path of a .py file that declares a Pipeline"
        raise PipelineError(msg)
    if file.suffix != ".py":
        msg = f"{file} is not a Python file: a pipeline is declared in a .py file"
        raise PipelineError(msg)
    module_name = f"threadline_pipeline_{abs(hash(file.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        msg = f"cannot load {file} as a Python module"
        raise PipelineError(msg)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except (ConfigError, PipelineError) as exc:
        raise type(exc)(f"{file}: {exc.message}") from exc
    except ThreadlineError:
        raise
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        line = next(
            (f.lineno for f in reversed(frames) if Path(f.filename).resolve() == file.resolve()), None
        )
        where = f"{file}:{line}" if line else str(file)
        msg = f"{where}: the pipeline file failed: {exc.__class__.__name__}: {exc}"
        raise PipelineError(msg) from exc
    finally:
        sys.modules.pop(module_name, None)
    found = {value.name: value for value in vars(module).values() if isinstance(value, Pipeline)}
    if not found:
        msg = f"{file} declares no pipeline: make one with threadline.pipeline.Pipeline(...) at its top level"
        raise PipelineError(msg)
    if name is None:
        if len(found) > 1:
            msg = (
                f"{file} declares several pipelines ({', '.join(sorted(found))}): choose one with --pipeline"
            )
            raise PipelineError(msg)
        pipeline = next(iter(found.values()))
    elif name in found:
        pipeline = found[name]
    else:
        msg = f"{file} has no pipeline {name!r}; it declares {', '.join(sorted(found))}"
        raise PipelineError(msg)
    pipeline.base = file.resolve().parent
    return pipeline

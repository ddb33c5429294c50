"""Thin bridge between the FiftyOne App and the brain-ts Node runtime.

Python does only what only Python can: turn the App's target view into a MongoDB
aggregation pipeline, take part in FiftyOne's delegated-operation queue, and relay
progress and errors. Every algorithm runs in the Node runtime (``lib/src``).
"""

from datetime import datetime, timezone
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

from bson import json_util

import fiftyone as fo
import fiftyone.constants as foc
from fiftyone import ViewField as F
import fiftyone.core.odm.database as food
import fiftyone.core.view as fov
import fiftyone.operators as foo
import fiftyone.server.view as fosv

PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))
SERVICE_MAIN = os.path.join(PLUGIN_DIR, "lib", "src", "service", "main.js")
TARGETS = ("DATASET", "CURRENT_VIEW", "SELECTED_SAMPLES", "VIEW_WITHOUT_SELECTION")


class BrainRuntimeError(Exception):
    """An error reported by the Node runtime, with its code."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _build_id():
    # A rebuilt runtime gets a new socket, so a stale warm runtime is never reused.
    try:
        st = os.stat(SERVICE_MAIN)
    except FileNotFoundError:
        raise BrainRuntimeError(
            "INTERNAL",
            "The brain-ts runtime is not built: run `npm run build` in %s"
            % PLUGIN_DIR,
        )
    return hashlib.sha1(
        ("%s:%s" % (st.st_mtime_ns, PLUGIN_DIR)).encode()
    ).hexdigest()[:12]


def _socket_path():
    explicit = os.environ.get("BRAIN_TS_SOCKET")
    if explicit:
        return explicit
    folder = os.path.join(
        tempfile.gettempdir(), "brain-ts-%d" % os.getuid()
    )
    return os.path.join(folder, "runtime-%s.sock" % _build_id())


def _connect(path, timeout):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    sock.settimeout(None)
    return sock


def _runtime_socket():
    """Connects to the warm runtime, starting it if it is not running."""
    path = _socket_path()
    try:
        return _connect(path, 2)
    except OSError:
        pass

    node = os.environ.get("BRAIN_TS_NODE") or shutil.which("node")
    if not node:
        raise BrainRuntimeError("INTERNAL", "Node.js was not found on PATH")

    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    log_path = path[: -len(".sock")] + ".log"
    with open(log_path, "ab") as log:
        subprocess.Popen(
            [
                node,
                SERVICE_MAIN,
                "--socket",
                path,
                "--idle-timeout",
                os.environ.get("BRAIN_TS_IDLE_TIMEOUT", "1800"),
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=PLUGIN_DIR,
        )

    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            return _connect(path, 2)
        except OSError:
            time.sleep(0.1)

    raise BrainRuntimeError(
        "INTERNAL", "The brain-ts runtime did not start; see %s" % log_path
    )


def _database_location():
    if fo.config.database_uri:
        uri = fo.config.database_uri
    else:
        host, port = food.get_db_client().address
        uri = "mongodb://%s:%d/" % (host, port)

    return {"uri": uri, "name": fo.config.database_name}


def _target_view(ctx, target):
    if target == "DATASET":
        return ctx.dataset
    if target == "SELECTED_SAMPLES":
        if not ctx.selected:
            raise ValueError("No samples are selected")
        return ctx.view.select(ctx.selected)
    if target == "VIEW_WITHOUT_SELECTION":
        # The current view and sidebar filters without the grid's extended selection, which
        # a panel that sets that selection (the Embeddings lasso) must not narrow itself by
        if ctx.request_params.get("view_name", None) is not None:
            return ctx.dataset.load_saved_view(ctx.request_params["view_name"])
        return fosv.get_view(
            ctx.dataset,
            stages=ctx.request_params.get("view", None),
            filters=ctx.request_params.get("filters", None),
        )
    return ctx.view


def _describe_target(view):
    if isinstance(view, fov.DatasetView):
        view_stages = [
            json_util.dumps(s) for s in view._serialize(include_uuids=False)
        ]
    else:
        view_stages = None

    return {
        "pipeline": json_util.dumps(view._pipeline()),
        "view_stages": view_stages,
        # A patches view's pipeline runs on its own collection of patches
        "collection": view._dataset._sample_collection_name,
        "is_patches": bool(getattr(view, "_is_patches", False)),
    }


def _saved_view_pipelines(dataset, names):
    if not isinstance(names, (list, tuple)):
        raise ValueError("'split_views' must list saved view names")
    known = set(dataset.list_saved_views())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(
            "Dataset '%s' has no saved view %s"
            % (dataset.name, ", ".join("'%s'" % n for n in unknown))
        )
    return {
        n: json_util.dumps(dataset.load_saved_view(n)._pipeline()) for n in names
    }


def _brain_secrets(ctx):
    """The plugin's ``FIFTYONE_BRAIN_*`` secrets (fiftyone.yml), as brain config values.

    They reach the runtime inside the request, so backend credentials need not be in
    the runtime's environment; the runtime masks them in what it logs or reports.
    """
    secrets = getattr(ctx, "secrets", None) or {}
    values = {}
    for key in secrets:
        value = secrets[key]
        if key.startswith("FIFTYONE_BRAIN_") and isinstance(value, str) and value:
            values[key] = value
    return values


def run_job(request, on_progress=None):
    """Sends one job to the runtime and returns its result.

    Raises:
        BrainRuntimeError: the runtime reported an error, or went away mid-run
    """
    sock = _runtime_socket()
    try:
        sock.sendall((json.dumps(request) + "\n").encode("utf-8"))
        reader = sock.makefile("r", encoding="utf-8")
        for line in reader:
            message = json.loads(line)
            kind = message.get("type")
            if kind == "progress":
                if on_progress is not None:
                    on_progress(message.get("progress"), message.get("label"))
            elif kind == "result":
                return message.get("result")
            elif kind == "error":
                error = message.get("error") or {}
                raise BrainRuntimeError(
                    error.get("code", "INTERNAL"),
                    error.get("message", "Unknown error"),
                )
    finally:
        sock.close()

    raise BrainRuntimeError(
        "INTERNAL",
        "The brain-ts runtime stopped before finishing; nothing was recorded",
    )


def add_similar_samples(dataset, params, on_progress=None, config_env=None):
    """Adds to ``dataset`` the samples of another dataset most similar to its selected
    samples (``params["query_ids"]``) or to a text prompt (``params["query"]``).

    The runtime checks the request and queries the source's similarity index
    (``find_similar_samples``); the copies are then made here with FiftyOne's own
    ``add_samples``: copied samples carry any label and embedded-document fields, and
    FiftyOne alone merges their schema into this dataset's and gives them their ids
    exactly as it does for its own copies. Should the insert fail, the copies made and
    the fields it declared are removed again.

    Returns:
        a dict with ``added_ids``, ``num_added``, ``num_skipped``, ``num_found``,
        ``search`` and ``query``
    """
    request = {
        "method": "find_similar_samples",
        "params": params,
        "database": _database_location(),
        "dataset": dataset.name,
        "target": _describe_target(dataset),
        "fiftyone_version": foc.VERSION,
        "config_env": config_env or {},
    }
    found = run_job(request, on_progress=on_progress)
    ids = found["ids"]
    added_ids = []
    if ids:
        src = fo.load_dataset(found["src_dataset"])
        query_field = found.get("query_field")
        query_time_field = found.get("query_time_field")
        now = datetime.now(timezone.utc).replace(tzinfo=None)

        def copies():
            # One batch of FiftyOne's at a time: the results are not all held in memory
            for sample in src.select(ids, ordered=True):
                copy = sample.copy()
                if query_field:
                    copy[query_field] = found["query"]
                if query_time_field:
                    copy[query_time_field] = now
                yield copy

        fields_before = set(dataset.get_field_schema(flat=True).keys())
        try:
            added_ids = dataset.add_samples(copies(), num_samples=len(ids))
        except Exception:
            # The runtime left out every filepath this dataset had: any sample with one of
            # these filepaths now is a copy made by this call
            dataset.delete_samples(
                dataset.match(F("filepath").is_in(found["filepaths"]))
            )
            declared = set(dataset.get_field_schema(flat=True).keys()) - fields_before
            for path in sorted(declared):
                # A new field's own attributes go with it
                if not any(path.startswith(p + ".") for p in declared):
                    dataset.delete_sample_field(path)
            raise

    return {
        "added_ids": [str(_id) for _id in added_ids],
        "num_added": len(added_ids),
        "num_skipped": found["num_skipped"],
        "num_found": found["num_found"],
        "search": found["search"],
        "query": found["query"],
        "src_dataset": found["src_dataset"],
    }


class RunMethod(foo.Operator):
    """Runs one method of the Node runtime on a target view.

    Params: ``method`` (runtime method name), ``params`` (its parameters),
    ``target`` (DATASET, CURRENT_VIEW or SELECTED_SAMPLES) and ``delegate``
    (queue the run for ``fiftyone delegated launch`` instead of running now).
    """

    @property
    def config(self):
        return foo.OperatorConfig(
            name="run_method",
            label="brain-ts: run method",
            unlisted=True,
            allow_immediate_execution=True,
            allow_delegated_execution=True,
        )

    def resolve_delegation(self, ctx):
        return bool(ctx.params.get("delegate", False))

    def execute(self, ctx):
        method = ctx.params.get("method")
        if not isinstance(method, str) or not method:
            raise ValueError("A method name is required")

        target = ctx.params.get("target") or "DATASET"
        if target not in TARGETS:
            raise ValueError(
                "Unknown target '%s'; use one of %s" % (target, ", ".join(TARGETS))
            )

        params = dict(ctx.params.get("params") or {})
        if params.get("split_views"):
            # Only FiftyOne compiles view stages: saved-view splits travel as pipelines.
            params["split_view_pipelines"] = _saved_view_pipelines(
                ctx.dataset, params["split_views"]
            )

        request = {
            "method": method,
            "params": params,
            "database": _database_location(),
            "dataset": ctx.dataset.name,
            "target": _describe_target(_target_view(ctx, target)),
            "fiftyone_version": foc.VERSION,
            "config_env": _brain_secrets(ctx),
        }

        def on_progress(progress, label):
            ctx.set_progress(progress=progress, label=label)

        try:
            result = run_job(request, on_progress=on_progress)
        except BrainRuntimeError as e:
            raise ValueError("[%s] %s" % (e.code, e)) from None

        ctx.dataset.reload()
        return {"method": method, "result": result}


class CopySimilarSamples(foo.Operator):
    """The copy step of the App's "add similar samples" form (see
    ``add_similar_samples``). Params: ``params`` (``src_dataset``, ``brain_key``,
    ``k``, ``query`` or ``query_ids``, ``query_field``, ``query_time_field``).
    """

    @property
    def config(self):
        return foo.OperatorConfig(
            name="copy_similar_samples",
            label="brain-ts: copy similar samples",
            unlisted=True,
            allow_immediate_execution=True,
            allow_delegated_execution=False,
        )

    def execute(self, ctx):
        params = dict(ctx.params.get("params") or {})

        def on_progress(progress, label):
            ctx.set_progress(progress=progress, label=label)

        try:
            result = add_similar_samples(
                ctx.dataset,
                params,
                on_progress=on_progress,
                config_env=_brain_secrets(ctx),
            )
        except BrainRuntimeError as e:
            raise ValueError("[%s] %s" % (e.code, e)) from None

        ctx.dataset.reload()
        return {"method": "copy_similar_samples", "result": result}


def register(p):
    p.register(RunMethod)
    p.register(CopySimilarSamples)

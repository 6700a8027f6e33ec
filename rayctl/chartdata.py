"""What the Helm chart (charts/rayservice) needs from the Python side, generated so it never drifts (`make goldens`).

Helm applies no schema defaults and cannot default list items, so the chart's templates fill a values tree from a
description of the pydantic models: `files/defaults.json` holds every model's fields (value kind, default, Ray's
snake_case name), the application-type union and its registry facts (import path, deployments, endpoint, sample
request), and the constants rayctl's renderer uses (ports, head start params, env switch names, image templates).
The same walk writes `values.yaml` (every default, helm-docs `# --` comments), the chart README's values table and
`values.schema.json` (`rayctl schema`, plus `global` for use as a subchart).
"""

from __future__ import annotations

import functools
import hashlib
import json
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from rayctl.apps import ab as ab_app
from rayctl.apps import app_types
from rayctl.apps import base as app_base
from rayctl.apps import llm as llm_app
from rayctl.apps import vllm as vllm_app
from rayctl.apps.llm import GPU_ONLY_ENGINE_KWARGS
from rayctl.monitoring import container_metrics_ports, pod_selector_labels
from rayctl.profiles import ACCELERATOR_KEY_PATTERN
from rayctl.render.context import HEAD_DEFAULT_START_PARAMS, HEAD_PORTS, SPEC_HASH_LABEL
from rayctl.secrets import chart_rules as secret_rules
from rayctl.spec import base as spec_base
from rayctl.spec import model as spec_model
from rayctl.spec.cluster import DRAIN_ENV, DRAIN_GRACE_MARGIN_SECONDS, RaySettings
from rayctl.spec.docs import spec_models
from rayctl.spec.inline_secrets import chart_messages as secret_messages
from rayctl.spec.model import MAX_NAME_LENGTH, DeploymentSpec
from rayctl.spec.profile import TINY_MODEL_PATH
from rayctl.spec.schema import spec_json_schema
from rayctl.spec.serve import HIGH_THROUGHPUT_ENV, RAY_PORTS

ROOT_MODEL = DeploymentSpec
APPS_UNION = "apps"


def _validator_funcs(metadata: list[Any]) -> set[Any]:
    return {getattr(m, "func", None) for m in metadata}


def _kind_of_str(metadata: list[Any]) -> str:
    funcs = _validator_funcs(metadata)
    if spec_base._check_quantity in funcs:
        return "qty"
    if spec_base._check_dns_label in funcs:
        return "dns"
    return "str"


def _is_string_map(metadata: list[Any]) -> bool:
    marker = typing.get_args(spec_base.StringMap)[-1]  # its WithJsonSchema
    return any(m is marker for m in metadata)


def type_node(annotation: Any, metadata: list[Any] | None = None) -> dict[str, Any]:
    """The chart's description of one value type: {"k": kind, "n": nullable, "of": item type, "m": model}.

    Kinds: str (whitespace stripped, as pydantic's str_strip_whitespace), qty (Kubernetes quantity: numbers become
    strings), dns (a DNS-1123 label), smap (map of strings: numbers become strings), model, list, dict, union (the
    application types), and val (taken as it is: numbers, booleans, enums, free-form maps)."""
    meta = list(metadata or [])
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        inner, *extra = args
        if any(isinstance(m, FieldInfo) and m.discriminator for m in extra):
            return {"k": "union", "u": APPS_UNION}
        return type_node(inner, [*meta, *extra])
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            return {**type_node(members[0], meta), "n": True}
        return {"k": "val", "n": type(None) in args}  # int | "auto": a scalar the schema checks
    if origin is list:
        return {"k": "list", "of": type_node(args[0])}
    if origin is dict:
        if _is_string_map(meta):
            return {"k": "smap"}
        item = type_node(args[1])
        return {"k": "dict", "of": item} if item["k"] != "val" else {"k": "val"}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"k": "model", "m": annotation.__name__}
    if annotation is str:
        return {"k": _kind_of_str(meta)}
    return {"k": "val"}


def _default(field: FieldInfo) -> tuple[bool, Any]:
    """(has a default, its JSON value); a model factory's default is {} (the chart fills it like user input)."""
    if field.default is not PydanticUndefined:
        return True, field.default
    if field.default_factory is not None:
        made = field.default_factory()  # type: ignore[call-arg]
        if isinstance(made, BaseModel):
            return True, {}
        return True, made
    return False, None


def _models() -> list[type[BaseModel]]:
    return spec_models(ROOT_MODEL)


def model_tree() -> dict[str, Any]:
    """Model name -> {"fields": [{"key", "py", "t", "d"?, "req"?}, ...]} in declaration order."""
    tree: dict[str, Any] = {}
    for model in _models():
        fields = []
        for py_name, field in model.model_fields.items():
            entry: dict[str, Any] = {"key": field.alias or py_name, "py": py_name,
                                     "t": type_node(field.annotation, list(field.metadata))}
            has_default, default = _default(field)
            if has_default:
                entry["d"] = default
            else:
                entry["req"] = True
            fields.append(entry)
        tree[model.__name__] = {"fields": fields}
    return tree


def _sample(cls: Any) -> dict[str, Any]:
    request = cls.sample_request({})
    return {"method": cls.ENDPOINT.method, "path": cls.ENDPOINT.path, "body": request.body,
            "headers": dict(request.headers)}


def app_registry() -> dict[str, Any]:
    """Type name -> the registry facts the chart reads (the per-type templates hold the logic)."""
    return {
        name: {
            "model": cls.__name__,
            "importPath": cls.IMPORT_PATH,
            "deployments": list(cls.DEPLOYMENTS),
            "sample": _sample(cls),
        }
        for name, cls in app_types().items()
    }


def _image_template(method: str) -> str:
    settings = RaySettings.model_construct(version="%s", image=None, gpu_image=None)
    return str(getattr(settings, method)())


def constants() -> dict[str, Any]:
    return {
        "maxNameLength": MAX_NAME_LENGTH,
        "specHashLabel": SPEC_HASH_LABEL,
        "headStartParams": HEAD_DEFAULT_START_PARAMS,
        "headPorts": [{"containerPort": port, "name": name} for name, port in HEAD_PORTS],
        # rayctl.monitoring: the metrics ports each Ray container declares (plain / Serve's HAProxy mode), and the
        # labels the PodMonitor and scrape config select pods by (the name label's value is the RayService name)
        "metricsPorts": {
            f"{node}{'HighThroughput' if fast else ''}": container_metrics_ports(node, fast)
            for node in ("head", "worker") for fast in (False, True)
        },
        "podSelectorLabels": pod_selector_labels("%s"),
        "rayPorts": {str(port): what for port, what in RAY_PORTS.items()},  # serve.httpPort cannot be one of these
        "highThroughputEnv": HIGH_THROUGHPUT_ENV,
        "drain": {"env": DRAIN_ENV, "graceMarginSeconds": DRAIN_GRACE_MARGIN_SECONDS},  # workerGroups[].drainSeconds
        "tinyModelPath": TINY_MODEL_PATH,
        "cpuImage": _image_template("cpu_image"),
        "gpuImage": _image_template("accelerator_image"),
        "gpuOnlyEngineKwargs": sorted(GPU_ONLY_ENGINE_KWARGS),
        "acceleratorKeyPattern": ACCELERATOR_KEY_PATTERN,
        "abVariantDeployment": ab_app.variant_deployment("%s"),
        "defaultHfTokenEnv": {"llm": llm_app.DEFAULT_HF_TOKEN_ENV, "vllm": vllm_app.DEFAULT_HF_TOKEN_ENV},
        "secrets": secret_rules(),  # rayctl.secrets: names and values that must not be written in plain text
        "secretMessages": secret_messages(),
        "patterns": {  # Python's own regexes (RE2 accepts them as written), for the checks the schema cannot make
            "dns1035": spec_model._DNS_1035.pattern,
            "dns1123": spec_base._DNS_1123_LABEL.pattern,
            "quantity": spec_base.QUANTITY_JSON_SCHEMA["anyOf"][0]["pattern"],
            "route": app_base._ROUTE.pattern,
        },
    }


def defaults_document() -> dict[str, Any]:
    return {
        "root": ROOT_MODEL.__name__,
        "models": model_tree(),
        "unions": {APPS_UNION: {"by": "type", "types": {n: c.__name__ for n, c in app_types().items()}}},
        "apps": app_registry(),
        "constants": constants(),
    }


def defaults_json() -> str:
    """files/defaults.json (compact keys, one model per line would not help: it is read by `fromJson`)."""
    return json.dumps(defaults_document(), indent=1, sort_keys=True) + "\n"


def _discriminated(node: Any) -> Any:
    """A pydantic `oneOf` + `discriminator` as if/then on the discriminator: the same values pass, but Helm reports
    the one application type's problem ("missing property 'model'") instead of why each of the seven types failed."""
    if isinstance(node, list):
        return [_discriminated(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "discriminator" in node and "oneOf" in node:
        key = node["discriminator"]["propertyName"]
        mapping = node["discriminator"]["mapping"]
        return {"type": "object", "required": [key], "properties": {key: {"enum": list(mapping)}},
                "allOf": [{"if": {"properties": {key: {"const": name}}}, "then": {"$ref": ref}}
                          for name, ref in mapping.items()]}
    return {k: _discriminated(v) for k, v in node.items()}


def values_schema() -> str:
    """values.schema.json: `rayctl schema` plus `global`, which Helm injects when the chart is a subchart, with the
    application union as if/then (clearer errors, same values)."""
    schema = _discriminated(spec_json_schema())
    schema["properties"] = {**schema["properties"], "global": {
        "type": "object", "description": "Helm's global values (only present when this chart is a subchart)."}}
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


# ---- values.yaml and the README table: one walk over the models


def _model_class(name: str) -> type[BaseModel]:
    return next(m for m in _models() if m.__name__ == name)


def _type_label(node: dict[str, Any]) -> str:
    kind = node["k"]
    label = {"str": "string", "qty": "quantity", "dns": "string", "smap": "object", "model": "object",
             "list": "list", "dict": "object", "union": "object", "val": "value"}[kind]
    return label


def _scalar_label(field: FieldInfo) -> str:
    annotation = field.annotation
    names = []
    for arg in typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
            else (annotation,):
        if arg is type(None):
            continue
        if typing.get_origin(arg) in (dict, list):
            names.append("object" if typing.get_origin(arg) is dict else "list")
        elif typing.get_origin(arg) is typing.Literal:
            names.append("string")
        else:
            names.append({int: "int", float: "float", bool: "bool", str: "string"}.get(arg, "value"))
    return " or ".join(dict.fromkeys(names)) or "value"


def _rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str, str]]:
    """(key, type, default, description) for every field, list items as `key[]`, application types by type."""
    rows: list[tuple[str, str, str, str]] = []
    for py_name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or py_name}"
        node = type_node(field.annotation, list(field.metadata))
        has_default, default = _default(field)
        kind = node["k"]
        label = _scalar_label(field) if kind == "val" else _type_label(node)
        shown = "required" if not has_default else json.dumps(default)
        if kind == "model":
            rows.append((key, "object", shown if default is None else "{}", field.description or ""))
            rows += _rows(_model_class(node["m"]), key + ".")
        elif kind == "list" and node["of"]["k"] in ("model", "union"):
            rows.append((key, "list", shown, field.description or ""))
            rows += _item_rows(node["of"], key + "[].")
        elif kind == "dict" and node["of"]["k"] == "model":
            rows.append((key, "object", shown, field.description or ""))
            rows += _rows(_model_class(node["of"]["m"]), key + ".&lt;name&gt;.")
        else:
            rows.append((key, label, shown, field.description or ""))
    return rows


def _item_rows(node: dict[str, Any], prefix: str) -> list[tuple[str, str, str, str]]:
    """Rows of a list item: a model's fields, or for the application union the fields every type shares, then each
    type's own fields as `applications[](type=llm).model`."""
    if node["k"] == "model":
        return _rows(_model_class(node["m"]), prefix)
    types_ = app_types()
    shared = set.intersection(*(set(cls.model_fields) for cls in types_.values()))
    first = next(iter(types_.values()))
    rows = [(f"{prefix}type", "string", "required",
             "Application type: " + ", ".join(f"`{t}`" for t in types_) + ".")]
    rows += [r for r in _rows(first, prefix) if _py_of(first, r[0].removeprefix(prefix)) in shared - {"type"}]
    for type_name, cls in types_.items():
        own = f"{prefix[:-1]}(type={type_name})."
        rows += [(r[0].replace(prefix, own, 1), *r[1:]) for r in _rows(cls, prefix)
                 if _py_of(cls, r[0].removeprefix(prefix)) not in shared]
    return rows


def _py_of(cls: type[BaseModel], key: str) -> str:
    """The Python field name of the first segment of a camelCase key path."""
    head = key.split(".")[0].split("[")[0]
    return next((n for n, f in cls.model_fields.items() if (f.alias or n) == head), head)


def values_table() -> str:
    lines = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for key, label, default, description in _rows(ROOT_MODEL, ""):
        text = " ".join(description.split()).replace("|", "\\|")
        lines.append(f"| `{key}` | {label} | `{default}` | {text} |".replace("`required`", "**required**"))
    return "\n".join(lines) + "\n"


def _yaml_scalar(value: Any) -> str:
    return json.dumps(value)  # JSON scalars are YAML, quoted where YAML 1.1 could misread them


def _yaml_lines(model: type[BaseModel], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for py_name, field in model.model_fields.items():
        key = field.alias or py_name
        node = type_node(field.annotation, list(field.metadata))
        has_default, default = _default(field)
        description = " ".join((field.description or "").split())
        if not has_default and node["k"] != "model":
            lines.append(f"{pad}# -- (required) {description}")
            lines.append(f"{pad}# {key}:")
            continue
        if node["k"] == "model" and (default == {} or not has_default):
            lines.append(f"{pad}# -- {description}")
            lines.append(f"{pad}{key}:")
            lines += _yaml_lines(_model_class(node["m"]), indent + 2)
            continue
        lines.append(f"{pad}# -- {description}")
        if default is None:
            lines.append(f"{pad}{key}: null")
        elif isinstance(default, dict | list):
            lines.append(f"{pad}{key}: {json.dumps(default)}")
        else:
            lines.append(f"{pad}{key}: {_yaml_scalar(default)}")
    return lines


VALUES_HEADER = """\
# Values of the rayservice chart: a rayctl spec (docs/spec.md). Any rayctl spec file is a values file:
#   helm install llm charts/rayservice -f my-spec.yaml
# and renders exactly what `rayctl render my-spec.yaml` renders. Generated by `make goldens` from the spec models
# (rayctl/spec, rayctl/apps); do not edit. `name` and `serve.applications` are required and have no default.
"""


def values_yaml() -> str:
    return VALUES_HEADER + "\n".join(_yaml_lines(ROOT_MODEL, 0)) + "\n"


TABLE_BEGIN = "<!-- values table: generated by `make goldens` (rayctl/chartdata.py) from the spec models -->"
TABLE_END = "<!-- end of the generated values table -->"


def chart_readme(current: str) -> str:
    """charts/rayservice/README.md: its hand-written text (`current`) with the values table between the markers
    replaced by the one the spec models give (appended under `## Values` when the markers are missing)."""
    table = f"{TABLE_BEGIN}\n\n{values_table()}\n{TABLE_END}\n"
    if TABLE_BEGIN in current and TABLE_END in current:
        head, rest = current.split(TABLE_BEGIN, 1)
        tail = rest.split(TABLE_END, 1)[1].lstrip("\n")
        return head + table + ("\n" + tail if tail else "")
    return current.rstrip("\n") + "\n\n## Values\n\n" + table


# ---- monitoring (rayctl.monitoring): what the chart's monitoring templates fill in
#
# The builders run here once with sentinel inputs; the chart substitutes the real values into their output (text
# for the ConfigMap payloads, so the bytes are rayctl's own; strings inside the alert rules). Sentinels are plain
# lowercase words, so the builders (and PyYAML/json) write them exactly as they would write a DNS name.

SENTINEL_NAME = "rayctlxnamex"
SENTINEL_NAMESPACE = "rayctlxnamespacex"
SENTINEL_APP = "rayctlxappx"
SENTINEL_UID = "rayctlxuidx"
SENTINEL_JOB = "rayctlxjobx"
SENTINEL_PORTS = "rayctlxportsx"
SENTINEL_INTERVAL = "1234567s"
SENTINEL_TIMEOUT = "7654321s"


class _Slot(float):
    """An alert threshold whose formatting leaves a placeholder naming the field and the format: `{x:g}` ->
    `rayctlxslotxerrorRatioxgx`, `{x:.0%}` -> `...xpctx`, `{x}` -> `...xplainx` (the chart formats the value)."""

    field: str

    def __new__(cls, field: str) -> _Slot:
        out = super().__new__(cls, 1.0)
        out.field = field
        return out

    def __format__(self, spec: str) -> str:
        code = {"g": "g", ".0%": "pct", "": "plain"}[spec]
        return f"rayctlxslotx{self.field}x{code}x"


@functools.lru_cache(maxsize=1)
def _dashboard_skeletons() -> dict[str, str]:
    """files/dashboards/<stem>.json (a namespace in the spec) and <stem>.nons.json (none): rayctl's ConfigMap
    payload for the sentinel RayService, the uid hash replaced by its sentinel."""
    from rayctl.monitoring import dashboards
    from rayctl.spec.monitoring import DashboardSettings

    files = {}
    for namespace, suffix in ((SENTINEL_NAMESPACE, ""), (None, ".nons")):
        key = f"{namespace or ''}/{SENTINEL_NAME}"
        uid_hash = hashlib.sha256(key.encode()).hexdigest()[:10]
        settings = DashboardSettings(include=list(dashboards.ALL_DASHBOARDS))
        for config_map in dashboards.dashboard_config_maps(SENTINEL_NAME, namespace, {}, settings, True):
            [(_, text)] = config_map["data"].items()
            stem = config_map["metadata"]["name"].removeprefix(f"{SENTINEL_NAME}-dashboard-")
            assert SENTINEL_UID not in text and text.count(uid_hash) == 1
            files[f"{stem}{suffix}.json"] = text.replace(uid_hash, SENTINEL_UID)
    return files


def dashboard_files() -> dict[str, str]:
    """charts/rayservice/files/dashboards/*.json."""
    return dict(_dashboard_skeletons())


def _scrape_skeletons() -> dict[str, str]:
    """The scrape ConfigMap's payload for the sentinel RayService, with and without a scrape timeout."""
    from rayctl.monitoring.scrape import scrape_config_map
    from rayctl.spec.monitoring import ScrapeConfigSettings

    out = {}
    for key, timeout in (("plain", None), ("timeout", SENTINEL_TIMEOUT)):
        settings = ScrapeConfigSettings.model_validate({"interval": SENTINEL_INTERVAL, "jobName": SENTINEL_JOB,
                                                         "scrapeTimeout": timeout, "ports": ["metrics"]})
        [(_, text)] = scrape_config_map(SENTINEL_NAME, SENTINEL_NAMESPACE, {}, settings)["data"].items()
        out[key] = text.replace("regex: metrics\n", f"regex: {SENTINEL_PORTS}\n")
        assert SENTINEL_PORTS in out[key]
    return out


def _alert_catalogue() -> dict[str, list[dict[str, Any]]]:
    """Every alert of rayctl.monitoring.alerts with placeholders for the name, namespace, thresholds and
    durations; `absentPerApp` is the per-application term of RayServeMetricsAbsent (joined with " or ")."""
    from rayctl.monitoring.alerts import alert_catalogue
    from rayctl.spec.monitoring import AlertDurations, AlertSettings

    slots: dict[str, Any] = {name: _Slot(field.alias or name) for name, field in AlertSettings.model_fields.items()
                             if field.annotation in (float, int)}
    placeholders: dict[str, Any] = {name: f"rayctlxforx{field.alias or name}x"
                                    for name, field in AlertDurations.model_fields.items()}
    durations = AlertDurations.model_construct(**placeholders)
    settings = AlertSettings.model_construct(**slots, rate_window="rayctlxwindowx", for_=durations)
    out = {}
    for namespace, key in ((SENTINEL_NAMESPACE, "namespaced"), (None, "plain")):
        alerts = []
        for alert in alert_catalogue(SENTINEL_NAME, namespace, settings, [SENTINEL_APP], True):
            entry = {"alert": alert.name, "expr": alert.expr, "for": alert.for_, "severity": alert.severity,
                     "summary": alert.summary, "description": alert.description, "group": alert.group}
            if SENTINEL_APP in alert.expr:
                assert alert.expr.startswith("absent(") and " or " not in alert.expr, alert.expr
            alerts.append(entry)
        out[key] = alerts
    return out


def monitoring_document() -> dict[str, Any]:
    from rayctl.monitoring import dashboards as dashboards_module
    from rayctl.monitoring.scrape import target_relabelings

    return {
        "sentinels": {"name": SENTINEL_NAME, "namespace": SENTINEL_NAMESPACE, "app": SENTINEL_APP,
                      "uid": SENTINEL_UID, "job": SENTINEL_JOB, "ports": SENTINEL_PORTS,
                      "interval": SENTINEL_INTERVAL, "timeout": SENTINEL_TIMEOUT},
        "allDashboards": list(dashboards_module.ALL_DASHBOARDS),
        "targetRelabelings": target_relabelings(),
        "scrapeConfig": _scrape_skeletons(),
        "alerts": _alert_catalogue(),
    }


def monitoring_json() -> str:
    """charts/rayservice/files/monitoring.json."""
    return json.dumps(monitoring_document(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"

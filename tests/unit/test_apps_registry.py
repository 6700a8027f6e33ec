"""The application-type registry: every type in one module, read by spec, renderer, validator, run and serve_apps."""

from __future__ import annotations

import typing
from typing import Any, Literal

import pytest
from pydantic import Field

from rayctl.apps import ab_variant_types, app_types, by_import_path
from rayctl.apps.base import AppBase, BundledApp, Endpoint, app_type
from rayctl.apps.contract import REQUIRED, Arg, Contract, device_arg
from rayctl.render.serve_config import application_config

BUNDLED = {name: cls for name, cls in app_types().items() if cls.CONTRACT is not None}


def test_bundled_types_in_documented_order() -> None:
    assert list(app_types()) == ["hello", "llm", "vllm", "pipeline", "classifier", "ab", "custom"]


@pytest.mark.parametrize("cls", list(app_types().values()), ids=lambda c: c.TYPE)
def test_example_is_a_valid_application(cls: type[AppBase]) -> None:
    app = cls.model_validate(cls.example())
    assert app.TYPE == cls.TYPE
    entry = application_config(app, None)
    assert entry["import_path"] == app.import_path()


@pytest.mark.parametrize("cls", list(BUNDLED.values()), ids=lambda c: c.TYPE)
@pytest.mark.parametrize("profile", [None, "cpu", "gpu"])
def test_rendered_args_satisfy_the_builder_contract(cls: type[AppBase], profile: Any) -> None:
    """What the renderer writes is exactly what the serve app's builder accepts (the same contract parses it)."""
    assert cls.CONTRACT is not None
    app = cls.model_validate(cls.example())
    args = application_config(app, profile)["args"]
    parsed = cls.CONTRACT.parse(args)
    assert set(args) <= cls.CONTRACT.names()
    assert parsed["device"] == app.resolve_device(profile)


@pytest.mark.parametrize("cls", list(BUNDLED.values()), ids=lambda c: c.TYPE)
def test_spec_defaults_equal_contract_defaults(cls: type[AppBase]) -> None:
    """A spec field that becomes an arg of the same name has the builder's default (one default, not two).
    (`device` differs on purpose: the spec says `auto`, resolved with the placement; the builder cannot see it.)"""
    assert cls.CONTRACT is not None
    checked = 0
    for name, field in cls.model_fields.items():
        if name == "device" or name not in cls.CONTRACT.names() or field.is_required():
            continue
        default = field.get_default(call_default_factory=True)
        if default is not None:
            assert default == cls.CONTRACT[name].default, (cls.TYPE, name)
            checked += 1
    if cls.TYPE in ("pipeline", "classifier", "vllm", "ab", "hello", "llm"):
        assert checked >= 1, cls.TYPE


@pytest.mark.parametrize("cls", list(BUNDLED.values()), ids=lambda c: c.TYPE)
def test_spec_lower_bounds_equal_contract_minimums(cls: type[AppBase]) -> None:
    """A spec field that becomes an arg of the same name accepts exactly what the builder accepts at the low end
    (the pipeline's spec once refused min_words_for_summary: 0, which its builder takes)."""
    assert cls.CONTRACT is not None
    for name, field in cls.model_fields.items():
        if name not in cls.CONTRACT.names():
            continue
        bounds = [getattr(m, "ge", None) for m in field.metadata if getattr(m, "ge", None) is not None]
        assert bounds == ([] if cls.CONTRACT[name].minimum is None else [cls.CONTRACT[name].minimum]), (cls.TYPE, name)


def test_app_type_reads_the_type_name_from_the_type_field() -> None:
    contract = Contract("toy", (device_arg("cpu"),))

    @app_type(order=5, import_path="toy:app", deployments=("Toy",), contract=contract, endpoint=Endpoint("POST", "/t"))
    class ToyApp(BundledApp):
        type: Literal["toy"] = Field(description="Application type.")

    assert (ToyApp.TYPE, ToyApp.ORDER, ToyApp.IMPORT_PATH, ToyApp.DEPLOYMENTS) == ("toy", 5, "toy:app", ("Toy",))
    assert ToyApp.CONTRACT is contract and (ToyApp.ENDPOINT.method, ToyApp.ENDPOINT.path) == ("POST", "/t")
    assert not ToyApp.USES_ACCELERATOR and not ToyApp.AB_VARIANT
    assert BundledApp.TYPE == "" and BundledApp.DEPLOYMENTS == ()  # the base class is left alone


def test_app_type_refuses_a_contract_of_another_type() -> None:
    with pytest.raises(TypeError, match="is type 'toy' but its contract is for 'hello'"):
        @app_type(order=5, contract=Contract("hello", ()))
        class ToyApp(BundledApp):
            type: Literal["toy"] = Field(description="Application type.")


@pytest.mark.parametrize("annotation", [str, Literal["a", "b"], Literal[1]], ids=["str", "two-names", "int"])
def test_app_type_needs_a_one_name_type_field(annotation: Any) -> None:
    namespace = {"__annotations__": {"type": annotation}, "type": Field(description="Application type.")}
    toy = typing.cast(type[BundledApp], type("ToyApp", (BundledApp,), namespace))
    with pytest.raises(TypeError, match=r"ToyApp needs a field `type: Literal\["):
        app_type()(toy)


def test_app_type_needs_a_type_field() -> None:
    with pytest.raises(TypeError, match="needs a field `type"):
        app_type()(BundledApp)


def test_by_import_path() -> None:
    assert by_import_path("serve_apps.pipeline:app_builder") is BUNDLED["pipeline"]
    assert by_import_path("my.module:app") is None


def test_ab_variant_types_come_from_the_registry() -> None:
    assert ab_variant_types() == {
        "hello": "serve_apps.hello:app_builder",
        "pipeline": "serve_apps.pipeline:app_builder",
        "classifier": "serve_apps.classifier:app_builder",
    }


def test_serve_settings_union_has_every_type() -> None:
    from rayctl.spec.serve import ServeSettings

    annotation = ServeSettings.model_fields["applications"].annotation
    union = typing.get_args(typing.get_args(annotation)[0])[0]
    assert set(typing.get_args(union)) == set(app_types().values())


CONTRACT = Contract("toy", (
    Arg("name", (str,), REQUIRED),
    Arg("size", (int,), 3, minimum=1),
    Arg("ratio", (float,), 0.5),
    Arg("tags", (list,), ["a"], item_kind=str),
    device_arg("cpu"),
))


@pytest.mark.parametrize(("args", "error"), [
    ({"name": "x", "bogus": 1}, r"unknown arg\(s\) 'bogus'; allowed: device, name, ratio, size, tags"),
    ({}, "missing required arg 'name'"),
    ({"name": 5}, "arg 'name' must be str, got int"),
    ({"name": "x", "size": True}, "arg 'size' must be int, got a boolean"),
    ({"name": "x", "size": 0}, "arg 'size' must be >= 1, got 0"),
    ({"name": "x", "ratio": float("nan")}, "arg 'ratio' must be a finite number"),
    ({"name": "x", "tags": ["a", 2]}, r"arg tags\[1\] must be str, got int"),
    ({"name": "x", "device": "tpu"}, r"arg 'device' must be one of \['gpu', 'cpu'\], got 'tpu'"),
    ("not a mapping", "args must be a mapping, got str"),
])
def test_contract_rejects(args: Any, error: str) -> None:
    with pytest.raises(ValueError, match=f"^toy: {error}"):
        CONTRACT.parse(args)


def test_contract_fills_defaults_and_accepts_int_for_float() -> None:
    parsed = CONTRACT.parse({"name": "x", "ratio": 1})
    assert parsed == {"name": "x", "size": 3, "ratio": 1, "tags": ["a"], "device": "cpu"}
    parsed["tags"].append("b")
    assert CONTRACT.parse({"name": "x"})["tags"] == ["a"]  # defaults are copies

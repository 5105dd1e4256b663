"""Rewriting one model widget in a workflow file keeps every other byte when it can, and is always right."""

from __future__ import annotations

import json

from mend.core.decide.decisions import _edited_text


def test_unique_value_is_replaced_in_place_keeping_the_layout():
    original = '{\n  "nodes": [ {"id": 1, "widgets_values": ["a.safetensors", 1.0]} ],\n  "extra": {"x":  1}\n}\n'
    data = json.loads(original)
    data["nodes"][0]["widgets_values"][0] = "sub/b.safetensors"
    edited = _edited_text(original, "a.safetensors", "sub/b.safetensors", data)
    assert edited == original.replace('"a.safetensors"', '"sub/b.safetensors"')  # odd spacing kept
    assert json.loads(edited) == data


def test_ambiguous_value_falls_back_to_a_full_rewrite():
    original = json.dumps({"nodes": [{"id": 1, "widgets_values": ["a.safetensors"]},
                                     {"id": 2, "widgets_values": ["a.safetensors"]}]}, indent=2)
    data = json.loads(original)
    data["nodes"][1]["widgets_values"][0] = "b.safetensors"
    edited = _edited_text(original, "a.safetensors", "b.safetensors", data)
    assert json.loads(edited) == data  # only node 2 changed, although the literal appears twice


def test_differently_escaped_value_falls_back_and_stays_right():
    original = '{"nodes": [{"id": 1, "widgets_values": ["caf\\u00e9.safetensors"]}]}'
    data = json.loads(original)
    data["nodes"][0]["widgets_values"][0] = "new.safetensors"
    edited = _edited_text(original, "café.safetensors", "new.safetensors", data)
    assert json.loads(edited) == data

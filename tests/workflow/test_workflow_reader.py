"""Reading workflows of every format; a broken part is a warning naming the field, only a non-workflow is refused."""

from __future__ import annotations

import copy

import pytest

from mend.core.errors import BadRequest
from mend.core.workflow.reader import MODE_BYPASSED, MODE_MUTED, read_workflow


def ui(nodes, links=(), **extra):
    return {"version": 0.4, "nodes": list(nodes), "links": list(links), **extra}


def node(id, type, widgets=None, mode=0, **props):
    return {"id": id, "type": type, "mode": mode, "widgets_values": widgets or [], "properties": props}


def test_api_format_reads_literal_inputs_not_links():
    wf = read_workflow({
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
        "5": {"class_type": "KSampler", "inputs": {"model": ["4", 0], "seed": 1}},
    })
    assert wf.format == "api"
    assert [(n.id, n.type) for n in wf.nodes] == [("4", "CheckpointLoaderSimple"), ("5", "KSampler")]
    assert wf.nodes[1].inputs == {"seed": 1}


def test_api_prompt_wrapper_and_ui_in_workflow_key():
    assert read_workflow({"prompt": {"1": {"class_type": "A", "inputs": {}}}}).nodes[0].type == "A"
    assert read_workflow({"workflow": ui([node(1, "B")])}).nodes[0].type == "B"


def test_ui_v04_links_and_properties():
    wf = read_workflow(ui([node(1, "A", cnr_id="pack", ver="1.0"), node(2, "B", aux_id="o/r")],
                          [[1, 1, 0, 2, 0, "MODEL"]]))
    a, b = wf.nodes
    assert (a.cnr_id, a.ver, b.aux_id) == ("pack", "1.0", "o/r")


def test_ui_v1_object_links():
    data = ui([node(1, "A"), node(2, "B")], [{"id": 1, "origin_id": 1, "origin_slot": 0, "target_id": 2,
                                             "target_slot": 0, "type": "X"}], version=1)
    assert len(read_workflow(data).nodes) == 2


def test_dangling_link_is_a_warning_naming_the_node_it_leaves():
    wf = read_workflow(ui([node(1, "A")], [[7, 1, 0, 99, 0, "X"]]))
    assert [n.type for n in wf.nodes] == ["A"]
    (w,) = wf.warnings
    assert (w.code, w.node_id, w.field) == ("dangling_link", "1", "links[0]") and "99" in w.message


def test_nested_subgraphs_get_id_paths_and_inherit_bypass():
    inner = {"id": "sg-inner", "nodes": [node(5, "Leaf")], "links": []}
    outer = {"id": "sg-outer", "nodes": [node(3, "sg-inner"), node(4, "Mid")], "links": []}
    wf = read_workflow(ui([node(12, "sg-outer", mode=MODE_BYPASSED), node(1, "Top")],
                          definitions={"subgraphs": [outer, inner]}))
    assert {n.id: n.type for n in wf.nodes} == {"12:3:5": "Leaf", "12:4": "Mid", "1": "Top"}
    assert all(n.bypassed for n in wf.nodes if n.id.startswith("12:"))


def test_subgraph_cycle_is_a_warning_and_not_expanded_again():
    a = {"id": "sg-a", "nodes": [node(1, "sg-b"), node(2, "Leaf")], "links": []}
    b = {"id": "sg-b", "nodes": [node(1, "sg-a")], "links": []}
    wf = read_workflow(ui([node(1, "sg-a")], definitions={"subgraphs": [a, b]}))
    assert [n.id for n in wf.nodes] == ["1:2"]
    assert [w.code for w in wf.warnings] == ["subgraph_cycle"]


def test_group_nodes_expand_to_inner_nodes():
    data = ui([node(7, "workflow>MyGroup")], extra={"groupNodes": {"MyGroup": {"nodes": [
        {"type": "CheckpointLoaderSimple", "index": 0, "widgets_values": ["g.safetensors"]},
        {"type": "KSampler", "index": 1}]}}})
    wf = read_workflow(data)
    assert [(n.id, n.type, n.group) for n in wf.nodes] == [
        ("7:0", "CheckpointLoaderSimple", "MyGroup"), ("7:1", "KSampler", "MyGroup")]


def test_muted_nodes_are_reported_and_marked():
    wf = read_workflow(ui([node(1, "A", mode=MODE_MUTED)]))
    assert wf.nodes[0].muted


def test_models_metadata_is_read_from_workflow_and_nodes():
    meta = [{"name": "x.safetensors", "url": "https://h/x", "directory": "loras"}]
    data = ui([node(1, "L", ["x.safetensors"], models=meta)],
              models=[{"name": "y.safetensors", "directory": "vae", "hash": "ab" * 32, "hash_type": "SHA256"}])
    wf = read_workflow(data)
    assert wf.nodes[0].models[0].directory == "loras"
    assert wf.models[0].hash == "ab" * 32


@pytest.mark.parametrize("data", [[], {"foo": 1}, {"nodes": {}}, "text", {"1": 2}])
def test_what_is_no_workflow_at_all_is_refused(data):
    with pytest.raises(BadRequest) as e:
        read_workflow(copy.deepcopy(data))
    assert (e.value.status, e.value.code, e.value.field) == (400, "invalid_workflow", "$")


@pytest.mark.parametrize(
    ("data", "field", "code", "types"),
    [
        ({"nodes": [{"id": 1}, {"id": 2, "type": "B"}]}, "nodes[0].type", "node_without_type", ["B"]),
        ({"nodes": [3, {"id": 2, "type": "B"}]}, "nodes[0]", "odd_field", ["B"]),
        ({"nodes": [{"id": 1, "type": "A", "mode": "x"}]}, "nodes[0].mode", "odd_field", ["A"]),
        ({"nodes": [{"id": 1, "type": "A", "widgets_values": 3}]}, "nodes[0].widgets_values", "odd_field", ["A"]),
        ({"nodes": [{"id": 1, "type": "A", "properties": {"models": {}}}]}, "nodes[0].properties.models",
         "odd_field", ["A"]),
        ({"nodes": [{"id": 1, "type": "A", "properties": []}]}, "nodes[0].properties", "odd_field", ["A"]),
        ({"nodes": [{"id": 1, "type": "A"}], "links": [[1, 1, 0, 5, 0, "X"], "x"]}, "links[1]", "odd_link", ["A"]),
        ({"nodes": [{"id": 1, "type": "A"}], "definitions": []}, "definitions", "odd_field", ["A"]),
        ({"1": {"class_type": "", "inputs": {}}, "2": {"class_type": "B"}}, "1.class_type", "node_without_type",
         ["B"]),
        ({"1": {"class_type": "A", "inputs": []}}, "1.inputs", "odd_field", ["A"]),
    ],
)
def test_a_broken_part_is_a_warning_naming_the_field(data, field, code, types):
    wf = read_workflow(copy.deepcopy(data))
    assert [n.type for n in wf.nodes] == types
    assert any(w.field == field and w.code == code for w in wf.warnings), wf.warnings

"""Reading workflows of every format; bad input is refused with the field named."""

from __future__ import annotations

import copy

import pytest

from mend.core.errors import BadRequest, InvalidField, SubgraphCycle
from mend.core.workflow import MODE_BYPASSED, MODE_MUTED, read_workflow


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


def test_unknown_node_in_link_is_refused_with_field():
    with pytest.raises(InvalidField) as e:
        read_workflow(ui([node(1, "A")], [[7, 1, 0, 99, 0, "X"]]))
    assert e.value.field == "links[0]" and "99" in e.value.message


def test_nested_subgraphs_get_id_paths_and_inherit_bypass():
    inner = {"id": "sg-inner", "nodes": [node(5, "Leaf")], "links": []}
    outer = {"id": "sg-outer", "nodes": [node(3, "sg-inner"), node(4, "Mid")], "links": []}
    wf = read_workflow(ui([node(12, "sg-outer", mode=MODE_BYPASSED), node(1, "Top")],
                          definitions={"subgraphs": [outer, inner]}))
    assert {n.id: n.type for n in wf.nodes} == {"12:3:5": "Leaf", "12:4": "Mid", "1": "Top"}
    assert all(n.bypassed for n in wf.nodes if n.id.startswith("12:"))


def test_subgraph_cycle_is_refused():
    a = {"id": "sg-a", "nodes": [node(1, "sg-b")], "links": []}
    b = {"id": "sg-b", "nodes": [node(1, "sg-a")], "links": []}
    with pytest.raises(SubgraphCycle):
        read_workflow(ui([node(1, "sg-a")], definitions={"subgraphs": [a, b]}))


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


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "$"),
        ({"foo": 1}, "$"),
        ({"nodes": {}}, "nodes"),
        ({"nodes": [{"id": 1}]}, "nodes[0].type"),
        ({"nodes": [{"id": 1, "type": "A", "mode": "x"}]}, "nodes[0].mode"),
        ({"nodes": [{"id": 1, "type": "A", "widgets_values": 3}]}, "nodes[0].widgets_values"),
        ({"nodes": [{"id": 1, "type": "A", "properties": {"models": {}}}]}, "nodes[0].properties.models"),
        ({"1": {"class_type": "", "inputs": {}}}, "1.class_type"),
        ({"1": {"class_type": "A", "inputs": []}}, "1.inputs"),
    ],
)
def test_bad_input_names_the_field(data, field):
    with pytest.raises(BadRequest) as e:
        read_workflow(copy.deepcopy(data))
    assert e.value.field == field
    assert e.value.status == 400

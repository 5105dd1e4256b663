"""Which values name model files and where each goes, when no schema says: the rules' own examples, and the
corpus's users' workflows read without a pack installed (docs/cli.md, "Model rows")."""

from __future__ import annotations

import doctest
import json

import pytest

from mend.core.host_standalone import load_core_schemas
from mend.core.resolve import file_folders
from mend.core.workflow import folder_hints, model_refs, named_urls, not_model_values, pack_fetched
from mend.core.workflow.model_refs import model_refs as refs_of
from mend.core.workflow.reader import read_workflow

from ..conftest import shared_path


@pytest.mark.parametrize("module", [folder_hints, not_model_values, pack_fetched, model_refs, named_urls,
                                    file_folders])
def test_the_rules_examples_hold(module):
    assert doctest.testmod(module).failed == 0


def test_no_users_workflow_yields_a_url_a_label_or_a_display_node_as_a_model_file():
    schemas = load_core_schemas()
    folder = shared_path("corpus", "user-workflows", "wf")
    refs = [r for p in sorted(folder.glob("*.json"))
            for r in refs_of(read_workflow(json.loads(p.read_text(encoding="utf-8"))), schemas)]
    assert refs
    assert not [r.value for r in refs if not_model_values.why_not_a_file(r.value)]
    assert not [r.node_type for r in refs if not_model_values.is_display_node(r.node_type)]
    # every file whose folder no schema names but whose node does is placed by the node, not its file name
    lora_nodes = [r for r in refs if "lora" in r.node_type.lower() and r.folder_source != "schema"]
    assert lora_nodes and {r.folder for r in lora_nodes} == {"loras"}

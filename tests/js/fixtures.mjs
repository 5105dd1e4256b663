// A report shaped like POST /mend/analyze's answer (docs/http-api.md), shared by the JS tests.
export function report() {
  const vhs = { id: "comfyui-videohelpersuite", title: "Video Helper Suite", repository: "https://github.com/kosinkadink/comfyui-videohelpersuite", stars: 1772 };
  const other = { id: "other-pack", title: "Other", repository: "https://github.com/x/other", stars: 3 };
  return {
    format: "ui",
    node_count: 9,
    summary: { missing_nodes: 3, missing_models: 2, blocking: 5, auto: 2, questions: 3 },
    missing_nodes: [
      { type: "VHS_VideoCombine", node_ids: ["12:5"], inactive: false, status: "auto", auto: true,
        candidates: [{ pack: vhs, reason: "cnr_id", confidence: 1.0, installed: false, covers: 2 }] },
      { type: "VHS_LoadVideo", node_ids: ["7"], inactive: false, status: "ambiguous", auto: false,
        candidates: [{ pack: vhs, reason: "exact", confidence: 0.9, installed: false, covers: 2 },
          { pack: other, reason: "exact", confidence: 0.9, installed: false, covers: 1 }] },
      { type: "Nobody_Knows", node_ids: ["8"], inactive: true, status: "unknown", auto: false, candidates: [] },
    ],
    missing_models: [
      { key: "4/ckpt_name", node_id: "4", node_type: "CheckpointLoaderSimple", input: "ckpt_name", widget_index: 0,
        value: "sdxl.safetensors", folder: "checkpoints", folder_source: "schema", status: "auto", auto: true,
        candidates: [{ kind: "download", reason: "workflow_metadata", confidence: 0.9, folder: "checkpoints",
          relpath: "sdxl.safetensors", url: "https://huggingface.co/a/b/resolve/main/sdxl.safetensors", host: "huggingface.co",
          size: 6_000_000_000, sha256: null, pickle: false, source: "workflow" }] },
      { key: "12:9/lora_name", node_id: "12:9", node_type: "LoraLoader", input: "lora_name", widget_index: 0,
        value: "style/ink.safetensors", folder: "loras", folder_source: "schema", status: "ambiguous", auto: false,
        candidates: [{ kind: "local", reason: "same_name_other_folder", confidence: 0.85, folder: "checkpoints",
          relpath: "ink.safetensors", size: 1000, source: "local", pickle: false }] },
    ],
    present_models: [],
    elapsed_ms: 2.5,
  };
}

export const WORKFLOW = { key: "workflows/demo.json", name: "demo.json" };

#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora from the golden fixtures (small: real headers, tiny data).

Run from the repository root: python3 fuzz/make_corpus.py
"""
import json
import struct
from pathlib import Path

GOLDEN = Path("tests/data/golden")
OUT = Path("fuzz/corpus")
SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "I32": 4, "I64": 8, "U8": 1}


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype, shape, bytes)."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def shrunk(shard, keep):
    """The shard's first `keep` tensors with every dim cut to at most 2, their leading bytes."""
    blob = shard.read_bytes()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    metadata = header.pop("__metadata__", None)
    tensors = []
    for name, t in list(header.items())[:keep]:
        shape = [min(d, 2) for d in t["shape"]]
        count = 1
        for d in shape:
            count *= d
        begin = 8 + n + t["data_offsets"][0]
        tensors.append((name, t["dtype"], shape, blob[begin:begin + count * SIZES[t["dtype"]]]))
    return tensors, metadata


def main():
    st = OUT / "safetensors"
    st.mkdir(parents=True, exist_ok=True)
    for folder, shard, keep in [("v3-tiny-fp8", "model-00001-of-00003.safetensors", 40),
                                ("v3-tiny-bf16", "model-00002-of-00003.safetensors", 20),
                                ("v2-lite-tiny", "model.safetensors", 20)]:
        tensors, metadata = shrunk(GOLDEN / folder / shard, keep)
        write_safetensors(st / f"{folder}.safetensors", tensors, metadata)
    write_safetensors(st / "empty.safetensors", [])
    write_safetensors(st / "scalar_and_empty.safetensors",
                      [("scalar", "F32", [], struct.pack("<f", 1.5)),
                       ("nothing", "BF16", [0, 4], b""),
                       ("ids", "I64", [2], struct.pack("<qq", 7, -1))], {"format": "pt"})

    # Regression seeds: inputs that once escaped the parser with a non-whale exception.
    number_overflow = b'{"a":{"dtype":"F32","shape":[1e999],"data_offsets":[0,4]}}'
    (st / "regress-number-overflow.safetensors").write_bytes(
        struct.pack("<Q", len(number_overflow)) + number_overflow)

    cfg = OUT / "config"
    cfg.mkdir(parents=True, exist_ok=True)
    for folder in ["v2-lite-tiny", "v2-tiny", "v3-tiny-fp8", "v3-tiny-bf16"]:
        (cfg / f"{folder}.json").write_bytes((GOLDEN / folder / "config.json").read_bytes())
    (cfg / "v2-defaults.json").write_text('{"model_type": "deepseek_v2", "topk_method": "gready"}')
    (cfg / "v3-defaults.json").write_text('{"model_type": "deepseek_v3", "rope_scaling": null}')
    (cfg / "v3-ue8m0.json").write_text(json.dumps({
        "model_type": "deepseek_v3", "q_lora_rank": None, "n_routed_experts": None,
        "rope_scaling": {"rope_type": "yarn", "factor": 40, "mscale": 1.0},
        "quantization_config": {"quant_method": "fp8", "fmt": "e4m3", "scale_fmt": "ue8m0",
                                "weight_block_size": [128, 128]}}))
    (cfg / "regress-number-overflow.json").write_text('{"model_type":"deepseek_v3","hidden_size":1e500}')
    (cfg / "regress-huge-heads.json").write_text(
        '{"model_type":"deepseek_v3","num_attention_heads":9000000000000000000}')
    (cfg / "regress-huge-head-dim.json").write_text(
        '{"model_type":"deepseek_v2","qk_nope_head_dim":18446744073709551615}')
    (cfg / "regress-huge-block.json").write_text(
        '{"model_type":"deepseek_v3","quantization_config":{"quant_method":"fp8",'
        '"weight_block_size":[9223372036854775807,128]}}')


if __name__ == "__main__":
    main()

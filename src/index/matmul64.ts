import { onnx } from "onnx-proto";
import * as ort from "onnxruntime-node";

/**
 * Dense float64 matrix product A (rows × inner) · B (inner × cols) on onnxruntime's CPU
 * kernels (multi-threaded), for the places where float32 GEMM is not exact enough:
 * k-means distances that must equal scikit-learn's float64 arithmetic to rounding.
 */
let session: Promise<ort.InferenceSession> | null = null;

function graph(): Uint8Array {
  const double = (dims: string[]): onnx.ITypeProto => ({
    tensorType: { elemType: onnx.TensorProto.DataType.DOUBLE, shape: { dim: dims.map((d) => ({ dimParam: d })) } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "brain-ts matmul64",
    graph: {
      name: "matmul64",
      node: [{ opType: "MatMul", input: ["A", "B"], output: ["Y"] }],
      input: [
        { name: "A", type: double(["rows", "inner"]) },
        { name: "B", type: double(["inner", "cols"]) },
      ],
      output: [{ name: "Y", type: double(["rows", "cols"]) }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Row-major rows × cols product. */
export async function matmul64(a: Float64Array, rows: number, inner: number, b: Float64Array, cols: number): Promise<Float64Array> {
  session ??= ort.InferenceSession.create(graph(), { executionProviders: ["cpu"] });
  const s = await session;
  const out = await s.run({ A: new ort.Tensor("float64", a, [rows, inner]), B: new ort.Tensor("float64", b, [inner, cols]) });
  return out.Y.data as Float64Array;
}

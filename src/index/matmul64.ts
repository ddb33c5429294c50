import { onnx } from "onnx-proto";
import * as ort from "onnxruntime-node";

/**
 * Dense float64 matrix product A (rows × inner) · B (inner × cols) on onnxruntime's CPU
 * kernels (multi-threaded), for the places where float32 GEMM is not exact enough:
 * k-means distances that must equal scikit-learn's float64 arithmetic to rounding.
 */
const sessions = new Map<boolean, Promise<ort.InferenceSession>>();

function graph(transA: boolean): Uint8Array {
  const double = (dims: string[]): onnx.ITypeProto => ({
    tensorType: { elemType: onnx.TensorProto.DataType.DOUBLE, shape: { dim: dims.map((d) => ({ dimParam: d })) } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "brain-ts matmul64",
    graph: {
      name: "matmul64",
      node: [
        {
          opType: "Gemm",
          input: ["A", "B"],
          output: ["Y"],
          attribute: [{ name: "transA", type: onnx.AttributeProto.AttributeType.INT, i: transA ? 1 : 0 }],
        },
      ],
      input: [
        { name: "A", type: double(transA ? ["inner", "rows"] : ["rows", "inner"]) },
        { name: "B", type: double(["inner", "cols"]) },
      ],
      output: [{ name: "Y", type: double(["rows", "cols"]) }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Row-major rows × cols product A·B; with `transA`, `a` holds Aᵀ (inner × rows, e.g. a
 * block of data rows for Xᵀ·X).
 */
export async function matmul64(a: Float64Array, rows: number, inner: number, b: Float64Array, cols: number, transA = false): Promise<Float64Array> {
  const s = await session(transA);
  const out = await s.run({ A: new ort.Tensor("float64", a, transA ? [inner, rows] : [rows, inner]), B: new ort.Tensor("float64", b, [inner, cols]) });
  return out.Y.data as Float64Array;
}

/** Loads onnxruntime and both product sessions now rather than on the first product. */
export async function prepareMatmul64(): Promise<void> {
  await Promise.all([session(false), session(true)]);
}

function session(transA: boolean): Promise<ort.InferenceSession> {
  let s = sessions.get(transA);
  if (!s) {
    // No spinning between runs: the caller's work between products (k-means' seeding and
    // assignment loops) and mongod afterwards need the cores the idle pool threads would hold
    // (k-means at 10 000 × 512 measured ≈ 12% faster on 2 cores).
    s = ort.InferenceSession.create(graph(transA), { executionProviders: ["cpu"], extra: { session: { intra_op: { allow_spinning: "0" } } } });
    sessions.set(transA, s);
  }
  return s;
}

import { onnx } from "onnx-proto";
import * as ort from "onnxruntime-node";
import { decodeWeights, kerasToOnnx, tfPadding, type TfjsModel } from "../../scripts/convertMobilenet";
import { loadTfjs, maxAbsDiff, nchwToNhwc } from "./tfjs";

describe("tfPadding", () => {
  it("pads like TF 'same': the odd extra cell goes at the end", () => {
    expect(tfPadding("same", 224, 3, 1)).toEqual([1, 1]);
    expect(tfPadding("same", 224, 3, 2)).toEqual([0, 1]); // 224 → 112
    expect(tfPadding("same", 225, 3, 2)).toEqual([1, 1]); // 225 → 113
    expect(tfPadding("same", 10, 2, 2)).toEqual([0, 0]);
    expect(tfPadding("same", 7, 2, 2)).toEqual([0, 1]);
    expect(tfPadding("valid", 7, 3, 2)).toEqual([0, 0]);
  });
});

describe("decodeWeights", () => {
  it("dequantizes uint8 as v * scale + min, in spec order", () => {
    const data = Buffer.from([0, 1, 255, 10]);
    const w = decodeWeights(
      [
        { name: "a", shape: [3], dtype: "float32", quantization: { dtype: "uint8", min: -1, scale: 0.5 } },
        { name: "b", shape: [1], dtype: "float32", quantization: { dtype: "uint8", min: 2, scale: 0.25 } },
      ],
      data,
    );
    expect(Array.from(w.get("a")!.values)).toEqual([-1, -0.5, 126.5]);
    expect(Array.from(w.get("b")!.values)).toEqual([4.5]);
    expect(() => decodeWeights([{ name: "a", shape: [5], dtype: "float32", quantization: { dtype: "uint8", min: 0, scale: 1 } }], data)).toThrow(/too short/);
  });
});

describe("kerasToOnnx on a small Keras model made by tfjs", () => {
  it("matches tfjs on the layers MobileNet does not exercise (asymmetric 'same', unfolded BN, Pad, pools, channels-last Flatten, Dense)", async () => {
    const tf = await loadTfjs();
    const input = tf.input({ shape: [10, 12, 3], name: "inp" });
    let x = tf.layers.conv2d({ name: "c1", filters: 4, kernelSize: 3, strides: 2, padding: "same", activation: "relu", useBias: true }).apply(input) as any;
    x = tf.layers.batchNormalization({ name: "bn1", epsilon: 0.01 }).apply(x); // after relu: kept as an ONNX BatchNormalization
    x = tf.layers.maxPooling2d({ name: "mp", poolSize: 2, strides: 2, padding: "same" }).apply(x);
    x = tf.layers.zeroPadding2d({ name: "zp", padding: [[1, 0], [0, 1]] }).apply(x); // feeds a pool: an ONNX Pad
    x = tf.layers.averagePooling2d({ name: "apv", poolSize: 2, strides: 1, padding: "valid" }).apply(x);
    x = tf.layers.depthwiseConv2d({ name: "dw", kernelSize: 3, strides: 2, padding: "same", depthMultiplier: 2, useBias: true }).apply(x);
    x = tf.layers.batchNormalization({ name: "bn2" }).apply(x); // folded into dw
    x = tf.layers.reLU({ name: "r6", maxValue: 6 }).apply(x);
    x = tf.layers.zeroPadding2d({ name: "zp2", padding: 1 }).apply(x); // folded into c2's pads
    x = tf.layers.conv2d({ name: "c2", filters: 5, kernelSize: 2, strides: 1, padding: "valid" }).apply(x);
    x = tf.layers.averagePooling2d({ name: "ap", poolSize: 2, strides: 1, padding: "same" }).apply(x);
    x = tf.layers.flatten({ name: "fl" }).apply(x);
    x = tf.layers.dense({ name: "d1", units: 7 }).apply(x);
    const out = tf.layers.activation({ name: "sm", activation: "softmax" }).apply(x) as any;
    const model = tf.model({ inputs: input, outputs: out });
    // Non-trivial BatchNormalization statistics.
    for (const bn of ["bn1", "bn2"]) {
      const layer = model.getLayer(bn);
      layer.setWeights(layer.getWeights().map((w, i) => (i === 3 ? tf.randomUniform(w.shape, 0.5, 2, "float32", 1) : tf.randomNormal(w.shape, i === 0 ? 1 : 0, 0.5, "float32", 2))));
    }
    for (const name of ["c1", "dw", "c2", "d1"]) {
      const layer = model.getLayer(name);
      layer.setWeights(layer.getWeights().map((w) => tf.randomNormal(w.shape, 0, 0.5, "float32", 3)));
    }
    let saved: TfjsModel | null = null;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        saved = { topology: a.modelTopology as TfjsModel["topology"], weightSpecs: a.weightSpecs as TfjsModel["weightSpecs"], weightData: Buffer.from(a.weightData as ArrayBuffer) };
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
      }),
    );
    const m = saved!;
    const weights = decodeWeights(m.weightSpecs, m.weightData);
    const bytes = kerasToOnnx(m.topology, weights, { outputLayer: "sm", outputName: "probs" });
    const ops = onnx.ModelProto.decode(bytes).graph!.node!.map((node) => node.opType);
    // bn1 (after a relu) stays a BatchNormalization, bn2 is folded into dw, zp is a Pad, zp2 is folded into c2.
    expect(ops).toEqual(["Conv", "Relu", "BatchNormalization", "MaxPool", "Pad", "AveragePool", "Conv", "Clip", "Conv", "AveragePool", "Transpose", "Flatten", "Gemm", "Softmax", "Identity"]);
    const full = await ort.InferenceSession.create(bytes);
    expect(full.inputNames).toEqual(["input"]);
    expect(full.outputNames).toEqual(["probs"]);

    const n = 3;
    let seed = 7;
    const nchw = Float32Array.from({ length: n * 3 * 10 * 12 }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
    const nhwc = tf.tensor4d(nchwToNhwc(nchw, n, 3, 10, 12), [n, 10, 12, 3]);
    const probs = (await full.run({ input: new ort.Tensor("float32", nchw, [n, 3, 10, 12]) })).probs;
    expect(probs.dims).toEqual([n, 7]);
    await full.release();

    // Every layer's output, not just the last, so a mismatch says where it starts.
    for (const name of ["c1", "bn1", "mp", "zp", "apv", "dw", "bn2", "r6", "c2", "ap", "fl", "d1", "sm"]) {
      const session = await ort.InferenceSession.create(kerasToOnnx(m.topology, weights, { outputLayer: name, outputName: "out" }));
      const out = (await session.run({ input: new ort.Tensor("float32", nchw, [n, 3, 10, 12]) })).out;
      await session.release();
      const got = out.dims.length === 4 ? nchwToNhwc(out.data as Float32Array, n, out.dims[1], out.dims[2], out.dims[3]) : (out.data as Float32Array);
      const sub = tf.model({ inputs: model.inputs, outputs: model.getLayer(name).output as any });
      const want = (sub.predict(nhwc) as any).dataSync() as Float32Array;
      const { diff, scale } = maxAbsDiff(want, got);
      expect({ layer: name, ok: diff <= 1e-5 * Math.max(1, scale), diff, scale }).toMatchObject({ layer: name, ok: true });
    }
  }, 60_000);

  it("refuses ZeroPadding2D into MaxPooling2D (onnxruntime's Pad fusion would pad with -inf instead of 0)", async () => {
    const tf = await loadTfjs();
    const input = tf.input({ shape: [4, 4, 1] });
    const zp = tf.layers.zeroPadding2d({ name: "zp", padding: 1 }).apply(input);
    const out = tf.layers.maxPooling2d({ name: "mp", poolSize: 2 }).apply(zp) as any;
    const topology = tf.model({ inputs: input, outputs: out }).toJSON(undefined, false) as unknown as TfjsModel["topology"];
    expect(() => kerasToOnnx(topology, new Map(), { outputLayer: "mp" })).toThrow(/ZeroPadding2D.*MaxPooling2D/);
  });

  it("refuses layers it does not know", () => {
    const topology = {
      class_name: "Model",
      config: {
        layers: [
          { name: "i", class_name: "InputLayer", config: { batch_input_shape: [null, 4, 4, 3] }, inbound_nodes: [] },
          { name: "lstm", class_name: "LSTM", config: {}, inbound_nodes: [[["i", 0, 0, {}]]] },
        ],
        input_layers: [],
        output_layers: [],
      },
    } as unknown as TfjsModel["topology"];
    expect(() => kerasToOnnx(topology, new Map(), { outputLayer: "lstm" })).toThrow(/Keras layer LSTM is not supported/);
    expect(() => kerasToOnnx(topology, new Map(), { outputLayer: "nope" })).toThrow(/no layer 'nope'/);
  });
});

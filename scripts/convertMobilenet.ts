/**
 * Build-time conversion of the MobileNetV2 that ships inside the npm package `nsfwjs`
 * (TF.js LayersModel: Keras topology JSON + uint8-quantized weights, both as JS modules
 * with the weights base64-encoded) into an ONNX graph that onnxruntime-node runs.
 *
 * The graph stops at `flatten_1` (global 7×7 average pool of `out_relu`, 1280-d), the
 * layer before nsfwjs's NSFW classifier head, and names that output `embedding`.
 *
 *   node lib/scripts/convertMobilenet.js [--out DIR] [--force]
 *
 * writes DIR/mobilenet_v2_nsfwjs.onnx and DIR/mobilenet_v2_nsfwjs.json (the manifest;
 * default DIR: <project>/.cache/models). The ONNX file is generated, never committed.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { endianness } from "node:os";
import { dirname, join } from "node:path";
import { onnx } from "onnx-proto";
import type { ModelManifest } from "../src/embeddings/modelManifest";
import { projectRoot } from "../src/fiftyone/localDatabase";

export const DEFAULT_MODEL_NAME = "mobilenet_v2_nsfwjs";
const OPSET = 17;
const IR_VERSION = 8;

// ---------------------------------------------------------------------------------------
// Reading the TF.js model out of nsfwjs

export interface KerasLayer {
  name: string;
  class_name: string;
  config: Record<string, any>;
  inbound_nodes: Array<Array<[string, number, number, Record<string, unknown>?]>>;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: "uint8" | "uint16" | "float16"; min?: number; scale?: number };
}

export interface KerasModelConfig {
  class_name: string;
  config: { layers: KerasLayer[]; input_layers: unknown; output_layers: unknown };
}

export interface TfjsModel {
  /**
   * `modelTopology` of a TF.js model.json: Keras's `{ model_config: {...} }` as the
   * converter writes it, or the bare model config as tfjs's own `model.save` writes it.
   */
  topology: ({ model_config: KerasModelConfig } | KerasModelConfig) & Record<string, any>;
  weightSpecs: WeightSpec[];
  /** Concatenated weight shards, as stored (quantized). */
  weightData: Buffer;
}

/** The nsfwjs package folder (resolved from this project's node_modules). */
export function nsfwjsDir(): string {
  // "exports" hides package.json and dist/models, so resolve the main entry and walk up.
  let dir = dirname(require.resolve("nsfwjs"));
  while (!existsSync(join(dir, "package.json")) || JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name !== "nsfwjs") {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("Cannot find the nsfwjs package folder");
    dir = parent;
  }
  return dir;
}

function requireModule(path: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const m = require(path);
  return m && typeof m === "object" && "default" in m ? m.default : m;
}

/**
 * Reads dist/models/mobilenet_v2/model.min.js (the model JSON as a UMD module) and its
 * weight shards group1-shardKofN.min.js (UMD modules whose value is base64 text).
 */
export function readNsfwjsMobilenet(dir = nsfwjsDir()): TfjsModel {
  const modelDir = join(dir, "dist", "models", "mobilenet_v2");
  const json = requireModule(join(modelDir, "model.min.js")) as {
    modelTopology: TfjsModel["topology"];
    weightsManifest: Array<{ paths: string[]; weights: WeightSpec[] }>;
  };
  if (!json?.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new Error(`${modelDir}/model.min.js is not a TF.js LayersModel JSON`);
  }
  const weightSpecs: WeightSpec[] = [];
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const path of group.paths) {
      const b64 = requireModule(join(modelDir, `${path}.min.js`));
      if (typeof b64 !== "string") throw new Error(`${modelDir}/${path}.min.js does not hold base64 text`);
      shards.push(Buffer.from(b64, "base64"));
    }
  }
  return { topology: json.modelTopology, weightSpecs, weightData: Buffer.concat(shards) };
}

export interface Weight {
  shape: number[];
  values: Float32Array;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Decodes weights as TF.js does: consecutive in spec order; uint8/uint16 → v * scale + min. */
export function decodeWeights(specs: WeightSpec[], data: Buffer): Map<string, Weight> {
  const out = new Map<string, Weight>();
  let offset = 0;
  for (const spec of specs) {
    if (spec.dtype !== "float32") throw new Error(`weight ${spec.name}: dtype ${spec.dtype} is not supported`);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    const q = spec.quantization;
    if (!q) {
      for (let i = 0; i < n; i++) values[i] = data.readFloatLE(offset + 4 * i);
      offset += 4 * n;
    } else if (q.dtype === "uint8" || q.dtype === "uint16") {
      if (typeof q.min !== "number" || typeof q.scale !== "number") {
        throw new Error(`weight ${spec.name}: ${q.dtype} quantization without min/scale`);
      }
      const size = q.dtype === "uint8" ? 1 : 2;
      for (let i = 0; i < n; i++) {
        const v = size === 1 ? data[offset + i] : data.readUInt16LE(offset + 2 * i);
        values[i] = v * q.scale + q.min;
      }
      offset += size * n;
    } else if (q.dtype === "float16") {
      for (let i = 0; i < n; i++) values[i] = halfToFloat(data.readUInt16LE(offset + 2 * i));
      offset += 2 * n;
    } else {
      throw new Error(`weight ${spec.name}: quantization ${(q as { dtype: string }).dtype} is not supported`);
    }
    if (offset > data.length) throw new Error(`weight data too short at ${spec.name} (${data.length} bytes)`);
    out.set(spec.name, { shape: spec.shape, values });
  }
  if (offset !== data.length) throw new Error(`weight data has ${data.length - offset} unread bytes`);
  return out;
}

// ---------------------------------------------------------------------------------------
// Keras layers → ONNX nodes

/** A Keras tensor in the ONNX graph: NCHW feature maps ([c, h, w]) or flat vectors ([c]). */
interface Value {
  name: string;
  shape: number[];
  /** A ZeroPadding2D [top, left, bottom, right] not yet applied: folded into the consuming conv. */
  pendingPads?: [number, number, number, number];
}

interface ConvNode {
  layer: string;
  weight: Float32Array; // [out, in/group, kh, kw]
  bias: Float32Array; // [out]
  output: string;
}

export interface ConvertOptions {
  /** Keras layer whose output becomes the graph output. */
  outputLayer: string;
  inputName?: string;
  outputName?: string;
  graphName?: string;
  /** Fold BatchNormalization into the preceding convolution (default true). */
  foldBatchNorm?: boolean;
}

function pair(v: unknown, what: string): [number, number] {
  if (typeof v === "number") return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number")) return [v[0], v[1]];
  throw new Error(`${what}: expected a number or a pair, got ${JSON.stringify(v)}`);
}

/** TF's padding for 'same' (extra padding, if odd, at the end) or 'valid'. [begin, end]. */
export function tfPadding(padding: string, size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  if (padding === "valid") return [0, 0];
  if (padding !== "same") throw new Error(`padding '${padding}' is not supported`);
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

function outSize(size: number, kernel: number, stride: number, padBegin: number, padEnd: number, dilation = 1): number {
  return Math.floor((size + padBegin + padEnd - ((kernel - 1) * dilation + 1)) / stride) + 1;
}

/** Converts a Keras functional model (the layer subset MobileNet-style nets use) to ONNX bytes. */
export function kerasToOnnx(topology: TfjsModel["topology"], weights: Map<string, Weight>, options: ConvertOptions): Uint8Array {
  if (endianness() !== "LE") throw new Error("ONNX raw tensor data is little-endian; this machine is not");
  const inputName = options.inputName ?? "input";
  const outputName = options.outputName ?? "embedding";
  const foldBn = options.foldBatchNorm ?? true;
  const config: KerasModelConfig = "model_config" in topology ? topology.model_config : topology;
  if (config.class_name !== "Model" && config.class_name !== "Functional") {
    throw new Error(`Keras model class ${config.class_name} is not supported (need a functional Model)`);
  }
  const layers = config.config.layers;
  const byName = new Map(layers.map((l) => [l.name, l]));

  const inboundOf = (l: KerasLayer): string[] => {
    if (l.inbound_nodes.length === 0) return [];
    if (l.inbound_nodes.length > 1) throw new Error(`layer ${l.name} is shared (called ${l.inbound_nodes.length} times); not supported`);
    return l.inbound_nodes[0].map(([name, nodeIndex, tensorIndex]) => {
      if (nodeIndex !== 0 || tensorIndex !== 0) throw new Error(`layer ${l.name}: multi-output inputs are not supported`);
      return name;
    });
  };

  // Only the layers the output depends on.
  if (!byName.has(options.outputLayer)) throw new Error(`no layer '${options.outputLayer}' in the model`);
  const needed = new Set<string>();
  const stack = [options.outputLayer];
  while (stack.length) {
    const n = stack.pop()!;
    if (needed.has(n)) continue;
    needed.add(n);
    const l = byName.get(n);
    if (!l) throw new Error(`unknown inbound layer '${n}'`);
    stack.push(...inboundOf(l));
  }
  const order = layers.filter((l) => needed.has(l.name));
  const consumers = new Map<string, string[]>();
  for (const l of order) for (const i of inboundOf(l)) consumers.set(i, [...(consumers.get(i) ?? []), l.name]);
  const isConv = (name: string | undefined) =>
    name !== undefined && ["Conv2D", "DepthwiseConv2D"].includes(byName.get(name)!.class_name);

  const nodes: onnx.INodeProto[] = [];
  const initializers: Array<{ name: string; dims: number[]; values: Float32Array | BigInt64Array }> = [];
  const values = new Map<string, Value>();
  const convs = new Map<string, ConvNode>();
  let inputShape: number[] | null = null;
  let counter = 0;
  const fresh = (base: string) => `${base}__${counter++}`;
  const floatInit = (name: string, dims: number[], v: Float32Array) => {
    initializers.push({ name, dims, values: v });
    return name;
  };
  const int64Init = (name: string, dims: number[], v: number[]) => {
    initializers.push({ name, dims, values: BigInt64Array.from(v.map(BigInt)) });
    return name;
  };
  const weight = (layer: string, key: string): Weight => {
    const w = weights.get(`${layer}/${key}`);
    if (!w) throw new Error(`missing weight ${layer}/${key}`);
    return w;
  };
  const activation = (layer: string, act: string | undefined, x: string, shape: number[]): string => {
    switch (act ?? "linear") {
      case "linear":
        return x;
      case "relu":
      case "sigmoid":
      case "tanh": {
        const y = `${layer}__${act}`;
        nodes.push({ opType: { relu: "Relu", sigmoid: "Sigmoid", tanh: "Tanh" }[act!]!, input: [x], output: [y], name: y });
        return y;
      }
      case "softmax": {
        const y = `${layer}__softmax`;
        nodes.push({ opType: "Softmax", input: [x], output: [y], name: y, attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: shape.length }] });
        return y;
      }
      default:
        throw new Error(`layer ${layer}: activation '${act}' is not supported`);
    }
  };
  const ints = (name: string, v: number[]): onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const int = (name: string, v: number): onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });
  const float = (name: string, v: number): onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v });

  for (const l of order) {
    const c = l.config;
    const ins = inboundOf(l).map((n) => {
      const v = values.get(n);
      if (!v) throw new Error(`layer ${l.name}: input ${n} not converted yet`);
      return v;
    });
    const x = ins[0];
    if (!isConv(l.name) && ins.some((v) => v.pendingPads)) throw new Error(`internal: pending padding reached ${l.name}`);
    if (c.data_format && c.data_format !== "channels_last") throw new Error(`layer ${l.name}: data_format ${c.data_format} is not supported`);

    switch (l.class_name) {
      case "InputLayer": {
        const s = c.batch_input_shape as Array<number | null>;
        if (s.length !== 4 || s.slice(1).some((d) => typeof d !== "number")) {
          throw new Error(`input ${l.name}: need a fixed [N,H,W,C] shape, got ${JSON.stringify(s)}`);
        }
        inputShape = [s[3]!, s[1]!, s[2]!];
        values.set(l.name, { name: inputName, shape: inputShape });
        break;
      }
      case "ZeroPadding2D": {
        let p: [[number, number], [number, number]];
        if (typeof c.padding === "number") p = [[c.padding, c.padding], [c.padding, c.padding]];
        else if (Array.isArray(c.padding) && typeof c.padding[0] === "number") p = [[c.padding[0], c.padding[0]], [c.padding[1], c.padding[1]]];
        else p = c.padding;
        const [[t, b], [left, r]] = p;
        const shape = [x.shape[0], x.shape[1] + t + b, x.shape[2] + left + r];
        const users = consumers.get(l.name) ?? [];
        if (users.some((u) => byName.get(u)!.class_name === "MaxPooling2D")) {
          // onnxruntime (1.31) fuses a zero Pad into a following MaxPool and then pads with
          // -inf, which changes the result wherever the window's maximum would be a padded 0.
          throw new Error(`layer ${l.name}: ZeroPadding2D feeding MaxPooling2D is not supported (onnxruntime's Pad fusion would change its result)`);
        }
        if (users.length === 1 && isConv(users[0])) {
          values.set(l.name, { name: x.name, shape, pendingPads: [t, left, b, r] });
        } else {
          const y = l.name;
          const pads = int64Init(fresh(`${l.name}_pads`), [8], [0, 0, t, left, 0, 0, b, r]);
          nodes.push({ opType: "Pad", input: [x.name, pads], output: [y], name: l.name, attribute: [{ name: "mode", type: onnx.AttributeProto.AttributeType.STRING, s: Buffer.from("constant") }] });
          values.set(l.name, { name: y, shape });
        }
        break;
      }
      case "Conv2D":
      case "DepthwiseConv2D": {
        if (x.shape.length !== 3) throw new Error(`layer ${l.name}: input must be a feature map`);
        const depthwise = l.class_name === "DepthwiseConv2D";
        const [kh, kw] = pair(c.kernel_size, `${l.name}.kernel_size`);
        const [sh, sw] = pair(c.strides ?? 1, `${l.name}.strides`);
        const [dh, dw] = pair(c.dilation_rate ?? 1, `${l.name}.dilation_rate`);
        const [cin, hin, win] = x.shape;
        // Keras pads against the (already zero-padded) input; the explicit zero padding adds to it.
        const [pt, pb] = tfPadding(c.padding, hin, kh, sh, dh);
        const [pl, pr] = tfPadding(c.padding, win, kw, sw, dw);
        const extra = x.pendingPads ?? [0, 0, 0, 0];
        const pads = [pt + extra[0], pl + extra[1], pb + extra[2], pr + extra[3]];
        const hout = outSize(hin, kh, sh, pt, pb, dh);
        const wout = outSize(win, kw, sw, pl, pr, dw);
        // Input to ONNX is the unpadded tensor when padding was folded in.
        let weightOnnx: Float32Array;
        let cout: number;
        let group = 1;
        if (depthwise) {
          const k = weight(l.name, "depthwise_kernel"); // [kh, kw, cin, dm]
          const dm = c.depth_multiplier ?? 1;
          if (k.shape.join() !== [kh, kw, cin, dm].join()) throw new Error(`layer ${l.name}: kernel shape ${k.shape} ≠ ${[kh, kw, cin, dm]}`);
          cout = cin * dm;
          group = cin;
          weightOnnx = new Float32Array(cout * kh * kw);
          for (let y = 0; y < kh; y++)
            for (let xx = 0; xx < kw; xx++)
              for (let ci = 0; ci < cin; ci++)
                for (let m = 0; m < dm; m++) {
                  weightOnnx[((ci * dm + m) * kh + y) * kw + xx] = k.values[((y * kw + xx) * cin + ci) * dm + m];
                }
        } else {
          const k = weight(l.name, "kernel"); // [kh, kw, cin, cout]
          cout = c.filters;
          if (k.shape.join() !== [kh, kw, cin, cout].join()) throw new Error(`layer ${l.name}: kernel shape ${k.shape} ≠ ${[kh, kw, cin, cout]}`);
          weightOnnx = new Float32Array(cout * cin * kh * kw);
          for (let y = 0; y < kh; y++)
            for (let xx = 0; xx < kw; xx++)
              for (let ci = 0; ci < cin; ci++)
                for (let co = 0; co < cout; co++) {
                  weightOnnx[((co * cin + ci) * kh + y) * kw + xx] = k.values[((y * kw + xx) * cin + ci) * cout + co];
                }
        }
        const bias = c.use_bias ? Float32Array.from(weight(l.name, "bias").values) : new Float32Array(cout);
        const conv: ConvNode = { layer: l.name, weight: weightOnnx, bias, output: `${l.name}__conv` };
        convs.set(conv.output, conv);
        nodes.push({
          opType: "Conv",
          name: l.name,
          input: [x.name, `${l.name}/W`, `${l.name}/B`],
          output: [conv.output],
          attribute: [ints("kernel_shape", [kh, kw]), ints("strides", [sh, sw]), ints("dilations", [dh, dw]), ints("pads", pads), int("group", group)],
        });
        const shape = [cout, hout, wout];
        values.set(l.name, { name: activation(l.name, c.activation, conv.output, shape), shape });
        break;
      }
      case "BatchNormalization": {
        const axis = c.axis;
        if (!(axis === -1 || axis === 3 || (x.shape.length === 1 && axis === 1))) throw new Error(`layer ${l.name}: axis ${axis} is not supported`);
        const ch = x.shape[0];
        const gamma = c.scale === false ? new Float32Array(ch).fill(1) : weight(l.name, "gamma").values;
        const beta = c.center === false ? new Float32Array(ch) : weight(l.name, "beta").values;
        const mean = weight(l.name, "moving_mean").values;
        const variance = weight(l.name, "moving_variance").values;
        const eps = c.epsilon ?? 1e-3;
        const conv = convs.get(x.name);
        const producer = inboundOf(l)[0];
        if (foldBn && conv && (consumers.get(producer) ?? []).length === 1) {
          // y = gamma * (W*x + b - mean) / sqrt(var + eps) + beta, per output channel.
          const per = conv.weight.length / ch;
          for (let o = 0; o < ch; o++) {
            const s = gamma[o] / Math.sqrt(variance[o] + eps);
            for (let i = 0; i < per; i++) conv.weight[o * per + i] *= s;
            conv.bias[o] = (conv.bias[o] - mean[o]) * s + beta[o];
          }
          values.set(l.name, { name: x.name, shape: x.shape });
        } else {
          const y = l.name;
          nodes.push({
            opType: "BatchNormalization",
            name: l.name,
            input: [x.name, ...(["gamma", "beta", "mean", "var"] as const).map((k, i) => floatInit(`${l.name}/${k}`, [ch], Float32Array.from([gamma, beta, mean, variance][i])))],
            output: [y],
            attribute: [float("epsilon", eps)],
          });
          values.set(l.name, { name: y, shape: x.shape });
        }
        break;
      }
      case "ReLU": {
        if ((c.negative_slope ?? 0) !== 0 || (c.threshold ?? 0) !== 0) throw new Error(`layer ${l.name}: ReLU with negative_slope/threshold is not supported`);
        const y = l.name;
        if (c.max_value === null || c.max_value === undefined) {
          nodes.push({ opType: "Relu", name: l.name, input: [x.name], output: [y] });
        } else {
          const lo = floatInit(fresh(`${l.name}_min`), [], Float32Array.of(0));
          const hi = floatInit(fresh(`${l.name}_max`), [], Float32Array.of(c.max_value));
          nodes.push({ opType: "Clip", name: l.name, input: [x.name, lo, hi], output: [y] });
        }
        values.set(l.name, { name: y, shape: x.shape });
        break;
      }
      case "Activation": {
        values.set(l.name, { name: activation(l.name, c.activation, x.name, x.shape), shape: x.shape });
        break;
      }
      case "Add": {
        if (ins.some((v) => v.shape.join() !== x.shape.join())) throw new Error(`layer ${l.name}: inputs differ in shape`);
        let acc = x.name;
        for (let i = 1; i < ins.length; i++) {
          const y = i === ins.length - 1 ? l.name : fresh(l.name);
          nodes.push({ opType: "Add", name: y, input: [acc, ins[i].name], output: [y] });
          acc = y;
        }
        values.set(l.name, { name: acc, shape: x.shape });
        break;
      }
      case "AveragePooling2D":
      case "MaxPooling2D": {
        const [kh, kw] = pair(c.pool_size, `${l.name}.pool_size`);
        const [sh, sw] = pair(c.strides ?? c.pool_size, `${l.name}.strides`);
        const [, hin, win] = x.shape;
        const [pt, pb] = tfPadding(c.padding, hin, kh, sh);
        const [pl, pr] = tfPadding(c.padding, win, kw, sw);
        const y = l.name;
        const attrs = [ints("kernel_shape", [kh, kw]), ints("strides", [sh, sw]), ints("pads", [pt, pl, pb, pr])];
        // TF's average ignores the padded cells.
        if (l.class_name === "AveragePooling2D") attrs.push(int("count_include_pad", 0));
        nodes.push({ opType: l.class_name === "AveragePooling2D" ? "AveragePool" : "MaxPool", name: y, input: [x.name], output: [y], attribute: attrs });
        values.set(l.name, { name: y, shape: [x.shape[0], outSize(hin, kh, sh, pt, pb), outSize(win, kw, sw, pl, pr)] });
        break;
      }
      case "GlobalAveragePooling2D":
      case "GlobalMaxPooling2D": {
        const pooled = fresh(l.name);
        nodes.push({ opType: l.class_name === "GlobalAveragePooling2D" ? "GlobalAveragePool" : "GlobalMaxPool", name: pooled, input: [x.name], output: [pooled] });
        nodes.push({ opType: "Flatten", name: l.name, input: [pooled], output: [l.name], attribute: [int("axis", 1)] });
        values.set(l.name, { name: l.name, shape: [x.shape[0]] });
        break;
      }
      case "Flatten": {
        if (x.shape.length === 1) {
          values.set(l.name, x);
          break;
        }
        let src = x.name;
        if (x.shape[1] !== 1 || x.shape[2] !== 1) {
          // Keras flattens channels-last (h, w, c): transpose back before flattening.
          src = fresh(`${l.name}_nhwc`);
          nodes.push({ opType: "Transpose", name: src, input: [x.name], output: [src], attribute: [ints("perm", [0, 2, 3, 1])] });
        }
        nodes.push({ opType: "Flatten", name: l.name, input: [src], output: [l.name], attribute: [int("axis", 1)] });
        values.set(l.name, { name: l.name, shape: [x.shape.reduce((a, b) => a * b, 1)] });
        break;
      }
      case "Dense": {
        if (x.shape.length !== 1) throw new Error(`layer ${l.name}: Dense on a feature map is not supported`);
        const k = weight(l.name, "kernel"); // [in, out]
        const units = c.units;
        const b = c.use_bias ? weight(l.name, "bias").values : new Float32Array(units);
        const w = floatInit(`${l.name}/W`, [x.shape[0], units], Float32Array.from(k.values));
        const bb = floatInit(`${l.name}/B`, [units], Float32Array.from(b));
        const y = `${l.name}__gemm`;
        nodes.push({ opType: "Gemm", name: l.name, input: [x.name, w, bb], output: [y] });
        values.set(l.name, { name: activation(l.name, c.activation, y, [units]), shape: [units] });
        break;
      }
      case "Dropout":
        values.set(l.name, x);
        break;
      default:
        throw new Error(`layer ${l.name}: Keras layer ${l.class_name} is not supported`);
    }
  }

  for (const conv of convs.values()) {
    const cout = conv.bias.length;
    const node = nodes.find((n) => n.name === conv.layer)!;
    const per = conv.weight.length / cout;
    const [kh, kw] = node.attribute!.find((a) => a.name === "kernel_shape")!.ints!.map(Number);
    floatInit(`${conv.layer}/W`, [cout, per / (kh * kw), kh, kw], conv.weight);
    floatInit(`${conv.layer}/B`, [cout], conv.bias);
  }

  const out = values.get(options.outputLayer)!;
  nodes.push({ opType: "Identity", name: outputName, input: [out.name], output: [outputName] });
  const tensorType = (dims: Array<number | string>): onnx.ITypeProto => ({
    tensorType: {
      elemType: onnx.TensorProto.DataType.FLOAT,
      shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: "brain-ts scripts/convertMobilenet.ts",
    graph: {
      name: options.graphName ?? "keras",
      node: nodes,
      initializer: initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: t.values instanceof Float32Array ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
        rawData: new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength),
      })),
      input: [{ name: inputName, type: tensorType(["N", ...inputShape!]) }],
      output: [{ name: outputName, type: tensorType(["N", ...out.shape]) }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

// ---------------------------------------------------------------------------------------
// The default model: files and manifest

export interface ConvertResult {
  modelPath: string;
  manifestPath: string;
  manifest: ModelManifest;
}


export function defaultModelDir(): string {
  return join(projectRoot(), ".cache", "models");
}

/** Converts nsfwjs's MobileNetV2 up to flatten_1 and writes the ONNX file and its manifest into outDir. */
export function convertNsfwjsMobilenet(outDir = defaultModelDir()): ConvertResult {
  const pkgDir = nsfwjsDir();
  const version = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")).version as string;
  const tf = readNsfwjsMobilenet(pkgDir);
  const bytes = kerasToOnnx(tf.topology, decodeWeights(tf.weightSpecs, tf.weightData), {
    outputLayer: "flatten_1",
    inputName: "input",
    outputName: "embedding",
    graphName: DEFAULT_MODEL_NAME,
  });
  const file = `${DEFAULT_MODEL_NAME}.onnx`;
  const manifest: ModelManifest = {
    name: DEFAULT_MODEL_NAME,
    file,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    input: {
      name: "input",
      layout: "NCHW",
      channels: "RGB",
      height: 224,
      width: 224,
      resize: "fill",
      // Antialiased bilinear: the same pixels as PIL's BILINEAR resize (within rounding).
      interpolation: "linear",
      scale: 1 / 255,
      mean: [0, 0, 0],
      std: [1, 1, 1],
    },
    output: { name: "embedding", dim: 1280 },
    source: {
      package: `nsfwjs@${version}`,
      model: "MobileNetV2 (TF.js LayersModel, uint8-quantized weights), fine-tuned by nsfwjs on 5 NSFW classes",
      layer: "flatten_1 (7x7 average pool of out_relu)",
      converter: "scripts/convertMobilenet.ts (BatchNormalization folded into Conv, ZeroPadding2D folded into Conv pads)",
      opset: OPSET,
    },
  };
  mkdirSync(outDir, { recursive: true });
  const modelPath = join(outDir, file);
  const manifestPath = join(outDir, `${DEFAULT_MODEL_NAME}.json`);
  // Write then rename, so a reader never sees half a file.
  writeFileSync(`${modelPath}.tmp`, bytes);
  renameSync(`${modelPath}.tmp`, modelPath);
  writeFileSync(`${manifestPath}.tmp`, JSON.stringify(manifest, null, 2) + "\n");
  renameSync(`${manifestPath}.tmp`, manifestPath);
  return { modelPath, manifestPath, manifest };
}

/** True when the model and manifest exist and are newer than the nsfwjs package and `inputs`. */
export function isUpToDate(outDir: string, inputs: string[] = []): boolean {
  const files = [join(outDir, `${DEFAULT_MODEL_NAME}.onnx`), join(outDir, `${DEFAULT_MODEL_NAME}.json`)];
  if (!files.every(existsSync)) return false;
  const oldest = Math.min(...files.map((f) => statSync(f).mtimeMs));
  const sources = [join(nsfwjsDir(), "package.json"), ...inputs].filter(existsSync);
  return sources.every((s) => statSync(s).mtimeMs < oldest);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf("--out");
  const outDir = outIndex >= 0 ? args[outIndex + 1] : defaultModelDir();
  const source = join(projectRoot(), "scripts", "convertMobilenet.ts");
  if (!args.includes("--force") && isUpToDate(outDir, [source])) {
    console.log(`${outDir}/${DEFAULT_MODEL_NAME}.onnx is up to date`);
  } else {
    const t0 = Date.now();
    const r = convertNsfwjsMobilenet(outDir);
    console.log(`wrote ${r.modelPath} (${(statSync(r.modelPath).size / 1e6).toFixed(1)} MB, sha256 ${(r.manifest.sha256 ?? "").slice(0, 12)}…) in ${Date.now() - t0} ms`);
  }
}

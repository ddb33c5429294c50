// Jest's node environment runs tests in their own realm, with their own typed-array
// constructors. onnxruntime-node's native code returns outputs as typed arrays of Node's
// main realm, and onnxruntime-common then rejects them ("A float32 tensor's data must be
// type of function Float32Array()"). Tests therefore use the main realm's typed arrays.
const { TestEnvironment } = require("jest-environment-node");

const SHARED = [
  "ArrayBuffer", "SharedArrayBuffer", "DataView",
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
  "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
];

class SharedTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) if (globalThis[name]) this.global[name] = globalThis[name];
  }
}

module.exports = SharedTypedArraysEnvironment;

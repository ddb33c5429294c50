import { validateBrainKey } from "../../src/errors";
import { parseArgs } from "../../src/cli/main";

describe("validateBrainKey (spec P.11)", () => {
  it.each(["uniqueness2", "_x", "exact_duplicates"])("accepts %s", (key) => expect(validateBrainKey(key)).toBeNull());
  it.each(["my-key", "2x", "", "class", "a b"])("rejects %p", (key) => expect(validateBrainKey(key)).toMatch(/brain key/i));
});

describe("CLI arguments", () => {
  it("parses a method, dataset, params and flags", () => {
    const args = parseArgs(["compute_exact_duplicates", "--dataset", "d", "--param", "brain_key=dups", "--param", "num_workers=4", "--json"]);
    expect(args).toMatchObject({ method: "compute_exact_duplicates", dataset: "d", json: true, params: { brain_key: "dups", num_workers: 4 } });
  });
  it("requires a dataset and rejects unknown options", () => {
    expect(() => parseArgs(["compute_exact_duplicates"])).toThrow(/--dataset is required/);
    expect(() => parseArgs(["x", "--dataset", "d", "--nope"])).toThrow(/Unknown option '--nope'/);
  });
});

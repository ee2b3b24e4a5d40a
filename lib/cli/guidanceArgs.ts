// The guidance flags shared by `generate` and `chat`.
import type { GuidanceOptions } from "../guidance.js";
import { GUIDANCE_MODES, SCORE_KINDS, isOneOf, listOf } from "../vocabulary.js";
import { intOption, numberOption, UsageError } from "./args.js";

export const guidanceFlags = {
  gate: { type: "string" },
  steer: { type: "string" },
  alpha: { type: "string" },
  "alpha-relative": { type: "string" },
  layers: { type: "string" },
  "gate-layers": { type: "string" },
  "extra-gate": { type: "string", multiple: true },
  score: { type: "string" },
  threshold: { type: "string" },
  mode: { type: "string" },
  refusal: { type: "string" },
} as const;

export const guidanceHelp = `Guidance (InferAligner):
  --gate <file>           the target model's vector file (from extract): enables guidance
  --steer <file>          the aligned model's vector file (default: --gate, the self mode)
  --alpha <a>             steering strength: unit vector x a
  --alpha-relative <r>    steering strength: r x the layer's mean activation norm (default: the steer file's calibrated one, else 0.05)
  --layers <a-b>          steered blocks, inclusive (default: the steer file's suggestion)
  --gate-layers <l,...|auto>  gate blocks; several vote (default auto: the gate file's suggestion)
  --extra-gate <file>     a further gate file of the target (e.g. from extract --templates), read at
                          its suggested layer and threshold; the gate opens when any gate opens
                          (repeatable)
  --score ${SCORE_KINDS.join("|")}   gate score (default cosine)
  --threshold <t>         gate threshold for every gate layer (default: the file's calibrated one;
                          inf / -inf force the gate; a negative value needs =, e.g. --threshold=-0.7)
  --mode ${GUIDANCE_MODES.join("|")}   (default steer)
  --refusal <text>        the answer of refuse mode
`;

type Values = { [K in Exclude<keyof typeof guidanceFlags, "extra-gate">]?: string | undefined } & { "extra-gate"?: string[] | undefined };

function parseLayers(flag: string, text: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(text.trim());
  if (range) return [Number(range[1]), Number(range[2])];
  const one = /^\d+$/.exec(text.trim());
  if (one) return [Number(text), Number(text)];
  throw new UsageError(`${flag} expects a range a-b (inclusive) or one block, got '${text}'`);
}

export function guidanceFromFlags(values: Values): GuidanceOptions | undefined {
  if (values.gate === undefined) {
    for (const key of Object.keys(guidanceFlags)) {
      if ((values as Record<string, unknown>)[key] !== undefined) throw new UsageError(`--${key} needs --gate <vector file>`);
    }
    return undefined;
  }
  if (values.alpha !== undefined && values["alpha-relative"] !== undefined) throw new UsageError("give --alpha or --alpha-relative, not both");
  const g: GuidanceOptions = { gate: values.gate };
  if (values.steer !== undefined) g.steer = values.steer;
  const alpha = numberOption("--alpha", values.alpha);
  if (alpha !== undefined) g.alpha = alpha;
  const relative = numberOption("--alpha-relative", values["alpha-relative"]);
  if (relative !== undefined) g.alphaRelative = relative;
  if (values.layers !== undefined) g.layers = parseLayers("--layers", values.layers) as [number, number];
  if (values["extra-gate"] !== undefined) g.extraGates = values["extra-gate"];
  if (values["gate-layers"] !== undefined && values["gate-layers"] !== "auto") {
    g.gateLayers = values["gate-layers"].split(",").map((x) => {
      const n = intOption("--gate-layers", x.trim());
      if (n === undefined) throw new UsageError("--gate-layers expects block numbers");
      return n;
    });
  }
  if (values.score !== undefined) {
    if (!isOneOf(SCORE_KINDS, values.score)) throw new UsageError(`--score is ${listOf(SCORE_KINDS)}`);
    g.score = values.score;
  }
  if (values.threshold !== undefined) {
    const t = values.threshold === "-inf" ? -Infinity : values.threshold === "inf" ? Infinity : numberOption("--threshold", values.threshold);
    g.threshold = t!;
  }
  if (values.mode !== undefined) {
    if (!isOneOf(GUIDANCE_MODES, values.mode)) throw new UsageError(`--mode is ${listOf(GUIDANCE_MODES)}`);
    g.mode = values.mode;
  }
  if (values.refusal !== undefined) g.refusal = values.refusal;
  return g;
}

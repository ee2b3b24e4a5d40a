// The calibration and validation sets that `inferaligner extract`'s flags name: prompt files, the
// built-in sets, several joined, or templates filled with either.
import { builtinPromptSet, BUILTIN_MATERIAL_VERSION, BUILTIN_PROMPTS_VERSION } from "../data/builtinPrompts.js";
import { checkTemplates, fillEachTemplate, TEMPLATE_SLOT } from "../promptTemplates.js";
import { loadPromptSet } from "../prompts.js";
import { UsageError, positiveIntOption, reportLeftOut } from "./args.js";

/** The flags this module reads (parsed by the extract command). */
export interface ExtractionSetFlags {
  harmful?: string[] | undefined;
  harmless?: string[] | undefined;
  "val-harmful"?: string[] | undefined;
  "val-harmless"?: string[] | undefined;
  limit?: string | undefined;
  "val-limit"?: string | undefined;
  field?: string | undefined;
  templates?: string | undefined;
  "val-templates"?: string | undefined;
  "template-gate"?: string | undefined;
  placeholder?: string | undefined;
}

/** A prompt list and where it came from (files, the built-in set, or both). */
type LoadedSet = { prompts: string[]; source: string };
/** The name that stands for the package's built-in set in --harmful, --harmless and --val-*. */
const BUILTIN_SET = "builtin";

/** The calibration and validation sets the flags name: files, built-in sets, or templates filled with either. */
export function extractionSets(values: ExtractionSetFlags) {
  if ((values["val-harmful"] === undefined) !== (values["val-harmless"] === undefined)) {
    throw new UsageError("give both --val-harmful and --val-harmless, or neither");
  }
  const calibrationLimit = positiveIntOption("--limit", values.limit);
  const validationLimit = positiveIntOption("--val-limit", values["val-limit"]);
  const load = (files: string[] | undefined, kind: "harmful" | "harmless", split: "train" | "validation"): LoadedSet => {
    const limit = split === "train" ? calibrationLimit : validationLimit;
    const one = (file: string): LoadedSet => {
      if (file === BUILTIN_SET) {
        const prompts = builtinPromptSet(kind, split);
        return { prompts: limit ? prompts.slice(0, limit) : prompts, source: `builtin-v${BUILTIN_PROMPTS_VERSION}:${kind}/${split}` };
      }
      const set = loadPromptSet(file, { ...(values.field ? { field: values.field } : {}), ...(limit ? { limit } : {}) });
      reportLeftOut(set);
      return { prompts: set.prompts, source: file };
    };
    const parts = (files ?? [BUILTIN_SET]).map(one);
    return { prompts: parts.flatMap((p) => p.prompts), source: parts.map((p) => p.source).join(" + ") };
  };
  const harmful = load(values.harmful, "harmful", "train");
  const harmless = load(values.harmless, "harmless", "train");
  // Built-in validation prompts go with built-in calibration prompts only.
  const builtinCalibration = values.harmful === undefined && values.harmless === undefined;
  const withValidation = values["val-harmful"] !== undefined || builtinCalibration;
  const valHarmful = withValidation ? load(values["val-harmful"], "harmful", "validation") : undefined;
  const valHarmless = withValidation ? load(values["val-harmless"], "harmless", "validation") : undefined;
  if (values["val-templates"] !== undefined && !withValidation) throw new UsageError("--val-templates needs validation sets");
  const slot = values.placeholder ?? TEMPLATE_SLOT;
  const kind = templateGateOption(values["template-gate"]);
  if (values["template-gate"] !== undefined && values.templates === undefined) throw new UsageError("--template-gate needs --templates");
  fillTemplates(values.templates, [harmful, harmless], { slot, field: values.field, kind, validation: false });
  if (valHarmful && valHarmless) fillTemplates(values["val-templates"], [valHarmful, valHarmless], { slot, field: values.field, kind, validation: true });
  return { harmful, harmless, valHarmful, valHarmless };
}

type TemplateGate = "contrast" | "attack";

function templateGateOption(text: string | undefined): TemplateGate {
  if (text === undefined || text === "contrast" || text === "attack") return text ?? "contrast";
  throw new UsageError(`--template-gate is contrast or attack, not ${text}`);
}

/**
 * Fills the templates of `file` with a pair of sets, each template once per class; the harmless
 * prompts are taken from the other end of the list so that a template's two fillings are unrelated
 * requests. contrast: each class becomes its filled templates (validation keeps the bare harmless
 * prompts too, so the threshold also keeps plain requests closed). attack: the harmful class becomes
 * both classes' filled templates and the harmless class the bare harmless prompts plus the built-in
 * wrapped-material prompts of the same split: without them the gate learns "a block of text inside
 * an instruction" and opens on every function stub a code model is asked to complete.
 */
function fillTemplates(
  file: string | undefined,
  [bad, good]: [LoadedSet, LoadedSet],
  o: { slot: string; field: string | undefined; kind: TemplateGate; validation: boolean },
): void {
  if (file === undefined) return;
  const templates = loadPromptSet(file, o.field ? { field: o.field } : {}).prompts;
  checkTemplates(templates, o.slot, file);
  const filledBad = fillEachTemplate(templates, bad.prompts, o.slot);
  const filledGood = fillEachTemplate(templates, [...good.prompts].reverse(), o.slot);
  const filled = `${templates.length} templates of ${file} filled from`;
  if (o.kind === "attack") {
    bad.source = `${filled} ${bad.source} and ${good.source}`;
    bad.prompts = [...filledBad, ...filledGood];
    const split = o.validation ? "validation" : "train";
    good.prompts = [...good.prompts, ...builtinPromptSet("material", split)];
    good.source = `${good.source} and builtin-material-v${BUILTIN_MATERIAL_VERSION}/${split}`;
    return;
  }
  bad.prompts = filledBad;
  good.prompts = [...filledGood, ...(o.validation ? good.prompts : [])];
  bad.source = `${filled} ${bad.source}`;
  good.source = `${filled} ${good.source}${o.validation ? " (and the bare prompts)" : ""}`;
}

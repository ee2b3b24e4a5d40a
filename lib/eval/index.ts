// `inferaligner/eval`: measuring guidance: evaluation sets, judges, code tasks, the run, its report,
// and the calibration of the steering strength.
export { buildEvalItems, itemKey, EVAL_SETS, JAILBREAK_PLACEHOLDER, type EvalItem, type EvalSetName, type EvalSetsOptions } from "./items.js";
export {
  KeywordJudge,
  ModelJudge,
  DEFAULT_REFUSAL_MARKERS,
  modelJudgePrompt,
  parseJudgeVerdict,
  readRefusalMarkers,
  type Verdict,
  type JudgeName,
} from "./judges.js";
export { readCodeTasks, codeTaskPrompt, extractCode, testProgram, runCodeTask, networkIsolation, type CodeTask, type ExecutionResult } from "./utility.js";
export { repeatedTrigramCoverage, isDegenerate, DEGENERATE_COVERAGE } from "./degeneration.js";
export { rate, wilsonInterval, formatRate, type Rate } from "./rates.js";
export {
  runEval,
  readRecords,
  readFinishedRun,
  type EvalRecord,
  type EvalRunConfig,
  type EvalConfigName,
  type EvalProgress,
  type EvalRunIdentity,
  type RunEvalOptions,
} from "./runEval.js";
export { EVAL_MODES, type EvalMode } from "../vocabulary.js";
export { computeReport, renderMarkdown, renderHtml, writeReport } from "./report.js";
export type { EvalReport, ConfigMetrics, GateMetrics, JudgeInfo } from "./reportTypes.js";
export { calibrateSteering, type CalibrateOptions, type CalibrationResult, type CalibrationRow, type CalibrationSetting } from "./calibrate.js";

// The error type of the package. Every engine failure is a LlamaError with a stable `code`
// (the table lives in native/errors.cpp; this union mirrors it). Misuse of the API throws
// TypeError/RangeError synchronously instead.

/** Stable error codes. `status` holds llama.cpp's raw return value where there was one. */
export type LlamaErrorCode =
  | "ERR_MODEL_NOT_FOUND"
  | "ERR_MODEL_INVALID"
  | "ERR_MODEL_UNSUPPORTED"
  | "ERR_MODEL_LOAD"
  | "ERR_CONTEXT_CREATE"
  | "ERR_CONTEXT_OVERFLOW"
  | "ERR_CONTEXT_BUSY"
  | "ERR_DISPOSED"
  | "ERR_DECODE_NO_KV_SLOT"
  | "ERR_DECODE_FAILED"
  | "ERR_ABORTED"
  | "ERR_INVALID_ARGUMENT"
  | "ERR_TEMPLATE"
  | "ERR_NUMERIC"
  | "ERR_VECTOR_FILE"
  | "ERR_VECTOR_MISMATCH"
  | "ERR_BINDING"
  | "ERR_GPU_UNAVAILABLE"
  | "ERR_INTERNAL";

export class LlamaError extends Error {
  readonly code: LlamaErrorCode;
  /** llama.cpp's return code, when the failure came from a llama.cpp call (0 otherwise). */
  readonly status: number;

  constructor(message: string, code: LlamaErrorCode, status = 0, options?: ErrorOptions) {
    super(message, options);
    this.name = code === "ERR_ABORTED" ? "AbortError" : "LlamaError";
    this.code = code;
    this.status = status;
  }
}

/** Thrown when an object is used after `dispose()`. */
export function disposedError(what: string): LlamaError {
  return new LlamaError(`the ${what} has been disposed`, "ERR_DISPOSED");
}

/**
 * Native errors carry no JS stack of the caller; give them the stack captured at the call site so
 * that a failure points at user code.
 */
export function withCallSite<T>(promise: Promise<T>, callSite: Error): Promise<T> {
  return promise.catch((error: unknown) => {
    if (error instanceof Error && callSite.stack) {
      const lines = callSite.stack.split("\n").slice(1).join("\n");
      error.stack = `${error.name}: ${error.message}\n${lines}`;
    }
    throw error;
  });
}

/** Rejection of a generation stopped by its AbortSignal; `partial` holds what was generated. */
export class GenerationAbortedError<Partial = unknown> extends LlamaError {
  readonly partial: Partial | undefined;

  constructor(message: string, partial?: Partial, options?: ErrorOptions) {
    super(message, "ERR_ABORTED", 2, options);
    this.partial = partial;
  }
}

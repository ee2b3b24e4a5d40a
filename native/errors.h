// The error-code table: every failure that reaches JS carries one of these codes (mirrored in
// lib/errors.ts as the LlamaErrorCode union) and, where llama.cpp returned one, its raw status.
//
// Every throw goes through this file: on the JS thread ThrowError (a LlamaError) or
// ThrowTypeError/ThrowRangeError (misuse: a TypeError/RangeError with code ERR_INVALID_ARGUMENT);
// on worker threads `throw AddonError` (or DecodeError, which makes one), which PromiseWorker turns
// into a LlamaError. A throw outside these paths would reach JS without a code. This lists none:
// clang-format off
//   grep -rnE 'Napi::(Type|Range)?Error::New|Napi::Error\(|ThrowAsJavaScriptException|SetError\(|\bthrow\b' native |
//     grep -vE '^native/errors\.cpp:|:[0-9]+: *//|throw (AddonError|DecodeError)\(|throw;|failure_\.Capture|listenerError_'
// clang-format on
// (errors.cpp builds the coded errors; `throw;` rethrows one; failure_.Capture is PromiseWorker's
// coded rejection; listenerError_ is a JS listener's own error, passed through unchanged.)
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

namespace inferaligner {

enum class ErrorCode {
  ModelNotFound,     // the model path does not exist or cannot be read
  ModelInvalid,      // not a GGUF file, truncated, or corrupt
  ModelUnsupported,  // a GGUF whose architecture this llama.cpp does not implement
  ModelLoad,         // llama.cpp refused the model for another reason
  ContextCreate,     // llama_init_from_model failed (memory, bad sizes)
  ContextOverflow,   // the prompt does not fit in the context
  ContextBusy,       // another operation is running on this context
  Disposed,          // the object was disposed
  DecodeNoKvSlot,    // llama_decode returned 1
  DecodeFailed,      // llama_decode returned < 0 or another error
  Aborted,           // stopped by an AbortSignal
  InvalidArgument,   // a bad value that got past the TS validation
  Template,          // chat template could not be applied
  Numeric,           // the model computed non-finite logits (NaN weights, a huge steering shift)
  Internal,          // a bug: an exception we did not expect
};

const char* ErrorCodeName(ErrorCode code);

// Thrown on worker threads; converted to a JS error on the main thread.
class AddonError : public std::runtime_error {
 public:
  AddonError(ErrorCode code, const std::string& message, int status = 0)
      : std::runtime_error(message), code(code), status(status) {}
  ErrorCode code;
  int status;
};

// Registers the JS error class (LlamaError) that MakeError instantiates.
void SetErrorClass(Napi::Env env, Napi::Function ctor);
Napi::Error MakeError(Napi::Env env, ErrorCode code, const std::string& message, int status = 0);
[[noreturn]] void ThrowError(Napi::Env env, ErrorCode code, const std::string& message);
// Misuse that got past the TS validation (a wrong type; a value out of range): the error class the
// style asks for, with code ERR_INVALID_ARGUMENT so that it is coded like every other.
[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowRangeError(Napi::Env env, const std::string& message);

}  // namespace inferaligner

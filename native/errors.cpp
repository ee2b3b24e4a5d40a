// The error-code table and the bridge to the JS LlamaError class.
#include "errors.h"

#include "AddonState.h"

namespace inferaligner {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::ModelNotFound: return "ERR_MODEL_NOT_FOUND";
    case ErrorCode::ModelInvalid: return "ERR_MODEL_INVALID";
    case ErrorCode::ModelUnsupported: return "ERR_MODEL_UNSUPPORTED";
    case ErrorCode::ModelLoad: return "ERR_MODEL_LOAD";
    case ErrorCode::ContextCreate: return "ERR_CONTEXT_CREATE";
    case ErrorCode::ContextOverflow: return "ERR_CONTEXT_OVERFLOW";
    case ErrorCode::ContextBusy: return "ERR_CONTEXT_BUSY";
    case ErrorCode::Disposed: return "ERR_DISPOSED";
    case ErrorCode::DecodeNoKvSlot: return "ERR_DECODE_NO_KV_SLOT";
    case ErrorCode::DecodeFailed: return "ERR_DECODE_FAILED";
    case ErrorCode::Aborted: return "ERR_ABORTED";
    case ErrorCode::InvalidArgument: return "ERR_INVALID_ARGUMENT";
    case ErrorCode::Template: return "ERR_TEMPLATE";
    case ErrorCode::Numeric: return "ERR_NUMERIC";
    case ErrorCode::Internal: return "ERR_INTERNAL";
  }
  return "ERR_INTERNAL";
}

void SetErrorClass(Napi::Env env, Napi::Function ctor) { AddonState::Get(env).errorClass = Napi::Persistent(ctor); }

Napi::Error MakeError(Napi::Env env, ErrorCode code, const std::string& message, int status) {
  auto& ctorRef = AddonState::Get(env).errorClass;
  Napi::Object error;
  if (!ctorRef.IsEmpty()) {
    error = ctorRef.New(
        {Napi::String::New(env, message), Napi::String::New(env, ErrorCodeName(code)), Napi::Number::New(env, status)});
  } else {
    error = Napi::Error::New(env, message).Value();
    error.Set("code", ErrorCodeName(code));
    error.Set("status", status);
  }
  return Napi::Error(env, error);
}

void ThrowError(Napi::Env env, ErrorCode code, const std::string& message) { throw MakeError(env, code, message); }

namespace {
Napi::Error Misuse(Napi::Error error) {
  error.Value().Set("code", ErrorCodeName(ErrorCode::InvalidArgument));
  return error;
}
}  // namespace

void ThrowTypeError(Napi::Env env, const std::string& message) { throw Misuse(Napi::TypeError::New(env, message)); }

void ThrowRangeError(Napi::Env env, const std::string& message) { throw Misuse(Napi::RangeError::New(env, message)); }

}  // namespace inferaligner

// Base classes for work that runs off the JS thread and settles a Promise.
// Run() executes on a libuv worker thread and must not touch Napi; it reports failure by throwing
// AddonError. Resolve() runs on the JS thread and builds the result. The JS object the work
// belongs to is referenced for the worker's lifetime so GC cannot free it mid-operation.
#pragma once

#include <napi.h>

#include <exception>
#include <string>

#include "errors.h"

namespace inferaligner {

// Translates whatever Run() threw into a code + message kept for OnError.
struct WorkerFailure {
  ErrorCode code = ErrorCode::Internal;
  int status = 0;

  template <typename Fn>
  bool Capture(Fn&& fn, std::string& message) {
    try {
      fn();
      return true;
    } catch (const AddonError& e) {
      code = e.code;
      status = e.status;
      message = e.what();
    } catch (const std::exception& e) {
      code = ErrorCode::Internal;
      message = std::string("internal error: ") + e.what();
    } catch (...) {
      code = ErrorCode::Internal;
      message = "internal error: unknown exception";
    }
    return false;
  }
};

// What the plain and the streaming worker share, over either node-addon-api worker class: the
// promise, the owner reference, and how the promise settles (Finish() first, then the result or
// the coded error).
template <typename NapiWorker>
class PromiseWorkerBase : public NapiWorker {
 public:
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  PromiseWorkerBase(Napi::Env env, const char* name, Napi::Object owner)
      : NapiWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {
    owner_ = Napi::Persistent(owner);
  }
  virtual Napi::Value Resolve(Napi::Env env) { return env.Undefined(); }
  // Runs on the JS thread after success or failure, before the promise settles.
  virtual void Finish() {}

  // Worker thread: runs `work`; what it throws becomes the rejection.
  template <typename Fn>
  void Guard(Fn&& work) {
    std::string message;
    if (!failure_.Capture(work, message)) this->SetError(message);
  }

 private:
  void OnOK() final {
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    Finish();
    try {
      deferred_.Resolve(Resolve(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) final {
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    Finish();
    deferred_.Reject(MakeError(env, failure_.code, e.Message(), failure_.status).Value());
  }

  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_;
  WorkerFailure failure_;
};

class PromiseWorker : public PromiseWorkerBase<Napi::AsyncWorker> {
 public:
  PromiseWorker(Napi::Env env, const char* name, Napi::Object owner) : PromiseWorkerBase(env, name, owner) {}

 protected:
  virtual void Run() = 0;

 private:
  void Execute() final {
    Guard([this] { Run(); });
  }
};

// The same, for work that streams events to JS while it runs. node-addon-api delivers every
// queued progress event before OnOK/OnError, so the stream always ends before the promise settles.
template <typename Event>
class StreamingPromiseWorker : public PromiseWorkerBase<Napi::AsyncProgressQueueWorker<Event>> {
  using Base = PromiseWorkerBase<Napi::AsyncProgressQueueWorker<Event>>;

 public:
  StreamingPromiseWorker(Napi::Env env, const char* name, Napi::Object owner) : Base(env, name, owner) {}

 protected:
  using Progress = typename Napi::AsyncProgressQueueWorker<Event>::ExecutionProgress;
  virtual void Run(const Progress& progress) = 0;
  virtual void OnEvents(Napi::Env env, const Event* events, size_t count) = 0;

 private:
  void Execute(const Progress& progress) final {
    this->Guard([&] { Run(progress); });
  }
  void OnProgress(const Event* events, size_t count) final {
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    OnEvents(env, events, count);
  }
};

}  // namespace inferaligner

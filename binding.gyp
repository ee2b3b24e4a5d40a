# The addon against the prebuilt llama.cpp libraries of the pinned release, for node-gyp and
# prebuildify (`npm run prebuild`). Headers: vendor/include (copied from the pinned source, shipped
# in the package); libraries: @node-llama-cpp/<platform>, which the prebuild copies beside the .node
# file, where the run-time search path ($ORIGIN, @loader_path) finds them. Building llama.cpp itself
# from source is CMakeLists.txt's job (cmake-js).
{
  "targets": [
    {
      "target_name": "inferaligner",
      "sources": [
        "native/addon.cpp", "native/common.cpp", "native/Context.cpp", "native/errors.cpp",
        "native/Guidance.cpp", "native/LayerHook.cpp", "native/Log.cpp", "native/Model.cpp", "native/Probe.cpp",
        "native/Sampler.cpp", "native/TextAssembler.cpp",
        "native/workers/CaptureWorker.cpp", "native/workers/CreateContextWorker.cpp",
        "native/workers/GenerateWorker.cpp", "native/workers/LoadModelWorker.cpp", "native/workers/ProbeWorker.cpp",
        "native/workers/TokenizeWorker.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node scripts/gyp-llama.mjs include)",
        "native"
      ],
      # As in CMakeLists.txt: errors cross into JS as values we build; see the comment there.
      "defines": [
        "NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "INFERALIGNER_PREBUILT=1"
      ],
      "libraries": ["<!@(node scripts/gyp-llama.mjs link)"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti"],
      "conditions": [
        ["OS=='linux'", {
          "ldflags": ["-Wl,-rpath,'$$ORIGIN'"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "GCC_ENABLE_CPP_RTTI": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "OTHER_LDFLAGS": ["-Wl,-rpath,@loader_path"]
          }
        }],
        ["OS=='win'", {
          "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17"] } }
        }]
      ]
    }
  ]
}

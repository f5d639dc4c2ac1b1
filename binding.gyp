# Second front-end to the same build, for node-gyp (prebuildify, node-gyp-build's install
# fallback). Sources, include paths, libraries and defines all come from scripts/libtorch.js,
# exactly as in CMakeLists.txt, so the two builds cannot drift apart. It builds the release addon
# only; the test addon (native/testing/) comes from CMake, `npm run build:native`.
{
  "targets": [
    {
      "target_name": "autoresearch",
      "sources": ["<!@(node scripts/libtorch.js sources)"],
      "include_dirs": ["<!@(node scripts/libtorch.js include-dirs)"],
      "defines": ["<!@(node scripts/libtorch.js defines)"],
      "libraries": ["<!@(node scripts/libtorch.js libraries)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-frtti", "-fopenmp", "-Wno-unused-parameter", "-Wno-psabi"],
      "ldflags": ["-fopenmp"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "GCC_ENABLE_CPP_RTTI": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
      }
    }
  ]
}

# Read by scripts/setup's llama.cpp build right after llama.cpp's own project() call
# (CMAKE_PROJECT_llama.cpp_INCLUDE). llama-cpp-python forces LLAMA_BUILD_COMMON on as a cache
# variable, yet its wheel ships only libllama and libggml*: a normal variable in llama.cpp's scope
# wins over that cache entry (policy CMP0077), so the common library (about 50 of the ~130 objects,
# the slowest to compile) and cpp-httplib are not built.
set(LLAMA_BUILD_COMMON OFF)

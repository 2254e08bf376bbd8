#pragma once

// Shared by the libFuzzer targets: a property check that aborts (so libFuzzer
// records the input as a crash) with a message, in every build type.

#include <cstdio>
#include <cstdlib>

#define NSELF_FUZZ_CHECK(condition)                                                         \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (false)

// libsotto.so (client-lib/CMakeLists.txt) is linked from static archives;
// this file gives the shared library target a source of its own. What it
// exports is declared SOTTO_EXPORT in include/sotto/ and listed in
// libsotto.map.

#ifndef SOTTO_CLIENT_LIB_INCLUDE_SOTTO_EXPORT_H_
#define SOTTO_CLIENT_LIB_INCLUDE_SOTTO_EXPORT_H_

/** @file
 * What libsotto.so exports. The library is compiled with
 * -fvisibility=hidden (and linked with a version script,
 * client-lib/libsotto.map), so only what its public headers mark SOTTO_EXPORT
 * is visible to an app: the C API (sotto.h) and the public C++ API
 * (sotto::Client and what its headers need). Everything else stays inside the
 * library, where it can change without breaking an app (docs/EMBEDDING.md,
 * "ABI and SOVERSION").
 *
 * C and C++ both include this header: plain C comments, no C++ constructs.
 * An app may define SOTTO_EXPORT itself (e.g. empty) before including. */

#ifndef SOTTO_EXPORT
#if defined(__GNUC__) || defined(__clang__)
#define SOTTO_EXPORT __attribute__((visibility("default")))
#else
#define SOTTO_EXPORT
#endif
#endif

#endif /* SOTTO_CLIENT_LIB_INCLUDE_SOTTO_EXPORT_H_ */

#ifndef SOTTO_COMMON_STATUS_MACROS_H_
#define SOTTO_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"

// Debian's Abseil (20220623) has no status macros; this is our one copy.
// Evaluates `expr` (an absl::Status) once and returns it from the enclosing
// function if it is not OK.
#define SOTTO_RETURN_IF_ERROR(expr)                                \
  do {                                                             \
    ::absl::Status sotto_status_macro_s_ = (expr);                 \
    if (!sotto_status_macro_s_.ok()) return sotto_status_macro_s_; \
  } while (0)

#define SOTTO_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define SOTTO_STATUS_MACROS_CONCAT_(a, b) SOTTO_STATUS_MACROS_CONCAT_INNER_(a, b)

// `lhs` = value of the absl::StatusOr `rexpr`, or return its status.
#define SOTTO_ASSIGN_OR_RETURN(lhs, rexpr) \
  SOTTO_ASSIGN_OR_RETURN_IMPL_(SOTTO_STATUS_MACROS_CONCAT_(sotto_statusor_, __LINE__), lhs, rexpr)
#define SOTTO_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#endif  // SOTTO_COMMON_STATUS_MACROS_H_

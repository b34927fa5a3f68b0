// Error handling for hilserl.
//
// Three tiers:
//  - hilserl::Error and its subclasses are thrown for bad user input, files, devices and
//    peers. They are caught at the boundary (the CLI, a worker thread's run loop) and
//    reported. Messages say what was expected, what was found, and where.
//  - HILSERL_CHECK(cond, msg) is always on and guards internal invariants; a failure is a
//    bug in hilserl, reported with file and line.
//  - assert() only for expensive debug-only checks.
#pragma once

#include <stdexcept>
#include <string>

namespace hilserl {

// Base class of every error hilserl reports to a user.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A value given by the user (config key, CLI flag, action) is malformed or out of range.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A named thing (task, camera, file, key) does not exist.
class NotFound : public Error {
 public:
  using Error::Error;
};

// A file or message is truncated, corrupt or of the wrong format.
class DataLoss : public Error {
 public:
  using Error::Error;
};

// An external system (renderer, device, peer) failed.
class Unavailable : public Error {
 public:
  using Error::Error;
};

// Internal invariant broken: a bug in hilserl.
class InternalError : public Error {
 public:
  using Error::Error;
};

[[noreturn]] void ThrowCheckFailure(const char* condition, const char* file, int line,
                                    const std::string& message);

}  // namespace hilserl

// Always-on invariant check. `message` may be any expression convertible to std::string.
#define HILSERL_CHECK(condition, message)                                        \
  do {                                                                           \
    if (!(condition)) {                                                          \
      ::hilserl::ThrowCheckFailure(#condition, __FILE__, __LINE__, (message));   \
    }                                                                            \
  } while (false)

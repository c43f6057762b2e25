//! Exit codes and the errors that carry them: what a script can tell apart.
//!
//! A call fails in one of a few ways, each with its own code: the server could not be
//! reached (or the TLS handshake failed), the entry was not there, it was there already, or
//! the server refused the request and said why. Dex's API reports "not found" and "already
//! exists" as flags in its responses (and `GetClient` as `NOT_FOUND`); both become codes
//! here, so `tessera admin clients delete --id x || ...` works as a script expects.

use std::fmt;

/// The exit codes of `tessera admin`, as its `--help` and the README list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// Anything else: a server error, a response Tessera did not expect.
    Failure = 1,
    /// The command line or its input (a file, the password) is wrong; nothing was sent.
    Usage = 2,
    /// The server could not be reached, did not answer in time, or the TLS handshake failed.
    Unreachable = 3,
    NotFound = 4,
    AlreadyExists = 5,
    /// The server refused the request (`INVALID_ARGUMENT`, `FAILED_PRECONDITION`, ...).
    Refused = 6,
    /// `passwords verify`: the password is not the user's.
    Mismatch = 7,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The exit codes, as `tessera admin --help` prints them.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  done
  1  failure (a server error, an unexpected answer)
  2  usage: the command line, a file or the password read is wrong; nothing was sent
  3  the server is unreachable: connection refused, no answer within --timeout, or the TLS
     handshake failed (the message says which, e.g. \"certificate refused by the server\")
  4  not found
  5  already exists
  6  refused by the server (invalid argument, read-only entry, connector changes off);
     the server's message is printed
  7  passwords verify: the password does not match";

/// Why a command failed: the exit code and the message printed after `error: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
}

impl CliError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self { exit, message: message.into() }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(Exit::Failure, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Exit::NotFound, message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(Exit::AlreadyExists, message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

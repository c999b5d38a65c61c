// Linux calls that Swift cannot import directly: those declared only under _GNU_SOURCE and the
// C-variadic ones. Each wrapper is one call, faithful to the system's own signature and errno.
#ifndef RFGEN_C_LINUX_SHIMS_H
#define RFGEN_C_LINUX_SHIMS_H

/// Blocks SIGINT and SIGTERM for the calling thread and returns a non-blocking, close-on-exec
/// signalfd(2) that becomes readable when either arrives, or -1 with errno set.
int rfgen_termination_signalfd(void);

#endif

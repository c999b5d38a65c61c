// Linux calls that Swift cannot import directly: those declared only under _GNU_SOURCE and the
// C-variadic ones. Each wrapper is one call, faithful to the system's own signature and errno.
#ifndef RFGEN_C_LINUX_SHIMS_H
#define RFGEN_C_LINUX_SHIMS_H

/// Blocks SIGINT and SIGTERM for the calling thread and returns a non-blocking, close-on-exec
/// signalfd(2) that becomes readable when either arrives, or -1 with errno set.
int rfgen_termination_signalfd(void);

/// Sets the calling thread's timer slack (prctl PR_SET_TIMERSLACK, variadic in C). Returns 0 or -1
/// with errno set. The default 50 µs slack of normal threads is most of a periodic loop's lateness.
int rfgen_set_timer_slack_ns(unsigned long nanoseconds);

/// Moves the calling thread to SCHED_FIFO at the given priority. Returns 0 or an errno value
/// (EPERM where the system does not grant real-time scheduling).
int rfgen_set_fifo_priority(int priority);

/// A non-blocking, close-on-exec eventfd(2) with count 0, or -1 with errno set: one thread's
/// write of 1 wakes another thread's poll.
int rfgen_eventfd(void);

/// Blocks every blockable signal for the calling thread: for threads that must never be the one
/// a process-directed signal (SIGTERM) is delivered to, whatever mask they started with.
/// Names the calling thread (at most 15 bytes; PR_SET_NAME cuts the rest), as ps and /proc show it.
void rfgen_set_thread_name(const char *name);

void rfgen_block_all_signals(void);

/// The CPUs the calling thread may run on (sched_getaffinity), in ascending order, at most
/// `capacity` of them. Returns how many were written, or -1 with errno set.
int rfgen_allowed_cpus(int *cpus, int capacity);

/// Lets the calling thread run on `cpu` only (sched_setaffinity on the thread). Returns 0 or an
/// errno value (EINVAL for a CPU it may not use or that does not exist, EPERM where filtered).
int rfgen_pin_current_thread(int cpu);

struct pollfd;
/// poll(2) with a timeout in microseconds (ppoll, declared only under _GNU_SOURCE); a negative
/// timeout waits without end. Returns what ppoll returns, with errno set.
int rfgen_poll_microseconds(struct pollfd *fds, unsigned long count, long long microseconds);

/// A close-on-exec epoll instance (epoll_create1), or -1 with errno set. The epoll calls stay on
/// this side, with the readiness said in the bits below: `struct epoll_event` is packed on x86-64,
/// which Swift does not import faithfully.
int rfgen_epoll_create(void);

/// Watches `fd` for input: edge-triggered when `edge` is non-zero (reported once for each arrival
/// of data, however much is left unread), level-triggered otherwise. Hang-ups and errors are
/// always reported. Returns 0 or -1 with errno set.
int rfgen_epoll_watch(int epfd, int fd, int edge);

/// Stops watching `fd`. Returns 0 or -1 with errno set.
int rfgen_epoll_unwatch(int epfd, int fd);

/// Readiness bits of rfgen_epoll_wait_microseconds.
enum { RFGEN_EPOLL_READABLE = 1, RFGEN_EPOLL_HANGUP = 2 };

/// Waits on an epoll instance for at most `microseconds` (negative: without end): epoll_pwait2
/// while `*precise` is non-zero, else epoll_wait with the timeout rounded up to a millisecond.
/// `*precise` is cleared where the kernel lacks epoll_pwait2 (before 5.11) or a system call
/// filter refuses it (EPERM), so that the caller does not try again. Writes each ready descriptor
/// and its readiness (RFGEN_EPOLL_ bits) to `fds` and `readiness`, at most `capacity` (and 8) of
/// them, and returns how many, or -1 with errno set.
int rfgen_epoll_wait_microseconds(int epfd, int *fds, int *readiness, int capacity, long long microseconds, int *precise);

#endif

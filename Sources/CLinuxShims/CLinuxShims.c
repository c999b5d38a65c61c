#define _GNU_SOURCE
#include "CLinuxShims.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <sched.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <sys/epoll.h>
#include <time.h>

int rfgen_termination_signalfd(void) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0) return -1;
    return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

int rfgen_set_timer_slack_ns(unsigned long nanoseconds) {
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0);
}

int rfgen_set_fifo_priority(int priority) {
    struct sched_param param = { .sched_priority = priority };
    return pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
}

int rfgen_eventfd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

int rfgen_poll_microseconds(struct pollfd *fds, unsigned long count, long long microseconds) {
    if (microseconds < 0) return ppoll(fds, (nfds_t)count, NULL, NULL);
    struct timespec timeout = {
        .tv_sec = (time_t)(microseconds / 1000000),
        .tv_nsec = (long)(microseconds % 1000000) * 1000,
    };
    return ppoll(fds, (nfds_t)count, &timeout, NULL);
}

int rfgen_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int rfgen_epoll_watch(int epfd, int fd, int edge) {
    struct epoll_event event = { .events = EPOLLIN | (edge ? EPOLLET : 0), .data.fd = fd };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int rfgen_epoll_unwatch(int epfd, int fd) {
    struct epoll_event unused = { 0 };
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &unused);
}

int rfgen_epoll_wait_microseconds(int epfd, int *fds, int *readiness, int capacity, long long microseconds, int *precise) {
    enum { most = 8 };
    struct epoll_event ready[most];
    int count = capacity < most ? capacity : most;
    int result;
    if (microseconds < 0) {
        result = epoll_wait(epfd, ready, count, -1);
    } else {
        struct timespec timeout = {
            .tv_sec = (time_t)(microseconds / 1000000),
            .tv_nsec = (long)(microseconds % 1000000) * 1000,
        };
        result = -1;
        if (*precise) {
            result = epoll_pwait2(epfd, ready, count, &timeout, NULL);
            // ENOSYS: a kernel before 5.11. EPERM: a system call filter that predates it (systemd's
            // @system-service before v248, with SystemCallErrorNumber=EPERM). Either way it will
            // never work: remembered, or a waiting thread would spin on the error.
            if (result < 0 && (errno == ENOSYS || errno == EPERM)) *precise = 0;
        }
        if (!*precise) {
            long long milliseconds = (microseconds + 999) / 1000;
            result = epoll_wait(epfd, ready, count, milliseconds > 2147483647LL ? 2147483647 : (int)milliseconds);
        }
    }
    for (int i = 0; i < result; i++) {
        fds[i] = ready[i].data.fd;
        readiness[i] = ((ready[i].events & EPOLLIN) ? RFGEN_EPOLL_READABLE : 0)
            | ((ready[i].events & (EPOLLHUP | EPOLLERR)) ? RFGEN_EPOLL_HANGUP : 0);
    }
    return result;
}

void rfgen_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

void rfgen_block_all_signals(void) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
}

int rfgen_allowed_cpus(int *cpus, int capacity) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int count = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && count < capacity; cpu++) {
        if (CPU_ISSET(cpu, &set)) cpus[count++] = cpu;
    }
    return count;
}

int rfgen_pin_current_thread(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

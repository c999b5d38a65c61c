/*
 * The CPU that rfgend's design costs on this machine before any of its own work: the floor under
 * its CPU share (issue 19).
 *
 *     design_floor SECONDS TICK_HZ TELEMETRY_HZ
 *
 * Three threads make rfgend's wake-ups and system calls, at its rates, with nothing between:
 *
 *   control     sleeps to absolute deadlines at TICK_HZ, 1 ms after the telemetry's; at each it
 *               writes a set point's 15 bytes to the serial line and wakes the event loop (eventfd)
 *   link        waits on the line (epoll, edge-triggered, as rfgend's link thread) and reads
 *               whatever arrives: each telemetry frame and each ACK
 *   event loop  waits on the eventfd (epoll) and writes a telemetry event's line (300 bytes) to the
 *               one subscribed client's Unix socket
 *
 * The line is a pseudo-terminal in raw mode, as rfgen-sim's. Beside them, in a second process and
 * not counted, as the bench's rfgen-sim and client are not: a generator that writes a 54-byte telemetry frame at
 * TELEMETRY_HZ and answers each 15-byte set point with a 12-byte ACK, and a client that reads its
 * socket. Priorities are rfgend's and rfgen-sim's (SCHED_FIFO 80, 79 and 70; the event loop at
 * normal priority) where the system grants them.
 *
 * Prints one JSON object: the three threads' CPU over the window as a percentage of one core, from
 * the scheduler's own accounting (/proc/self/task/TID/schedstat, nanoseconds on a CPU), their
 * wake-ups (context switches) a second and the CPU a wake-up, and each thread's share. Used by
 * process_benchmarks.py beside the daemon's own figures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
    set_point_bytes = 15, /* SET_POWER on the wire (protocol/PROTOCOL.md) */
    ack_bytes = 12,
    telemetry_bytes = 54,
    event_line_bytes = 300, /* a telemetry event's JSON line, about */
    warm_up_ms = 1000,
    counted = 3,
};

static atomic_int stopping;
static long tick_ns, telemetry_ns;
static struct timespec origin;
static int line_host = -1, line_generator = -1, wake = -1, client[2] = {-1, -1};
static pid_t tids[counted];
static const char *names[counted] = {"control", "link", "event loop"};

static void fail(const char *what) {
    fprintf(stderr, "design_floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void add_ns(struct timespec *t, long ns) {
    t->tv_nsec += ns;
    while (t->tv_nsec >= 1000000000L) {
        t->tv_nsec -= 1000000000L;
        t->tv_sec++;
    }
}

static long long until_ns(const struct timespec *t) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (t->tv_sec - now.tv_sec) * 1000000000LL + (t->tv_nsec - now.tv_nsec);
}

static void fifo(int priority) {
    struct sched_param param = {.sched_priority = priority};
    pthread_setschedparam(pthread_self(), SCHED_FIFO, &param); /* not granted: normal priority */
}

static void *control(void *unused) {
    (void)unused;
    tids[0] = (pid_t)syscall(SYS_gettid);
    fifo(80);
    unsigned char frame[set_point_bytes] = {0};
    struct timespec deadline = origin;
    add_ns(&deadline, 1000000L);
    while (!atomic_load(&stopping)) {
        add_ns(&deadline, tick_ns);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
        if (write(line_host, frame, sizeof frame) < 0 && errno != EAGAIN) fail("write the line");
        unsigned long long one = 1;
        if (write(wake, &one, sizeof one) < 0) fail("write the eventfd");
    }
    return NULL;
}

static void *link_thread(void *unused) {
    (void)unused;
    tids[1] = (pid_t)syscall(SYS_gettid);
    fifo(79);
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event watch = {.events = EPOLLIN | EPOLLET, .data.fd = line_host};
    if (epoll < 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, line_host, &watch) < 0) fail("epoll the line");
    unsigned char buffer[4096];
    while (!atomic_load(&stopping)) {
        struct epoll_event ready;
        if (epoll_wait(epoll, &ready, 1, 50) == 1) {
            ssize_t count;
            while ((count = read(line_host, buffer, sizeof buffer)) == (ssize_t)sizeof buffer) {}
        }
    }
    close(epoll);
    return NULL;
}

static void *event_loop(void *unused) {
    (void)unused;
    tids[2] = (pid_t)syscall(SYS_gettid);
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event watch = {.events = EPOLLIN, .data.fd = wake};
    if (epoll < 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, wake, &watch) < 0) fail("epoll the eventfd");
    char line[event_line_bytes];
    memset(line, 'x', sizeof line);
    line[sizeof line - 1] = '\n';
    while (!atomic_load(&stopping)) {
        struct epoll_event ready;
        if (epoll_wait(epoll, &ready, 1, 50) == 1) {
            unsigned long long count;
            if (read(wake, &count, sizeof count) < 0 && errno != EAGAIN) fail("read the eventfd");
            if (write(client[0], line, sizeof line) < 0 && errno != EAGAIN) fail("write the client");
        }
    }
    close(epoll);
    return NULL;
}

static void *generator(void *unused) {
    (void)unused;
    fifo(70);
    unsigned char telemetry[telemetry_bytes] = {0}, ack[ack_bytes] = {0}, buffer[4096];
    size_t pending = 0; /* bytes of a set point not yet whole */
    struct timespec next = origin;
    while (!atomic_load(&stopping)) {
        long long wait = until_ns(&next);
        if (wait <= 0) {
            if (write(line_generator, telemetry, sizeof telemetry) < 0 && errno != EAGAIN) fail("write telemetry");
            add_ns(&next, telemetry_ns);
            continue;
        }
        struct pollfd pfd = {.fd = line_generator, .events = POLLIN};
        struct timespec timeout = {.tv_sec = wait / 1000000000LL, .tv_nsec = wait % 1000000000LL};
        if (ppoll(&pfd, 1, &timeout, NULL) == 1) {
            ssize_t count = read(line_generator, buffer, sizeof buffer);
            for (pending += count > 0 ? (size_t)count : 0; pending >= set_point_bytes; pending -= set_point_bytes)
                if (write(line_generator, ack, sizeof ack) < 0 && errno != EAGAIN) fail("write an ACK");
        }
    }
    return NULL;
}

static void *subscriber(void *unused) {
    (void)unused;
    char buffer[65536];
    while (read(client[1], buffer, sizeof buffer) > 0) {}
    return NULL;
}

/* A counted thread's nanoseconds on a CPU and context switches so far. */
static void sample(pid_t tid, unsigned long long *ns, long *switches) {
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%llu", ns) != 1) fail("read schedstat");
    fclose(f);
    snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
    f = fopen(path, "r");
    if (!f) fail("read status");
    *switches = 0;
    while (fgets(text, sizeof text, f)) {
        long n;
        if (sscanf(text, "voluntary_ctxt_switches: %ld", &n) == 1 || sscanf(text, "nonvoluntary_ctxt_switches: %ld", &n) == 1)
            *switches += n;
    }
    fclose(f);
}

int main(int argc, char **argv) {
    double seconds = argc == 4 ? atof(argv[1]) : 0;
    long tick_hz = argc == 4 ? atol(argv[2]) : 0, telemetry_hz = argc == 4 ? atol(argv[3]) : 0;
    if (seconds <= 0 || seconds > 3600 || tick_hz < 1 || tick_hz > 10000 || telemetry_hz < 1 || telemetry_hz > 10000) {
        fprintf(stderr, "usage: design_floor SECONDS TICK_HZ TELEMETRY_HZ (0-3600 s, rates 1-10000 Hz)\n");
        return 64;
    }
    tick_ns = 1000000000L / tick_hz;
    telemetry_ns = 1000000000L / telemetry_hz;

    line_generator = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (line_generator < 0 || grantpt(line_generator) < 0 || unlockpt(line_generator) < 0) fail("open a pseudo-terminal");
    line_host = open(ptsname(line_generator), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    struct termios raw;
    if (line_host < 0 || tcgetattr(line_host, &raw) < 0) fail("open the line");
    cfmakeraw(&raw);
    cfsetspeed(&raw, B115200);
    if (tcsetattr(line_host, TCSANOW, &raw) < 0) fail("make the line raw");
    wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, client) < 0) fail("make the wake-up and the socket");
    fcntl(client[0], F_SETFL, O_NONBLOCK);

    clock_gettime(CLOCK_MONOTONIC, &origin);
    add_ns(&origin, 10000000L);
    /* The generator and the client in a process of their own, as rfgen-sim and the client are:
     * a switch to another process costs more than one within it (its address space). */
    pid_t child = fork();
    if (child < 0) fail("fork");
    if (child == 0) {
        pthread_t others[2];
        if (pthread_create(&others[0], NULL, generator, NULL) != 0 || pthread_create(&others[1], NULL, subscriber, NULL) != 0)
            fail("start the generator");
        pthread_join(others[1], NULL); /* until the parent closes the socket; then the parent ends this */
        pthread_join(others[0], NULL);
        return 0;
    }
    pthread_t threads[counted];
    void *(*bodies[counted])(void *) = {control, link_thread, event_loop};
    for (int i = 0; i < counted; i++)
        if (pthread_create(&threads[i], NULL, bodies[i], NULL) != 0) fail("start a thread");

    struct timespec pause = {.tv_sec = warm_up_ms / 1000, .tv_nsec = (warm_up_ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    unsigned long long ns0[counted], ns1[counted];
    long sw0[counted], sw1[counted];
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < counted; i++) sample(tids[i], &ns0[i], &sw0[i]);
    pause.tv_sec = (time_t)seconds;
    pause.tv_nsec = (long)((seconds - (double)pause.tv_sec) * 1e9);
    nanosleep(&pause, NULL);
    for (int i = 0; i < counted; i++) sample(tids[i], &ns1[i], &sw1[i]);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double window = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;

    atomic_store(&stopping, 1);
    for (int i = 0; i < counted; i++) pthread_join(threads[i], NULL);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    unsigned long long total = 0;
    long wakeups = 0;
    printf("{\"threads\": [");
    for (int i = 0; i < counted; i++) {
        total += ns1[i] - ns0[i];
        wakeups += sw1[i] - sw0[i];
        printf("%s{\"name\": \"%s\", \"cpu_percent\": %.3f, \"wakeups_per_second\": %.0f}", i ? ", " : "", names[i],
               (double)(ns1[i] - ns0[i]) / 1e9 / window * 100, (double)(sw1[i] - sw0[i]) / window);
    }
    printf("], \"cpu_percent\": %.3f, \"us_per_wakeup\": %.1f, \"wakeups_per_second\": %.0f}\n",
           (double)total / 1e9 / window * 100, wakeups ? (double)total / 1e3 / (double)wakeups : 0.0,
           (double)wakeups / window);
    return 0;
}

/*
 * The CPU that wake-ups alone cost on this machine: the floor under a daemon's CPU share.
 *
 *     wakeup_floor SECONDS RATE_HZ [RATE_HZ ...]
 *
 * One thread per rate, each sleeping to an absolute deadline at that rate and doing nothing
 * else, as rfgend's threads wake (the control tick, the link's frames and commands, the API's
 * pump). Prints the CPU they took, as a percentage of one core, from the scheduler's own
 * accounting (/proc/thread-self/schedstat, nanoseconds on the CPU), and per wake-up in µs.
 * The kernel's tick-sampled utime is not used: on a virtual machine it misses or double-counts
 * threads that wake in step with the tick. Used by process_benchmarks.py (issue 19).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct sleeper {
    long rate;
    double seconds;
    unsigned long long nanoseconds;
    long wakeups;
};

static void *run(void *arg) {
    struct sleeper *s = arg;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long count = (long)(s->rate * s->seconds);
    for (long i = 0; i < count; i++) {
        t.tv_nsec += 1000000000L / s->rate;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_nsec -= 1000000000L;
            t.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
    }
    s->wakeups = count;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (!f || fscanf(f, "%llu", &s->nanoseconds) != 1) {
        fprintf(stderr, "wakeup_floor: cannot read /proc/thread-self/schedstat\n");
        exit(1);
    }
    fclose(f);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: wakeup_floor SECONDS RATE_HZ [RATE_HZ ...]\n");
        return 64;
    }
    double seconds = atof(argv[1]);
    int n = argc - 2;
    struct sleeper sleepers[16];
    pthread_t threads[16];
    if (n > 16 || seconds <= 0) {
        fprintf(stderr, "wakeup_floor: at most 16 rates, and a positive duration\n");
        return 64;
    }
    for (int i = 0; i < n; i++) {
        sleepers[i] = (struct sleeper){.rate = atol(argv[i + 2]), .seconds = seconds};
        if (sleepers[i].rate <= 0 || sleepers[i].rate > 100000) {
            fprintf(stderr, "wakeup_floor: a rate is 1-100000 Hz\n");
            return 64;
        }
        pthread_create(&threads[i], NULL, run, &sleepers[i]);
    }
    unsigned long long total = 0;
    long wakeups = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
        total += sleepers[i].nanoseconds;
        wakeups += sleepers[i].wakeups;
    }
    printf("{\"cpu_percent\": %.3f, \"us_per_wakeup\": %.1f, \"wakeups_per_second\": %.0f}\n",
           total / 1e9 / seconds * 100, wakeups ? total / 1e3 / wakeups : 0.0, wakeups / seconds);
    return 0;
}

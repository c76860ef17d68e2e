/*
 * One-way time of a large message through LCM (C), for comparison with
 * eventcast's bench figure 3 ("one-way ms"). Run by scripts/bench-lcm
 * inside a private network namespace; never run it on a shared network.
 *
 *   oneway sub COUNT            print the one-way ms of COUNT messages
 *   oneway pub COUNT SIZE GAPMS publish COUNT messages of SIZE bytes
 *
 * The publisher writes CLOCK_MONOTONIC (ns) into the first 8 bytes of each
 * message just before lcm_publish; the subscriber reads the clock in its
 * handler. Both run on one host, so the clock is shared. The message is a
 * plain byte buffer, prebuilt and reused, as raw UDP's is in the bench: an
 * LCM type holding a byte[] would add one memcpy on each side.
 */
#include <lcm/lcm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int got;

static void on_big(const lcm_recv_buf_t *rbuf, const char *channel, void *user)
{
    (void)channel;
    (void)user;
    int64_t stamp;
    if (rbuf->data_size < sizeof stamp)
        return;
    memcpy(&stamp, rbuf->data, sizeof stamp);
    printf("%u %.3f\n", rbuf->data_size, (now_ns() - stamp) / 1e6);
    fflush(stdout);
    got++;
}

int main(int argc, char **argv)
{
    const char *url = getenv("LCM_URL");
    if (argc < 3) {
        fprintf(stderr, "usage: oneway sub COUNT | oneway pub COUNT SIZE GAPMS\n");
        return 2;
    }
    int count = atoi(argv[2]);
    lcm_t *lcm = lcm_create(url);
    if (!lcm) {
        fprintf(stderr, "oneway: lcm_create failed\n");
        return 1;
    }
    if (strcmp(argv[1], "sub") == 0) {
        lcm_subscribe(lcm, "BIG", on_big, NULL);
        fprintf(stderr, "ready\n");
        while (got < count)
            if (lcm_handle_timeout(lcm, 10000) <= 0)
                break;
    } else if (strcmp(argv[1], "pub") == 0 && argc == 5) {
        size_t size = strtoul(argv[3], NULL, 10);
        int gap_ms = atoi(argv[4]);
        if (size < sizeof(int64_t)) {
            fprintf(stderr, "oneway: SIZE must be at least 8 bytes (the send time)\n");
            return 2;
        }
        uint8_t *buf = malloc(size);
        if (!buf) {
            fprintf(stderr, "oneway: cannot allocate %zu bytes\n", size);
            return 1;
        }
        memset(buf, 'x', size);
        for (int i = 0; i < count; i++) {
            struct timespec gap = {gap_ms / 1000, (long)(gap_ms % 1000) * 1000000};
            nanosleep(&gap, NULL);
            int64_t stamp = now_ns();
            memcpy(buf, &stamp, sizeof stamp);
            if (lcm_publish(lcm, "BIG", buf, (unsigned)size) != 0)
                fprintf(stderr, "oneway: publish failed\n");
        }
        free(buf);
    } else {
        fprintf(stderr, "oneway: unknown role %s\n", argv[1]);
        return 2;
    }
    lcm_destroy(lcm);
    return 0;
}

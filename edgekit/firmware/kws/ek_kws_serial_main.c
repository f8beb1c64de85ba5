/* ek_kws_serial_main: the KWS firmware of a real SoC whose audio comes from the host over
 * its UART (edgekit's bare-metal board support, ek_board.h, -DEK_AUDIO_SERIAL): the same
 * work as ek_kws_main (per-clip classification, then one stream through the detector),
 * with wavs sent by the host instead of read over semihosting. Built for QEMU's
 * netduinoplus2 (STM32F405, no I2S model, no semihosting in this build): every byte in
 * and out goes through USART2 and the audio ring; edgekit.deploy.serial_host is the host.
 *
 * Host -> board: records of 16-bit little-endian words, through the serial-PCM ring:
 *   1 n s[0..n)   clip samples (appended to the current clip)          reply: ok
 *   2             classify the clip received so far, then start anew   reply: clip <i> <label> <score>
 *   3 n s[0..n)   stream samples (hops carry over from record to record)   reply: detections, ok
 *   4             end of the stream                                    reply: stream <ms> ms, <n> inferences
 *                                                                      (and the memory line), end
 * with 1 <= n <= EK_SERIAL_CHUNK, half the ring: the host sends a record only after the
 * reply to the previous one, so the ring never overflows, whatever the UART's speed.
 * Lines as ek_kws_main's: "clip", "detected <label> <score> at <ms>", "stream", "memory";
 * "error ..." on a bad record or a failed model. Marker calls (ek_layer_mark 0 and 1)
 * bracket the stream for the QEMU instruction counter: the count includes receiving the
 * audio (the USART interrupt) and the replies, as a serial-PCM board spends them. */
#include <stdio.h>

#include "ek_app_model.h"
#include "ek_board.h"
#include "ek_kws.h"
#include "ek_memory.h"
#include "ek_profile.h"

#define EK_SERIAL_CHUNK (EK_AUDIO_RING / 2)
enum { REC_CLIP = 1, REC_CLASSIFY = 2, REC_STREAM = 3, REC_END = 4 };

static uint8_t arena[EKM_ARENA_SIZE] __attribute__((aligned(16)));
static int16_t clip[EK_FE_CLIP];
static ek_kws kws;

/* n samples from the ring, sleeping until they arrive (interrupts masked between the check
 * and wfi, so an arrival in between still wakes the core) */
static void read_samples(int16_t *out, int n) {
    while (n > 0) {
        __asm volatile("cpsid i");
        if (!ek_audio_available()) __asm volatile("wfi");
        __asm volatile("cpsie i");
        const int got = ek_audio_read(out, n);
        out += got;
        n -= got;
    }
}

static int read_word(void) {
    int16_t w;
    read_samples(&w, 1);
    return (uint16_t)w;
}

static void print_score(const char *what, int label, int score) {
    printf("%s %s %d.%03d", what, ek_kws_labels[label], score / 1000, score % 1000);
}

/* stream samples, one hop at a time; returns < 0 on a model error */
static int stream_samples(int n) {
    static int16_t hop[EK_FE_HOP];
    static int fill;
    ek_kws_event ev;
    while (n > 0) {
        const int k = n < EK_FE_HOP - fill ? n : EK_FE_HOP - fill;
        read_samples(hop + fill, k);
        fill += k;
        n -= k;
        if (fill < EK_FE_HOP) continue;
        fill = 0;
        const int rc = ek_kws_hop(&kws, arena, hop, &ev);
        if (rc < 0) return rc;
        if (rc) {
            print_score("detected", ev.label, ev.score);
            printf(" at %ld\n", (long)ev.ms);
        }
    }
    return 0;
}

static void end_stream(void) {
    const long ms = (long)(kws.samples * 1000 / EK_FE_RATE);
    ek_layer_mark(1);
    printf("stream %ld ms, %d inferences\n", ms, kws.inferences);
    if (ek_stack_peak && ek_heap_used)
        printf("memory at %ld ms: stack %ld B, heap %ld B\n", ms, ek_stack_peak(), ek_heap_used());
    printf("end\n");
}

/* one record; returns 0, or 1 when the firmware should stop (after an error line) */
static int record(int *clips, int *filled, int *streaming) {
    const int kind = read_word();
    if (kind == REC_CLASSIFY) {
        int score;
        const int label = ek_kws_classify(arena, clip, *filled, &score);
        if (label < 0) return printf("error: the model failed (%d)\n", label), 1;
        printf("clip %d ", (*clips)++);
        print_score("", label, score);
        printf("\n");
        *filled = 0;
        return 0;
    }
    if (kind == REC_END) {
        if (!*streaming) ek_layer_mark(0);
        end_stream();
        return 1;
    }
    const int n = kind == REC_CLIP || kind == REC_STREAM ? read_word() : 0;
    if (n < 1 || n > EK_SERIAL_CHUNK || (kind == REC_CLIP && *filled + n > EK_FE_CLIP))
        return printf("error: bad record %d of %d samples\n", kind, n), 1;
    if (kind == REC_CLIP) {
        read_samples(clip + *filled, n);
        *filled += n;
    } else {
        if (!*streaming) ek_layer_mark(0);
        *streaming = 1;
        const int rc = stream_samples(n);
        if (rc < 0) return printf("error: the model failed (%d)\n", rc), 1;
    }
    printf("ok\n");
    return 0;
}

int main(void) {
    int clips = 0, filled = 0, streaming = 0;
    printf("edgekit kws: %s, %lu Hz\n", ek_audio_source, (unsigned long)F_CPU);
    ek_kws_reset(&kws);
    if (ek_audio_start()) {
        printf("error: the audio source did not start\n");
        return 1;
    }
    while (!record(&clips, &filled, &streaming)) {}
    return 0;
}

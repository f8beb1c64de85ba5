/* ek_kws_main: the KWS firmware for boards whose audio comes from wav files (emulated
 * boards over semihosting; the host build for tests).
 *
 * Reads the list of wavs in ek_wavs.txt (one path per line). For each wav, prints the
 * classification of its first second (front end + model over the whole clip, clip
 * normaliser):  clip <n> <label> <score>
 * Then plays all wavs back to back as one stream through ek_kws and prints each
 * detection:    detected <label> <score> at <ms>
 * and finally:  stream <ms> ms, <inferences> inferences
 * A line "#no-stream" in the list skips the stream (classification benchmarks).
 * Built with -DEK_KWS_TRACE (edgekit stream-eval), each inference of the stream also
 * prints the model's scores before smoothing (output minus its zero point, 0..255):
 *               scores <ms> <s0> ... <s(classes-1)>
 * from which a twin of ek_kws_decide (edgekit/deploy/stream_eval.py) replays the
 * detector at any threshold; the detector itself is the same code with or without it,
 * and every EK_KWS_MEMORY_EVERY_S seconds of audio the memory line below (a soak shows
 * that nothing grows with time).
 * Where the startup paints the stack (the bare-metal boards), the stream ends with
 *               memory at <ms> ms: stack <bytes> B, heap <bytes> B
 * Scores are per mille. A marker call (ek_layer_mark) brackets the stream so the QEMU
 * instruction counter can measure instructions per second of audio. */
#include <stdio.h>
#include <string.h>

#include "ek_app_model.h"
#include "ek_audio_wav.h"
#include "ek_kws.h"
#include "ek_memory.h"
#include "ek_profile.h"

#define EK_KWS_MEMORY_EVERY_S 600   /* traced streams: a memory line every 10 min of audio */


static uint8_t arena[EKM_ARENA_SIZE] __attribute__((aligned(16)));
static int16_t clip[EK_FE_CLIP];
static ek_kws kws;

static int stream_enabled = 1;

/* next wav path; lines starting with '#' are directives ("#no-stream": classify only) */
static int next_path(FILE *list, char *path, int cap) {
    while (fgets(path, cap, list)) {
        path[strcspn(path, "\r\n")] = 0;
        if (!strcmp(path, "#no-stream")) stream_enabled = 0;
        if (path[0] && path[0] != '#') return 1;
    }
    return 0;
}

static void print_score(const char *what, int label, int score) {
    printf("%s %s %d.%03d", what, ek_kws_labels[label], score / 1000, score % 1000);
}

static int classify_all(FILE *list) {
    char path[512];
    ek_wav w;
    for (int n = 0; next_path(list, path, sizeof path); n++) {
        const int rc = ek_wav_open(&w, path, EK_FE_RATE);
        if (rc) {
            printf("error %d %s: %s\n", n, path, rc == -3 ? "not 16-bit mono PCM at the front end's rate"
                                                    : rc == -1 ? "cannot open" : "not a PCM wav");
            return 3;
        }
        const int got = ek_wav_read(&w, clip, EK_FE_CLIP);
        ek_wav_close(&w);
        int score;
        const int label = ek_kws_classify(arena, clip, got, &score);
        if (label < 0) return 10 - label;
        printf("clip %d ", n);
        print_score("", label, score);
        printf("\n");
    }
    return 0;
}

static void print_memory(long ms) {
    if (ek_stack_peak && ek_heap_used)
        printf("memory at %ld ms: stack %ld B, heap %ld B\n", ms, ek_stack_peak(), ek_heap_used());
}

static int stream_all(FILE *list) {
    char path[512];
    ek_wav w;
    int16_t hop[EK_FE_HOP];
    int fill = 0;
    ek_kws_event ev;
    ek_kws_reset(&kws);
    ek_layer_mark(0);
    while (next_path(list, path, sizeof path)) {
        if (ek_wav_open(&w, path, EK_FE_RATE)) return 3;
        int got;
        while ((got = ek_wav_read(&w, hop + fill, EK_FE_HOP - fill)) > 0) {
            fill += got;
            if (fill < EK_FE_HOP) continue;
            fill = 0;
#ifdef EK_KWS_TRACE
            const int before = kws.inferences;
#endif
            const int rc = ek_kws_hop(&kws, arena, hop, &ev);
            if (rc < 0) return 10 - rc;
#ifdef EK_KWS_TRACE
            if (kws.inferences != before) {
                const int8_t *out = (const int8_t *)EKM_OUTPUT(arena);
                printf("scores %ld", (long)(kws.samples * 1000 / EK_FE_RATE));
                for (int i = 0; i < EK_KWS_CLASSES; i++) printf(" %d", (int)(out[i] - EKM_OUTPUT_ZERO_POINT));
                printf("\n");
            }
            if (kws.samples % ((int64_t)EK_KWS_MEMORY_EVERY_S * EK_FE_RATE) == 0)
                print_memory((long)(kws.samples * 1000 / EK_FE_RATE));
#endif
            if (rc) {
                print_score("detected", ev.label, ev.score);
                printf(" at %ld\n", (long)ev.ms);
            }
        }
        ek_wav_close(&w);
    }
    ek_layer_mark(1);
    printf("stream %ld ms, %d inferences\n", (long)(kws.samples * 1000 / EK_FE_RATE), kws.inferences);
    print_memory((long)(kws.samples * 1000 / EK_FE_RATE));
    return 0;
}

int main(int argc, char **argv) {
    const char *list_path = argc > 1 ? argv[1] : "ek_wavs.txt";
    FILE *list = fopen(list_path, "r");
    if (!list) return 2;
    int rc = classify_all(list);
    if (!rc && stream_enabled) {
        rewind(list);
        rc = stream_all(list);
    }
    fclose(list);
    fflush(stdout);
    return rc;
}

/* ek_kws: keyword spotting on a stream of 16 kHz int16 audio.
 *
 * audio hop (EK_FE_HOP samples) -> front end (one MFCC frame per hop, ek_frontend) ->
 * every EK_KWS_STRIDE_HOPS hops, once 49 frames exist, the model on the last 1 s ->
 * posterior smoothing: scores averaged over the results of the last EK_KWS_AVG_MS ->
 * a detection when the top class is a keyword (not a background class such as
 * _silence_ / _unknown_), its average is >= EK_KWS_THRESHOLD_PERMILLE, at least
 * EK_KWS_MIN_COUNT results are in the window, and no detection happened in the last
 * EK_KWS_SUPPRESS_MS (as TFLM micro_speech's RecognizeCommands).
 * Normaliser: the model was trained on clips divided by their peak; streaming, the peak
 * of the last second of audio stands in (ek_frontend.h explains the correction).
 * Audio sources (wav over semihosting, PDM microphone) feed ek_kws_hop(); nothing here
 * knows where samples come from. Configuration: ek_kws_config.h (written by deploy). */
#ifndef EK_KWS_H
#define EK_KWS_H
#include <stdint.h>

#include "ek_frontend.h"
#include "ek_kws_config.h"

#define EK_KWS_PEAK_HOPS (EK_FE_CLIP / EK_FE_HOP)
#define EK_KWS_HISTORY 64
/* Stream time is an int32 count of ms, and the suppression test subtracts the initial
 * last-detection time (-1000000 ms): streams up to this length (about 596 hours) are
 * represented exactly; edgekit stream-eval refuses longer ones. */
#define EK_KWS_MAX_MS 2146483647

typedef struct {
    int32_t ms;
    int16_t score[EK_KWS_CLASSES];   /* model output minus its zero point (0..255 softmax) */
} ek_kws_result;

typedef struct {
    ek_frontend fe;
    int32_t peaks[EK_KWS_PEAK_HOPS];     /* per-hop largest sample, last second */
    int peak_i;
    int64_t samples;                     /* stream position */
    int since;                           /* hops since the last inference */
    ek_kws_result hist[EK_KWS_HISTORY];  /* ring of recent results */
    int hist_head, hist_n;
    int32_t last_detection_ms;
    int inferences;
} ek_kws;

typedef struct {
    int label;         /* class index */
    int score;         /* smoothed score, per mille */
    int32_t ms;        /* stream time of the detection */
} ek_kws_event;

void ek_kws_reset(ek_kws *k);

/* Feed one hop of EK_FE_HOP samples. Returns 1 and fills *ev on a detection. Runs the
 * model in `arena` when due; returns < 0 with the model's error code on failure. */
int ek_kws_hop(ek_kws *k, uint8_t *arena, const int16_t *hop, ek_kws_event *ev);

/* Classify one clip (<= EK_FE_CLIP samples, zero padded) exactly as the model was
 * trained: clip-peak normaliser. Returns the top class, *score per mille; < 0 on error. */
int ek_kws_classify(uint8_t *arena, const int16_t *clip, int n, int *score);

/* The smoothing / threshold / suppression stage alone (host-testable). */
int ek_kws_decide(ek_kws *k, const int8_t *out, int32_t out_zp, int32_t ms, ek_kws_event *ev);

extern const char *const ek_kws_labels[EK_KWS_CLASSES];
#endif

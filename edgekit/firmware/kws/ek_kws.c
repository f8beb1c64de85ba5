/* ek_kws: see ek_kws.h. */
#include "ek_kws.h"

#include <string.h>

#include "ek_app_model.h"

static const uint8_t background[EK_KWS_CLASSES] = EK_KWS_BACKGROUND;
const char *const ek_kws_labels[EK_KWS_CLASSES] = EK_KWS_LABELS;

void ek_kws_reset(ek_kws *k) {
    memset(k, 0, sizeof *k);
    ek_fe_reset(&k->fe);
    k->last_detection_ms = -1000000;
}

static int32_t peak_of(const int16_t *x, int n) {
    int32_t p = 1;
    for (int i = 0; i < n; i++)
        if (x[i] > p) p = x[i];
    return p;
}

static int32_t window_peak(const ek_kws *k) {
    int32_t p = 1;
    for (int i = 0; i < EK_KWS_PEAK_HOPS; i++)
        if (k->peaks[i] > p) p = k->peaks[i];
    return p;
}

static int run_model(uint8_t *arena, const ek_frontend *fe, int32_t norm) {
    ek_fe_window_s8(fe, norm, EKM_INPUT_SCALE, EKM_INPUT_ZERO_POINT, (int8_t *)EKM_INPUT(arena));
    return EKM_INVOKE(arena);
}

static int top_class(const int8_t *out) {
    int best = 0;
    for (int i = 1; i < EK_KWS_CLASSES; i++)
        if (out[i] > out[best]) best = i;
    return best;
}

int ek_kws_classify(uint8_t *arena, const int16_t *clip, int n, int *score) {
    static ek_frontend fe;
    static const int16_t zeros[EK_FE_HOP];
    if (n > EK_FE_CLIP) n = EK_FE_CLIP;
    const int32_t norm = peak_of(clip, n);
    ek_fe_reset(&fe);
    ek_fe_push(&fe, clip, n, norm);
    for (int left = EK_FE_CLIP - n; left > 0; left -= EK_FE_HOP)
        ek_fe_push(&fe, zeros, left < EK_FE_HOP ? left : EK_FE_HOP, norm);
    const int err = run_model(arena, &fe, norm);
    if (err) return -err;
    const int8_t *out = (const int8_t *)EKM_OUTPUT(arena);
    const int best = top_class(out);
    *score = (int)(((int64_t)(out[best] - EKM_OUTPUT_ZERO_POINT) * 1000 + 128) / 256);
    return best;
}

int ek_kws_decide(ek_kws *k, const int8_t *out, int32_t out_zp, int32_t ms, ek_kws_event *ev) {
    ek_kws_result *r = &k->hist[(k->hist_head + k->hist_n) % EK_KWS_HISTORY];
    if (k->hist_n == EK_KWS_HISTORY) k->hist_head = (k->hist_head + 1) % EK_KWS_HISTORY;
    else k->hist_n++;
    r->ms = ms;
    for (int i = 0; i < EK_KWS_CLASSES; i++) r->score[i] = (int16_t)(out[i] - out_zp);
    while (k->hist_n > 1 && k->hist[k->hist_head].ms <= ms - EK_KWS_AVG_MS) {   /* drop old */
        k->hist_head = (k->hist_head + 1) % EK_KWS_HISTORY;
        k->hist_n--;
    }
    int32_t sum[EK_KWS_CLASSES] = {0};
    for (int j = 0; j < k->hist_n; j++)
        for (int i = 0; i < EK_KWS_CLASSES; i++) sum[i] += k->hist[(k->hist_head + j) % EK_KWS_HISTORY].score[i];
    int best = 0;
    for (int i = 1; i < EK_KWS_CLASSES; i++)
        if (sum[i] > sum[best]) best = i;
    const int score = (int)(((int64_t)sum[best] * 1000 / k->hist_n + 128) / 256);
    if (background[best] || k->hist_n < EK_KWS_MIN_COUNT || score < EK_KWS_THRESHOLD_PERMILLE ||
        ms - k->last_detection_ms < EK_KWS_SUPPRESS_MS)
        return 0;
    k->last_detection_ms = ms;
    ev->label = best;
    ev->score = score;
    ev->ms = ms;
    return 1;
}

int ek_kws_hop(ek_kws *k, uint8_t *arena, const int16_t *hop, ek_kws_event *ev) {
    k->peaks[k->peak_i] = peak_of(hop, EK_FE_HOP);
    k->peak_i = (k->peak_i + 1) % EK_KWS_PEAK_HOPS;
    const int32_t norm = window_peak(k);
    ek_fe_push(&k->fe, hop, EK_FE_HOP, norm);
    k->samples += EK_FE_HOP;
    if (k->fe.count < EK_FE_FRAMES || ++k->since < EK_KWS_STRIDE_HOPS) return 0;
    k->since = 0;
    const int err = run_model(arena, &k->fe, norm);
    if (err) return -err;
    k->inferences++;
    const int32_t ms = (int32_t)(k->samples * 1000 / EK_FE_RATE);
    return ek_kws_decide(k, (const int8_t *)EKM_OUTPUT(arena), EKM_OUTPUT_ZERO_POINT, ms, ev);
}

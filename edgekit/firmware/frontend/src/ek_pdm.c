/* ek_pdm: PDM -> PCM decimator (CIC + polyphase FIR). Twin: edgekit/audio/pdm.py
 * decimate. See ek_pdm.h for the arithmetic; this file is the plain reference loop
 * (per bit: N integrator adds; per R bits: N combs; per R M bits: one FIR dot product).
 * Built only with -DEK_PDM: no board captures PDM yet, and the KWS firmware, which
 * compiles every file of this directory, has no ek_pdm_tables. */
#ifdef EK_PDM
#include "ek_pdm.h"

void ek_pdm_init(ek_pdm *d, int lsb_first) {
    for (int i = 0; i < EK_PDM_CIC_ORDER; i++) d->integ[i] = d->comb[i] = 0;
    for (int i = 0; i < 2 * EK_PDM_TAPS; i++) d->hist[i] = 0;
    d->head = d->bit_phase = d->cic_phase = 0;
    d->lsb_first = lsb_first != 0;
}

/* One CIC output: the combs, then the FIR when M of them have arrived. */
static int cic_output(ek_pdm *d, int16_t *out) {
    uint32_t v = d->integ[EK_PDM_CIC_ORDER - 1];
    for (int i = 0; i < EK_PDM_CIC_ORDER; i++) {
        uint32_t prev = d->comb[i];
        d->comb[i] = v;
        v -= prev;                                   /* wraps; result < 2^21 */
    }
    int32_t s = (int32_t)v - (int32_t)(EK_PDM_CIC_GAIN / 2);
    d->hist[d->head] = d->hist[d->head + EK_PDM_TAPS] = s;
    d->head = d->head + 1 == EK_PDM_TAPS ? 0 : d->head + 1;
    if (++d->cic_phase < EK_PDM_FIR_M) return 0;
    d->cic_phase = 0;
    /* hist[head .. head + TAPS - 1] holds the last TAPS outputs, oldest first */
    const int32_t *w = &d->hist[d->head];
    int64_t acc = 0;
    for (int k = 0; k < EK_PDM_TAPS; k++)
        acc += (int64_t)ek_pdm_fir[EK_PDM_TAPS - 1 - k] * w[k];
    acc = (acc + ((int64_t)1 << (EK_PDM_SHIFT - 1))) >> EK_PDM_SHIFT;   /* arithmetic shift */
    *out = (int16_t)(acc > 32767 ? 32767 : acc < -32768 ? -32768 : acc);
    return 1;
}

int ek_pdm_process(ek_pdm *d, const uint8_t *pdm, int n, int16_t *out) {
    int produced = 0;
    for (int i = 0; i < n; i++) {
        uint32_t byte = pdm[i];
        for (int b = 0; b < 8; b++) {
            uint32_t bit = d->lsb_first ? (byte >> b) & 1u : (byte >> (7 - b)) & 1u;
            uint32_t acc = d->integ[0] += bit;
            for (int k = 1; k < EK_PDM_CIC_ORDER; k++) acc = d->integ[k] += acc;
            if (++d->bit_phase == EK_PDM_CIC_R) {
                d->bit_phase = 0;
                produced += cic_output(d, out + produced);
            }
        }
    }
    return produced;
}
#endif

/* ek_micro_fft: the microfrontend's real FFT, in kissfft's FIXED_POINT=16 arithmetic,
 * which TFLM's signal library (and so micro_speech's preprocessor) uses: the features are
 * only bit-exact if every rounding and int16 wrap-around happens where kissfft has it.
 * Twin: edgekit/audio/microfrontend.py rfft_q15 (_kf_work, fft_tables).
 *
 * The EK_MF_FFT real samples are read as EK_MF_FFT/2 complex ones (even = re, odd = im);
 * that complex FFT is decimation in time, one butterfly stage per radix of the plan
 * ek_mf_factors ((p, m) pairs, radix 4 first); every butterfly input is first divided by
 * its radix (Q15 multiply, rounded), so nothing overflows. The real spectrum is then
 * split out with the "super" twiddles and a further halving. */
#ifdef EK_FE_MICRO
#include "ek_micro.h"

#define N (EK_MF_FFT / 2)

typedef struct { int16_t r, i; } cpx;

/* Q15 multiply with rounding; the result wraps to int16 as kissfft's stores do (the
 * 64-bit sum gives the same low 16 bits as kissfft's int32 one, overflow or not) */
static int16_t sround(int64_t v) { return (int16_t)((v + (1 << 14)) >> 15); }
static cpx cmul(cpx a, int16_t br, int16_t bi) {
    return (cpx){sround((int64_t)a.r * br - (int64_t)a.i * bi), sround((int64_t)a.r * bi + (int64_t)a.i * br)};
}
static cpx fixdiv(cpx a, int k) {
    const int32_t d = 32767 / k;
    return (cpx){sround((int64_t)a.r * d), sround((int64_t)a.i * d)};
}
static cpx add(cpx a, cpx b) { return (cpx){(int16_t)(a.r + b.r), (int16_t)(a.i + b.i)}; }
static cpx sub(cpx a, cpx b) { return (cpx){(int16_t)(a.r - b.r), (int16_t)(a.i - b.i)}; }
static cpx tw(int k) { return (cpx){ek_mf_twiddle_r[k], ek_mf_twiddle_i[k]}; }

static void bfly2(cpx *f, int fstride, int m) {
    for (int k = 0; k < m; k++) {
        const cpx a0 = fixdiv(f[k], 2), a1 = fixdiv(f[k + m], 2);
        const cpx t = cmul(a1, ek_mf_twiddle_r[k * fstride], ek_mf_twiddle_i[k * fstride]);
        f[k + m] = sub(a0, t);
        f[k] = add(a0, t);
    }
}

static void bfly4(cpx *f, int fstride, int m) {
    for (int k = 0; k < m; k++) {
        const cpx a0 = fixdiv(f[k], 4), a1 = fixdiv(f[k + m], 4);
        const cpx a2 = fixdiv(f[k + 2 * m], 4), a3 = fixdiv(f[k + 3 * m], 4);
        const cpx w1 = tw(k * fstride), w2 = tw(2 * k * fstride), w3 = tw(3 * k * fstride);
        const cpx s0 = cmul(a1, w1.r, w1.i), s1 = cmul(a2, w2.r, w2.i), s2 = cmul(a3, w3.r, w3.i);
        const cpx s5 = sub(a0, s1), f0 = add(a0, s1), s3 = add(s0, s2), s4 = sub(s0, s2);
        f[k + 2 * m] = sub(f0, s3);
        f[k] = add(f0, s3);
        f[k + m] = (cpx){(int16_t)(s5.r + s4.i), (int16_t)(s5.i - s4.r)};
        f[k + 3 * m] = (cpx){(int16_t)(s5.r - s4.i), (int16_t)(s5.i + s4.r)};
    }
}

/* kissfft's kf_work: the p sub-FFTs of length m (recursively), then stage `stage`'s
 * butterflies over them. in: the complex input, read with stride fstride from `start`. */
static void work(cpx *out, const cpx *in, int fstride, int stage) {
    const int p = ek_mf_factors[2 * stage], m = ek_mf_factors[2 * stage + 1];
    if (m == 1) {
        for (int q = 0; q < p; q++) out[q] = in[q * fstride];
    } else {
        for (int q = 0; q < p; q++) work(out + q * m, in + q * fstride, fstride * p, stage + 1);
    }
    if (p == 4) bfly4(out, fstride, m);
    else bfly2(out, fstride, m);   /* the plan has only radix 4 and 2 (power-of-two sizes) */
}

void ek_mf_rfft(const int16_t *x, int16_t *re, int16_t *im) {
    static cpx in[N], z[N];
    for (int k = 0; k < N; k++) in[k] = (cpx){x[2 * k], x[2 * k + 1]};
    work(z, in, 1, 0);
    const cpx d = fixdiv(z[0], 2);
    re[0] = (int16_t)(d.r + d.i);
    re[N] = (int16_t)(d.r - d.i);
    im[0] = im[N] = 0;
    for (int k = 1; k <= N / 2; k++) {
        const cpx pk = fixdiv(z[k], 2);
        const cpx pnk = fixdiv((cpx){z[N - k].r, (int16_t)-z[N - k].i}, 2);
        const cpx f1 = add(pk, pnk), f2 = sub(pk, pnk);
        const cpx t = cmul(f2, ek_mf_split_r[k - 1], ek_mf_split_i[k - 1]);
        re[k] = (int16_t)((f1.r + t.r) >> 1);
        im[k] = (int16_t)((f1.i + t.i) >> 1);
        re[N - k] = (int16_t)((f1.r - t.r) >> 1);
        im[N - k] = (int16_t)((t.i - f1.i) >> 1);
    }
}
#endif

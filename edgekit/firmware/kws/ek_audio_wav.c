/* ek_audio_wav: see ek_audio_wav.h. Walks the RIFF chunks (fmt, then data), skipping
 * others (LIST, fact, ...); samples are little-endian like the Cortex-M cores. */
#include "ek_audio_wav.h"

#include <string.h>

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

int ek_wav_open(ek_wav *w, const char *path, int32_t rate) {
    uint8_t h[24];
    int fmt_ok = 0;
    memset(w, 0, sizeof *w);
    if (!(w->f = fopen(path, "rb"))) return -1;
    if (fread(h, 1, 12, w->f) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4)) goto bad;
    while (fread(h, 1, 8, w->f) == 8) {
        const uint32_t len = le32(h + 4);
        /* a chunk over 2 GB is corrupt, and (long)len would be negative on a 32-bit core:
         * fseek would go backwards and the walk could loop forever */
        if (len > 0x7FFFFFF0u) goto bad;
        if (!memcmp(h, "fmt ", 4)) {
            if (len < 16 || fread(h + 8, 1, 16, w->f) != 16) goto bad;
            if (le16(h + 8) != 1 || le16(h + 10) != 1 || (int32_t)le32(h + 12) != rate || le16(h + 22) != 16) {
                ek_wav_close(w);
                return -3;
            }
            fmt_ok = 1;
            if (fseek(w->f, (long)(len - 16 + (len & 1)), SEEK_CUR)) goto bad;
        } else if (!memcmp(h, "data", 4)) {
            if (!fmt_ok) goto bad;
            w->samples = w->left = (int32_t)(len / 2);
            if (!w->samples) {
                ek_wav_close(w);
                return -4;
            }
            return 0;
        } else if (fseek(w->f, (long)(len + (len & 1)), SEEK_CUR)) {
            goto bad;
        }
    }
bad:
    ek_wav_close(w);
    return -2;
}

int ek_wav_read(ek_wav *w, int16_t *buf, int n) {
    if (n > w->left) n = w->left;
    const int got = (int)fread(buf, sizeof *buf, (size_t)n, w->f);
    w->left -= got;
    return got;
}

void ek_wav_close(ek_wav *w) {
    if (w->f) fclose(w->f);
    w->f = 0;
}

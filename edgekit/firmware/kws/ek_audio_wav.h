/* ek_audio_wav: an audio source reading 16-bit mono PCM wavs through stdio: files on the
 * host, files on the host machine over semihosting on emulated boards. */
#ifndef EK_AUDIO_WAV_H
#define EK_AUDIO_WAV_H
#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    int32_t samples;   /* samples in the data chunk */
    int32_t left;
} ek_wav;

/* 0, or: -1 cannot open, -2 not RIFF/WAVE, -3 not 16-bit mono PCM at `rate` Hz, -4 no data */
int ek_wav_open(ek_wav *w, const char *path, int32_t rate);
int ek_wav_read(ek_wav *w, int16_t *buf, int n);   /* samples read (0 at the end) */
void ek_wav_close(ek_wav *w);
#endif

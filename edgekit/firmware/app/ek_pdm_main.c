/* ek_pdm_main: the PDM decimator alone (host test runner). Reads packed PDM bytes from
 * argv[1] and a list of chunk sizes (int32, cycled) from argv[2], feeds the stream to one
 * ek_pdm in those chunks, writes the int16 PCM to argv[3]; argv[4] = "1": LSB first. */
#include <stdio.h>
#include <stdlib.h>

#include "ek_pdm.h"

static ek_pdm dec;
static int16_t pcm[EK_PDM_MAX_OUT(65536)];
static uint8_t buf[65536];

int main(int argc, char **argv) {
    if (argc < 5) return 2;
    FILE *fi = fopen(argv[1], "rb"), *fc = fopen(argv[2], "rb"), *fo = fopen(argv[3], "wb");
    if (!fi || !fc || !fo) return 2;
    int32_t sizes[256];
    int n_sizes = (int)fread(sizes, sizeof sizes[0], 256, fc);
    if (n_sizes < 1) return 2;
    ek_pdm_init(&dec, atoi(argv[4]));
    for (int c = 0;; c = (c + 1) % n_sizes) {
        int want = sizes[c] < 1 ? 1 : sizes[c] > 65536 ? 65536 : sizes[c];
        int got = (int)fread(buf, 1, (size_t)want, fi);
        if (got <= 0) break;
        int m = ek_pdm_process(&dec, buf, got, pcm);
        if (m > EK_PDM_MAX_OUT(got)) return 3;
        fwrite(pcm, sizeof pcm[0], (size_t)m, fo);
    }
    fclose(fi);
    fclose(fo);
    return 0;
}

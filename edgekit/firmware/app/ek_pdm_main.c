/* ek_pdm_main: the PDM decimator alone (test runner, host or QEMU). Reads packed PDM bytes
 * from argv[1] and a list of chunk sizes (int32, cycled) from argv[2], feeds the stream to
 * one ek_pdm in those chunks, writes the int16 PCM to argv[3]; argv[4] = "1": LSB first.
 * Without arguments (QEMU: files over semihosting) ek_pdm.bin, ek_chunks.bin, ek_pcm.bin,
 * and the bit order as the first character of ek_lsb.txt. */
#include <stdio.h>
#include <stdlib.h>

#include "ek_pdm.h"
#include "ek_profile.h"

static ek_pdm dec;
static int16_t pcm[EK_PDM_MAX_OUT(65536)];
static uint8_t buf[65536];

int main(int argc, char **argv) {
    int lsb_first = 0;
    if (argc >= 5) {
        lsb_first = atoi(argv[4]);
    } else {
        FILE *fl = fopen("ek_lsb.txt", "r");
        if (!fl) return 2;
        lsb_first = fgetc(fl) == '1';
        fclose(fl);
    }
    FILE *fi = fopen(argc >= 5 ? argv[1] : "ek_pdm.bin", "rb"), *fc = fopen(argc >= 5 ? argv[2] : "ek_chunks.bin", "rb"),
         *fo = fopen(argc >= 5 ? argv[3] : "ek_pcm.bin", "wb");
    if (!fi || !fc || !fo) return 2;
    int32_t sizes[256];
    int n_sizes = (int)fread(sizes, sizeof sizes[0], 256, fc);
    if (n_sizes < 1) return 2;
    ek_pdm_init(&dec, lsb_first);
    for (int c = 0;; c = (c + 1) % n_sizes) {
        int want = sizes[c] < 1 ? 1 : sizes[c] > 65536 ? 65536 : sizes[c];
        int got = (int)fread(buf, 1, (size_t)want, fi);
        if (got <= 0) break;
        ek_layer_mark(0);   /* the QEMU counter brackets the decimator alone (deploy's real-time plan) */
        int m = ek_pdm_process(&dec, buf, got, pcm);
        ek_layer_mark(1);
        if (m > EK_PDM_MAX_OUT(got)) return 3;
        fwrite(pcm, sizeof pcm[0], (size_t)m, fo);
    }
    fclose(fi);
    fclose(fo);
    return 0;
}

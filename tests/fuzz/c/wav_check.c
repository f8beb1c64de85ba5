/* Differential check of the firmware's wav reader (edgekit/firmware/kws/ek_audio_wav.c) against
 * its Python twin: for every file named in the list file argv[1], print
 * "<index> <ek_wav_open result> <samples read> <fnv1a-32 of the samples>".
 * Built for the host with AddressSanitizer + UBSan and for the emulated Cortex-M4. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ek_audio_wav.h"

int main(int argc, char **argv) {
    char path[1024];
    int16_t buf[256];
    FILE *list = fopen(argc > 1 ? argv[1] : "ek_wav_list.txt", "r");   /* no argv under QEMU */
    if (!list) return 2;
    for (int i = 0; fgets(path, sizeof path, list); i++) {
        path[strcspn(path, "\n")] = 0;
        ek_wav w;
        int rc = ek_wav_open(&w, path, 16000);
        uint32_t h = 2166136261u;
        long n = 0;
        if (rc == 0) {
            int got;
            while ((got = ek_wav_read(&w, buf, 256)) > 0) {
                for (int k = 0; k < got; k++) {
                    h = (h ^ (uint16_t)buf[k]) * 16777619u;
                }
                n += got;
            }
            ek_wav_close(&w);
        }
        printf("%d %d %ld %lu\n", i, rc, n, (unsigned long)h);
    }
    fclose(list);
    return 0;
}

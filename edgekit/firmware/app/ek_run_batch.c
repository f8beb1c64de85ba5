/* ek_run_batch: run a batch of int8 inputs through the generated model.
 * Reads N x INPUT_SIZE bytes from the input file, writes N x OUTPUT_SIZE bytes to the
 * output file (host: argv[1], argv[2]; emulated boards: ek_in.bin / ek_out.bin in QEMU's
 * working directory, over semihosting). Exit code 0, or 10 + the model's error code. */
#include <stdio.h>
#include <string.h>

#include "ek_app_model.h"   /* written by edgekit's build: maps EKM_* to the model */

static uint8_t arena[EKM_ARENA_SIZE] __attribute__((aligned(16)));

int main(int argc, char **argv) {
    const char *in_path = argc > 2 ? argv[1] : "ek_in.bin";
    const char *out_path = argc > 2 ? argv[2] : "ek_out.bin";
    FILE *fi = fopen(in_path, "rb");
    FILE *fo = fopen(out_path, "wb");
    if (!fi || !fo) return 2;
    int8_t in[EKM_INPUT_SIZE];
    int rc = 0;
    while (fread(in, 1, sizeof in, fi) == sizeof in) {
        memcpy(EKM_INPUT(arena), in, sizeof in);
        int err = EKM_INVOKE(arena);
        if (err) { rc = 10 + err; break; }
        if (fwrite(EKM_OUTPUT(arena), 1, EKM_OUTPUT_SIZE, fo) != EKM_OUTPUT_SIZE) { rc = 3; break; }
    }
    fclose(fi);
    fclose(fo);
    return rc;
}

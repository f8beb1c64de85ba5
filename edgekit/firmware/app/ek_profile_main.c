/* ek_profile_main: one warm-up and one measured inference, with a marker call before each
 * layer (EK_LAYER_BEGIN) and after the last, for the instruction-counting QEMU plugin.
 * Input: ek_in.bin (one input) if present, else zeros. */
#include <stdio.h>
#include <string.h>

#include "ek_app_model.h"

static uint8_t arena[EKM_ARENA_SIZE] __attribute__((aligned(16)));

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    int8_t in[EKM_INPUT_SIZE];
    memset(in, 0, sizeof in);
    FILE *fi = fopen("ek_in.bin", "rb");
    if (fi) {
        if (fread(in, 1, sizeof in, fi) != sizeof in) memset(in, 0, sizeof in);
        fclose(fi);
    }
    int rc = 0;
    for (int run = 0; run < 2 && !rc; run++) {   /* second run is the measured one */
        memcpy(EKM_INPUT(arena), in, sizeof in);
        rc = EKM_INVOKE(arena);
        ek_layer_mark(-1);
    }
    return rc;
}

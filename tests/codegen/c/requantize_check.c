/* Reads (x, multiplier, shift) int32 triples from argv[1], writes ek_requantize() of
 * each as int32 to argv[2]: the C side of tests/codegen/test_requantize_c.py. */
#include <stdio.h>
#include <stdint.h>

#include "ek_nn.h"

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    FILE *fi = fopen(argv[1], "rb"), *fo = fopen(argv[2], "wb");
    if (!fi || !fo) return 2;
    int32_t t[3];
    while (fread(t, sizeof t[0], 3, fi) == 3) {
        int32_t r = ek_requantize(t[0], t[1], t[2]);
        fwrite(&r, sizeof r, 1, fo);
    }
    fclose(fi);
    fclose(fo);
    return 0;
}

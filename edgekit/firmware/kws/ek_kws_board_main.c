/* ek_kws_board_main: the KWS firmware for real boards, bare-metal (edgekit's own board
 * support: baremetal/ek_board.h; the Arduino-framework twin is arduino/main.cpp).
 *
 * Start-up has set the clock tree, SysTick and the UART log. main starts the audio
 * source (the microphone, or 16-bit PCM over the UART's RX: ek_board.h), then feeds
 * every hop of EK_FE_HOP samples to ek_kws_hop() and prints over the UART
 *   edgekit kws: <source>, <F_CPU> Hz          once, at start-up
 *   detected <label> <score> at <ms>          per detection (stream time of the audio)
 *   dropped <n> samples                       when the audio ring overflowed (the
 *                                             detector fell behind real time)
 * Between hops the core sleeps (wfi) until the audio interrupt brings more samples. */
#include <stdio.h>

#include "ek_app_model.h"
#include "ek_board.h"
#include "ek_kws.h"

static uint8_t arena[EKM_ARENA_SIZE] __attribute__((aligned(16)));
static ek_kws kws;

static void report_drops(void) {
    static uint32_t reported;
    const uint32_t d = ek_audio_dropped();
    if (d != reported) {
        printf("dropped %lu samples\n", (unsigned long)(d - reported));
        reported = d;
    }
}

int main(void) {
    int16_t hop[EK_FE_HOP];
    ek_kws_event ev;
    printf("edgekit kws: %s, %lu Hz\n", ek_audio_source, (unsigned long)F_CPU);
    ek_kws_reset(&kws);
    if (ek_audio_start()) {
        printf("error: the audio source did not start\n");
        return 1;
    }
    for (;;) {
        if (ek_audio_available() < EK_FE_HOP) {
            __asm volatile("wfi");
            continue;
        }
        ek_audio_read(hop, EK_FE_HOP);
        const int rc = ek_kws_hop(&kws, arena, hop, &ev);
        if (rc < 0) {
            printf("error: the model failed (%d)\n", rc);
            return 1;
        }
        if (rc) printf("detected %s %d.%03d at %ld\n", ek_kws_labels[ev.label], ev.score / 1000,
                       ev.score % 1000, (long)ev.ms);
        report_drops();
    }
}

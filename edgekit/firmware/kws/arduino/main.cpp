/* main.cpp: the KWS firmware for real boards, Arduino framework: the `<board>_arduino`
 * environment of a deploy project, built where the PlatformIO registry can be reached (the
 * default, offline build is bare-metal: ek_kws_board_main.c).
 *
 * Audio sources (chosen by the board file, -DEK_AUDIO_PDM or -DEK_AUDIO_SERIAL):
 *   PDM     the on-board PDM microphone through the core's PDM library (Nano 33 BLE Sense:
 *           16 kHz mono, samples arrive in an interrupt and wait in a ring buffer);
 *   SERIAL  raw 16-bit little-endian 16 kHz PCM streamed over the USB serial port by the
 *           host (e.g. `sox in.wav -t raw - > /dev/ttyACM0`), for boards without a mic.
 * Each hop of 320 samples goes to ek_kws_hop(); detections are printed on Serial as
 *   detected <label> <score> at <ms> */
#include <Arduino.h>

extern "C" {
#include "ek_app_model.h"
#include "ek_kws.h"
}

#ifdef EK_AUDIO_PDM
#include <PDM.h>
#endif

static uint8_t arena[EKM_ARENA_SIZE] __attribute__((aligned(16)));
static ek_kws kws;
static volatile int16_t ring[8 * EK_FE_HOP];
static volatile uint32_t ring_w;
static uint32_t ring_r;

#ifdef EK_AUDIO_PDM
static void on_pdm() {
    int16_t buf[256];
    int n = PDM.available() / 2;
    if (n > 256) n = 256;
    PDM.read(buf, n * 2);
    for (int i = 0; i < n; i++) ring[ring_w++ % (8 * EK_FE_HOP)] = buf[i];
}
#endif

static void poll_serial() {
#ifndef EK_AUDIO_PDM
    while (Serial.available() >= 2) {
        const int lo = Serial.read(), hi = Serial.read();
        ring[ring_w++ % (8 * EK_FE_HOP)] = (int16_t)(lo | hi << 8);
    }
#endif
}

void setup() {
    Serial.begin(115200);
    ek_kws_reset(&kws);
#ifdef EK_AUDIO_PDM
    PDM.onReceive(on_pdm);
    if (!PDM.begin(1, EK_FE_RATE)) Serial.println("error: PDM microphone did not start");
#endif
}

void loop() {
    int16_t hop[EK_FE_HOP];
    ek_kws_event ev;
    poll_serial();
    if (ring_w - ring_r < EK_FE_HOP) return;
    for (int i = 0; i < EK_FE_HOP; i++) hop[i] = ring[ring_r++ % (8 * EK_FE_HOP)];
    if (ek_kws_hop(&kws, arena, hop, &ev) == 1) {
        Serial.print("detected ");
        Serial.print(ek_kws_labels[ev.label]);
        Serial.print(" ");
        Serial.print(ev.score / 1000.0f, 3);
        Serial.print(" at ");
        Serial.println((long)ev.ms);
    }
}

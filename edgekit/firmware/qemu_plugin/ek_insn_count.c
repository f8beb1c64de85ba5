/* ek_insn_count: QEMU TCG plugin counting executed guest instructions, exactly.
 *
 * Every translated block adds its instruction count to a 64-bit counter when it runs
 * (inline, no callback). Each time the block that starts at the marker address (the
 * firmware's ek_layer_mark(), called before every layer and after the last one) runs,
 * the current count is appended to a list. Differences between consecutive marks are the
 * per-layer instruction counts. At exit the marks are written, one per line, to the
 * file named by out=PATH.
 *
 * Arguments: mark=0xADDR (hex address of ek_layer_mark, Thumb bit cleared), out=PATH. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_qemu_plugin_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = EK_QEMU_PLUGIN_VERSION;

static uint64_t insns;
static uint64_t mark_addr;
static char out_path[1024] = "ek_insn_count.txt";
static uint64_t *marks;
static size_t n_marks, cap_marks;

static void on_mark(unsigned int vcpu, void *udata) {
    (void)vcpu;
    (void)udata;
    if (n_marks == cap_marks) {
        cap_marks = cap_marks ? 2 * cap_marks : 1024;
        marks = realloc(marks, cap_marks * sizeof *marks);
    }
    marks[n_marks++] = insns;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    /* the mark is recorded before this block's own instructions are added */
    if (mark_addr && qemu_plugin_tb_vaddr(tb) == mark_addr)
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insns,
                                             qemu_plugin_tb_n_insns(tb));
}

static void ek_on_exit(qemu_plugin_id_t id, void *udata) {
    (void)id;
    (void)udata;
    FILE *f = fopen(out_path, "w");
    if (!f) return;
    fprintf(f, "total %llu\n", (unsigned long long)insns);
    for (size_t i = 0; i < n_marks; i++) fprintf(f, "mark %llu\n", (unsigned long long)marks[i]);
    fclose(f);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "mark=", 5)) mark_addr = strtoull(argv[i] + 5, NULL, 16);
        else if (!strncmp(argv[i], "out=", 4)) snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, ek_on_exit, NULL);
    return 0;
}

/* ek_insn_count: QEMU TCG plugin counting executed guest instructions, exactly: in total
 * and per instruction class (the input of edgekit's cycle estimate, edgekit/toolchain/profile.py).
 *
 * Total: every translated block adds its instruction count to a 64-bit counter when it
 * runs (inline, no callback). Each time the block that starts at the marker address (the
 * firmware's ek_layer_mark(), called before every layer and after the last one) runs,
 * the current count is appended to a list. Differences between consecutive marks are the
 * per-layer instruction counts.
 *
 * Classes: when a block is translated, each Thumb instruction's encoding is decoded into
 * one class (classify(): ARMv6-M, ARMv7E-M and ARMv8-M Mainline with the FP extension;
 * encodings after the ARMv7-M Architecture Reference Manual, chapter A5 "The Thumb
 * Instruction Set Encoding", and A6.4 for the FP ones). The block's per-class counts are
 * added inline exactly like the total, so the classes add up to it. Also per block, inline:
 *   regs      registers moved by LDM/STM/PUSH/POP, LDRD/STRD (2), VLDM/VSTM/VPUSH/VPOP (words)
 *   ldr_pipe  single loads right after a single load in the same block (pipelined on M3/M4)
 *   m7_pairs  adjacent pairs the Cortex-M7's pipes could issue together (greedy, by class
 *             only: register dependencies are not checked; pipes after LLVM's ARMScheduleM7.td)
 *   bytes     instruction bytes executed (instruction fetch)
 * One callback per block run counts `taken_<class>`: runs of a block that did not start where
 * the previous block ended, by the class of that previous block's last instruction (QEMU
 * ends a block at every instruction that may write the PC, so this is a taken branch, call,
 * return or other PC write). With flash=LO:HI, data reads in [LO, HI) are counted as well
 * (flash_reads; a callback per load, only then).
 *
 * Arguments: mark=0xADDR (hex address of ek_layer_mark, Thumb bit cleared), out=PATH,
 * flash=0xLO:0xHI (optional). Output (PATH): "total N", one "mark N" per marker call, then
 * "classes NAME...", one "cmark V..." per marker call (every counter at that moment, same
 * order as the marks) and "ctotal V..." (at exit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ek_qemu_plugin_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = EK_QEMU_PLUGIN_VERSION;

enum { ALU, DSP, MUL, MAC, MULL, MLAL, DIV, LOAD, STORE, LDSTM, BRANCH, CALL,
       FP, FP_MAC, FP_DIV, FP_MEM, SYS, NCLASS };
static const char *const class_names[NCLASS] = {
    "alu", "dsp", "mul", "mac", "mull", "mlal", "div", "load", "store", "ldstm", "branch", "call",
    "fp", "fp_mac", "fp_div", "fp_mem", "sys"};
/* counters: [0, NCLASS) instructions by class, [NCLASS, 2 NCLASS) taken by class, then these */
enum { REGS = 2 * NCLASS, LDR_PIPE, M7_PAIRS, BYTES, FLASH_READS, NCOUNT };
static const char *const event_names[NCOUNT - REGS] = {"regs", "ldr_pipe", "m7_pairs", "bytes",
                                                       "flash_reads"};

static uint64_t insns, cnt[NCOUNT];
static uint64_t mark_addr, flash_lo, flash_hi;
static char out_path[1024] = "ek_insn_count.txt";
static uint64_t *marks;          /* per mark: insns, then the NCOUNT counters */
static size_t n_marks, cap_marks;

typedef struct {                 /* what the exec callback needs of a translated block */
    uint64_t start, end;
    int last;                    /* class of the block's last instruction */
} Block;
static uint64_t next_pc;         /* where the previous block ended */
static int prev_last = -1;       /* the class of its last instruction */

static unsigned bits(unsigned v) { return (unsigned)__builtin_popcount(v); }

static int classify16(unsigned h, unsigned *regs) {
    switch (h >> 12) {
    case 0x0: case 0x1: case 0x2: case 0x3: return ALU;          /* shifts, ADD/SUB/MOV/CMP */
    case 0x4:
        if ((h & 0xFC00) == 0x4000) return (h & 0xFFC0) == 0x4340 ? MUL : ALU;  /* MULS | ALU ops */
        if ((h & 0xFF00) == 0x4700) return BRANCH;                /* BX, BLX (register) */
        if ((h & 0xFC00) == 0x4400) return ALU;                   /* ADD/CMP/MOV high registers */
        return LOAD;                                              /* LDR (literal) */
    case 0x5: return (h & 0x0E00) <= 0x0400 ? STORE : LOAD;      /* register offset */
    case 0x6: case 0x7: case 0x8: case 0x9: return (h & 0x0800) ? LOAD : STORE;  /* immediate, SP */
    case 0xA: return ALU;                                         /* ADR, ADD (SP plus immediate) */
    case 0xB:
        if ((h & 0x0600) == 0x0400) { *regs = bits(h & 0x1FF); return LDSTM; }  /* PUSH, POP */
        if ((h & 0x0500) == 0x0100) return BRANCH;                /* CBZ, CBNZ */
        if ((h & 0x0F00) == 0x0200 || (h & 0x0F00) == 0x0A00) return DSP;  /* SXTB..UXTH, REV* */
        if ((h & 0x0F00) == 0x0E00 || (h & 0x0F00) == 0x0600) return SYS;  /* BKPT, CPS */
        return ALU;                                               /* ADD/SUB SP, IT, NOP, hints */
    case 0xC: *regs = bits(h & 0xFF); return LDSTM;              /* STM, LDM */
    case 0xD: return (h & 0x0E00) == 0x0E00 ? SYS : BRANCH;      /* UDF, SVC | B<cond> */
    default: return BRANCH;                                       /* B */
    }
}

static int classify_fp(unsigned h, unsigned h2, unsigned *regs) {
    if ((h2 & 0x0E00) != 0x0A00) return SYS;                     /* not CP10/CP11 (the FPU) */
    if (!(h & 0x0200)) {                                          /* extension register load/store */
        if ((h & 0x01E0) == 0x0040) return FP;                    /* VMOV (two core registers) */
        if ((h & 0x0120) == 0x0100) return FP_MEM;                /* VLDR, VSTR */
        *regs = h2 & 0xFF; return LDSTM;                          /* VLDM, VSTM, VPUSH, VPOP */
    }
    if ((h & 0x1000) || (h2 & 0x0010)) return FP;                 /* VSEL, VRINT..; VMOV core, VMRS */
    switch (((h >> 5) & 4) | ((h >> 4) & 3)) {                    /* opc1 bits 23, 21, 20 */
    case 0: case 1: case 5: case 6: return FP_MAC;                /* VMLA/VMLS, VNMLA/VNMLS, VFNMA, VFMA */
    case 4: return FP_DIV;                                        /* VDIV */
    case 7: return ((h & 0xF) == 1 && (h2 & 0xC0) == 0xC0) ? FP_DIV : FP;  /* VSQRT | VABS, VCVT.. */
    default: return FP;                                           /* VMUL, VNMUL, VADD, VSUB */
    }
}

static int classify32(unsigned h, unsigned h2, unsigned *regs) {
    if ((h & 0xF800) == 0xE800) {
        if ((h & 0x0600) == 0x0000) {
            if (!(h & 0x0040)) { *regs = bits(h2); return LDSTM; }  /* LDM, STM, PUSH.W, POP.W */
            unsigned op1 = (h >> 7) & 3, op2 = (h >> 4) & 3;
            if (op1 < 2 && op2 < 2) return op2 ? LOAD : STORE;    /* LDREX*, TBB/TBH, LDA | STREX*, STL */
            *regs = 2; return LDSTM;                              /* LDRD, STRD */
        }
        if ((h & 0x0600) == 0x0200) return (h & 0x01E0) == 0x00C0 ? DSP : ALU;  /* PKH | shifted reg */
        return classify_fp(h, h2, regs);
    }
    if ((h & 0xF800) == 0xF000) {
        if (!(h2 & 0x8000)) return (h & 0x0300) == 0x0300 ? DSP : ALU;  /* SSAT, BFI, UBFX.. | imm */
        if ((h2 & 0x5000) == 0x5000) return CALL;                 /* BL */
        if ((h2 & 0x5000) == 0x1000) return BRANCH;               /* B.W */
        if ((h2 & 0x5000) == 0x0000 && (h & 0x0380) != 0x0380) return BRANCH;  /* B<cond>.W */
        return (h & 0xFFF0) == 0xF3A0 ? ALU : SYS;                /* NOP.W, hints | MSR, MRS, DMB.. */
    }
    if ((h & 0xFF10) == 0xF800) return STORE;                     /* STR, STRB, STRH */
    if ((h & 0xFE00) == 0xF800) return LOAD;                      /* LDR*, PLD, PLI */
    if ((h & 0xFF00) == 0xFA00)                                   /* shifts by register | extend, SIMD.. */
        return ((h2 & 0x00F0) == 0 && !(h & 0x0080)) ? ALU : DSP;
    if ((h & 0xFF80) == 0xFB00) return (h2 & 0xF000) == 0xF000 ? MUL : MAC;  /* Ra = PC: no accumulate */
    if ((h & 0xFF80) == 0xFB80) {                                 /* long multiply, divide */
        unsigned op = (h >> 4) & 7;
        return (op == 0 || op == 2) ? MULL : (op == 1 || op == 3) ? DIV : MLAL;
    }
    if ((h & 0xFC00) == 0xFC00) return classify_fp(h, h2, regs);
    return SYS;
}

/* Cortex-M7 pipes (LLVM ARMScheduleM7.td): two ALU, two load, one store, one MAC, one branch,
 * one FP; 'd' (SIMD, extend, bitfield) only as the older instruction of a pair; 's' single issue. */
static const char m7_pipe[NCLASS] = {'a', 'd', 'm', 'm', 'm', 'm', 's', 'l', 't', 's', 'b', 'b',
                                     'f', 'f', 'f', 'f', 's'};

static int m7_pairable(int a, int b) {
    char p = m7_pipe[a], q = m7_pipe[b];
    return p != 's' && q != 's' && q != 'd' && (p != q || p == 'a' || p == 'l');
}

static void on_block(unsigned int vcpu, void *udata) {
    (void)vcpu;
    const Block *b = udata;
    if (b->start != next_pc && prev_last >= 0) cnt[NCLASS + prev_last]++;   /* taken */
    next_pc = b->end;
    prev_last = b->last;
    if (mark_addr && b->start == mark_addr) {   /* before this block's own instructions are added */
        if (n_marks == cap_marks) {
            cap_marks = cap_marks ? 2 * cap_marks : 1024;
            marks = realloc(marks, cap_marks * (1 + NCOUNT) * sizeof *marks);
        }
        marks[n_marks * (1 + NCOUNT)] = insns;
        memcpy(marks + n_marks * (1 + NCOUNT) + 1, cnt, sizeof cnt);
        n_marks++;
    }
}

static void on_flash_read(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata) {
    (void)vcpu;
    (void)udata;
    if (!qemu_plugin_mem_is_store(info) && vaddr >= flash_lo && vaddr < flash_hi) cnt[FLASH_READS]++;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    uint64_t add[NCOUNT] = {0};
    Block *b = malloc(sizeof *b);   /* lives as long as the block may run: never freed */
    int prev = -1, paired = 0;
    b->start = qemu_plugin_tb_vaddr(tb);
    b->end = b->start;
    b->last = ALU;
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        const uint8_t *p = qemu_plugin_insn_data(insn);
        unsigned regs = 0;
        unsigned h = p[0] | p[1] << 8;
        /* the width from the first halfword (ARMv7-M ARM A5.1): QEMU 7.2's insn_size can
         * include a halfword peeked at the end of a page */
        size_t size = (h & 0xF800) >= 0xE800 && qemu_plugin_insn_size(insn) >= 4 ? 4 : 2;
        int c = size == 4 ? classify32(h, p[2] | p[3] << 8, &regs) : classify16(h, &regs);
        add[c]++;
        add[REGS] += regs;
        add[BYTES] += size;
        if (c == LOAD && prev == LOAD) add[LDR_PIPE]++;
        if (prev >= 0 && !paired && m7_pairable(prev, c)) { add[M7_PAIRS]++; paired = 1; }
        else paired = 0;
        /* flash data reads: registered for reads and writes and filtered in the callback,
         * as QEMU 7.2 calls QEMU_PLUGIN_MEM_R callbacks for the stores */
        if (flash_hi && (c == LOAD || c == FP_MEM || c == LDSTM))
            qemu_plugin_register_vcpu_mem_cb(insn, on_flash_read, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
                                             NULL);
        b->end = qemu_plugin_insn_vaddr(insn) + size;
        b->last = prev = c;
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, b);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insns, n);
    for (int k = 0; k < NCOUNT; k++)
        if (add[k]) qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &cnt[k], add[k]);
}

static void print_row(FILE *f, const char *tag, const uint64_t *v) {
    fputs(tag, f);
    for (int k = 0; k < NCOUNT; k++) fprintf(f, " %llu", (unsigned long long)v[k]);
    fputc('\n', f);
}

static void ek_on_exit(qemu_plugin_id_t id, void *udata) {
    (void)id;
    (void)udata;
    FILE *f = fopen(out_path, "w");
    if (!f) return;
    fprintf(f, "total %llu\n", (unsigned long long)insns);
    for (size_t i = 0; i < n_marks; i++)
        fprintf(f, "mark %llu\n", (unsigned long long)marks[i * (1 + NCOUNT)]);
    fputs("classes", f);
    for (int k = 0; k < NCLASS; k++) fprintf(f, " %s", class_names[k]);
    for (int k = 0; k < NCLASS; k++) fprintf(f, " taken_%s", class_names[k]);
    for (int k = REGS; k < NCOUNT; k++) fprintf(f, " %s", event_names[k - REGS]);
    fputc('\n', f);
    for (size_t i = 0; i < n_marks; i++) print_row(f, "cmark", marks + i * (1 + NCOUNT) + 1);
    print_row(f, "ctotal", cnt);
    fclose(f);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "mark=", 5)) mark_addr = strtoull(argv[i] + 5, NULL, 16);
        else if (!strncmp(argv[i], "out=", 4)) snprintf(out_path, sizeof out_path, "%s", argv[i] + 4);
        else if (!strncmp(argv[i], "flash=", 6)) {
            char *end;
            flash_lo = strtoull(argv[i] + 6, &end, 16);
            flash_hi = *end == ':' ? strtoull(end + 1, NULL, 16) : 0;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, ek_on_exit, NULL);
    return 0;
}

/*
 * Marker-count plugin for qemu-user (TCG plugin API version 4: qemu 9.1 and later; built against qemu 10.0).
 *
 * Counts every guest instruction executed, split into classes decided once per instruction at translation time
 * from its 32-bit AArch64 encoding (classify() below). Counting costs what a plain instruction count costs: each
 * translation block gets a slot holding its per-class totals, and one inline add per block execution (no helper
 * call) counts the block's executions in that slot; a marker multiplies out the slots. Blocks past MAX_SLOTS fall
 * back to one inline add per class present in the block (and per direction of bytes). When the guest makes the marker system call (number
 * MARKER_SYSCALL, which Linux does not define, so qemu answers -ENOSYS and nothing else happens), the plugin
 * appends one line to the file named by the plugin argument out=PATH (at exit: "exit <total>", "blocks <translated>"):
 *
 *   <label> <instructions so far> <simd_fp> <integer> <load> <store> <branch> <other> <bytes loaded> <bytes stored>
 *   <other threads' instructions>
 *
 * The classes sum exactly to the instruction count; the bytes are those the loads and stores name in their
 * encodings (add_memory_bytes()), kept per block too, so they cost nothing at run time. The host side takes
 * differences between markers; the markers bracket exactly the code the guest wants counted. The counts are those of the guest thread (vCPU) that made the
 * marker call: the one that runs the inference. A runtime's housekeeping threads (ONNX Runtime 1.32 starts one at
 * import that wakes some seconds later, on the host's clock, and starts three more) would otherwise land in whichever
 * inference was under way; their instructions are the last field, for the record.
 * mix=off adds each block's instruction count inline instead (the count-only plugin this one replaced) and writes
 * "<label> <instructions so far>": the cost of the classes is measured against it
 * (tests/benchmarks/arm64_detection.py).
 *
 *   qemu-aarch64 -plugin libcount.so,out=/tmp/markers.txt[,mix=off] ...
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MARKER_SYSCALL 0x4d42 /* "MB"; far above aarch64's last syscall number */

enum insn_class { SIMD_FP, INTEGER, LOAD, STORE, BRANCH, OTHER, N_CLASSES };

typedef struct {
    uint64_t n[N_CLASSES];
    uint64_t load_bytes, store_bytes;
} Counts;

/* A block holds at most 512 instructions, so a slot's per-class counts fit 16 bits. */
typedef struct {
    uint16_t n[N_CLASSES];
    uint32_t load_bytes, store_bytes;
} Slot;

#define MAX_SLOTS (1 << 19) /* blocks with a slot; a Python + ONNX Runtime run translates about 1e5 */

static Slot *slots;
static gint n_slots;                               /* slots handed out (may pass MAX_SLOTS: then none is) */
static struct qemu_plugin_scoreboard *slot_execs;  /* per vCPU: uint64_t executions[MAX_SLOTS] */
static struct qemu_plugin_scoreboard *board;       /* per vCPU: Counts of blocks without a slot (and mix=off) */
static qemu_plugin_u64 class_entry[N_CLASSES], load_entry, store_entry;
static bool with_mix = true;
static FILE *out;

static unsigned bits(uint32_t insn, int hi, int lo)
{
    return (insn >> lo) & ((1u << (hi - lo + 1)) - 1);
}

/* Branches, exception generation and system instructions (op0 = 101x). */
static enum insn_class classify_branch_group(uint32_t insn)
{
    unsigned top = bits(insn, 31, 24);
    if (top == 0xd4 || top == 0xd5) {
        return OTHER; /* SVC/BRK, and system: hints (NOP), barriers, MRS/MSR, DC ZVA */
    }
    if (bits(insn, 31, 25) == 0x6b || bits(insn, 30, 26) == 0x05 || bits(insn, 30, 25) == 0x1a ||
        bits(insn, 30, 25) == 0x1b || bits(insn, 31, 25) == 0x2a) {
        return BRANCH; /* BR/BLR/RET, B/BL, CBZ/CBNZ, TBZ/TBNZ, B.cond */
    }
    return OTHER;
}

/*
 * Loads and stores (op0 = x1x0). A read-modify-write (atomic, CAS) or a prefetch counts as a load. Bit 22 is the
 * L (load) bit of pairs, exclusives and SIMD structures; register forms use opc (bits 23:22) instead, where any
 * non-zero opc loads for general registers (LDRS*, PRFM) and bit 22 decides for SIMD&FP registers.
 */
static enum insn_class classify_memory(uint32_t insn)
{
    unsigned group = bits(insn, 29, 28), simd = bits(insn, 26, 26), l_bit = bits(insn, 22, 22);
    switch (group) {
    case 0: /* exclusives, ordered, CAS, SIMD structures */
        if (!simd && bits(insn, 21, 21) && (bits(insn, 23, 23) || !bits(insn, 31, 31))) {
            return LOAD; /* CAS, CASP */
        }
        return l_bit ? LOAD : STORE;
    case 1: /* literal loads; RCpc unscaled (LDAPUR/STLUR); tags and memory copy/set */
        if (bits(insn, 24, 24) == 0) {
            return LOAD;
        }
        if (bits(insn, 21, 21) == 0 && bits(insn, 11, 10) == 0) {
            return bits(insn, 23, 22) == 0 ? STORE : LOAD;
        }
        return OTHER; /* MTE tag stores, CPY/SET: not on the cores this project emulates */
    case 2: /* pairs */
        return l_bit ? LOAD : STORE;
    default: /* registers: unsigned offset, unscaled, pre/post-index, register offset, atomics, LDRAA */
        if (bits(insn, 24, 24) == 0 && bits(insn, 21, 21) && (bits(insn, 11, 10) == 0 || bits(insn, 10, 10))) {
            return LOAD; /* atomic memory operations (LDADD, SWP, LDAPR), pointer-authenticated LDRAA/LDRAB */
        }
        if (simd) {
            return l_bit ? LOAD : STORE;
        }
        return bits(insn, 23, 22) == 0 ? STORE : LOAD;
    }
}

/* The top-level AArch64 decode (Arm ARM, "A64 instruction set encoding"): op0 is bits 28:25. */
static enum insn_class classify(uint32_t insn)
{
    unsigned op0 = bits(insn, 28, 25);
    if ((op0 & 0x5) == 0x4) {
        return classify_memory(insn); /* x1x0 */
    }
    if ((op0 & 0xe) == 0x8) {
        return INTEGER; /* 100x: data processing, immediate */
    }
    if ((op0 & 0xe) == 0xa) {
        return classify_branch_group(insn); /* 101x */
    }
    if ((op0 & 0x7) == 0x5) {
        return INTEGER; /* x101: data processing, register */
    }
    if ((op0 & 0x7) == 0x7 || op0 == 0x2) {
        return SIMD_FP; /* x111: scalar FP and Advanced SIMD; 0010: SVE */
    }
    return OTHER; /* SME, unallocated */
}

/* Bytes moved by one SIMD structure load/store (LD1-LD4, ST1-ST4, LDnR; Q selects 16- or 8-byte registers). */
static unsigned structure_bytes(uint32_t insn)
{
    static const unsigned registers[16] = {4, 0, 4, 0, 3, 0, 3, 1, 2, 0, 2, 0, 0, 0, 0, 0};
    unsigned selem, scale;
    if (bits(insn, 24, 24) == 0) { /* multiple structures: every register named */
        return registers[bits(insn, 15, 12)] * (bits(insn, 30, 30) ? 16 : 8);
    }
    selem = ((bits(insn, 13, 13) << 1) | bits(insn, 21, 21)) + 1; /* single structure: one lane per register */
    scale = bits(insn, 15, 14);
    if (scale == 3) {
        return selem << bits(insn, 11, 10); /* LDnR: one element, replicated */
    }
    return selem * (scale == 2 && bits(insn, 10, 10) ? 8 : 1u << scale);
}

/* Bytes a load or store reads or writes, in the Arm ARM's encodings: the access size is in the encoding, so it is
 * decided at translation like the class. A read-modify-write (atomic, CAS) counts both ways; a prefetch moves none;
 * DC ZVA (class other) stores a 64-byte block (cortex-a76's DCZID_EL0). */
static void add_memory_bytes(uint32_t insn, enum insn_class class, uint32_t *load, uint32_t *store)
{
    unsigned size = bits(insn, 31, 30), simd = bits(insn, 26, 26), n = 1u << size, rmw = 0;
    if (class == OTHER) {
        *store += (insn & 0xffffffe0) == 0xd50b7420 ? 64 : 0;
        return;
    }
    switch (bits(insn, 29, 28)) {
    case 0: /* SIMD structures; exclusives and ordered (pairs: 2 x 4 or 8 bytes); CAS and CASP read and write */
        if (simd) {
            n = structure_bytes(insn);
        } else if (bits(insn, 21, 21)) {
            rmw = bits(insn, 23, 23) || !bits(insn, 31, 31);
            n = bits(insn, 23, 23) ? n : 8u << bits(insn, 30, 30);
        }
        break;
    case 1: /* literal loads (by opc: 4, 8, 4 for LDRSW, 0 for PRFM; SIMD 4, 8, 16); RCpc unscaled */
        if (bits(insn, 24, 24) == 0) {
            static const unsigned general[4] = {4, 8, 4, 0}, vector[4] = {4, 8, 16, 0};
            n = simd ? vector[size] : general[size];
        }
        break;
    case 2: /* pairs: W/X registers 8/16 bytes, STGP 16; S/D/Q registers 8/16/32 */
        n = simd ? 8u << size : (size == 2 || (size == 1 && !bits(insn, 22, 22))) ? 16 : 8;
        break;
    default: /* registers: atomics read and write (LDAPR only reads), LDRAA 8, Q registers 16, PRFM none */
        if (bits(insn, 24, 24) == 0 && bits(insn, 21, 21) && bits(insn, 11, 10) == 0) {
            rmw = !(bits(insn, 15, 15) && bits(insn, 14, 12) == 4);
        } else if (bits(insn, 24, 24) == 0 && bits(insn, 21, 21) && bits(insn, 10, 10)) {
            n = 8;
        } else if (simd && bits(insn, 23, 23) && size == 0) {
            n = 16;
        } else if (!simd && size == 3 && bits(insn, 23, 22) == 2) {
            n = 0;
        }
    }
    *load += class == LOAD || rmw ? n : 0;
    *store += class == STORE || rmw ? n : 0;
}

/* The classes and bytes counted on one vCPU (guest thread) so far. */
static void sum_counts(unsigned int vcpu, Counts *sums)
{
    int used = MIN(g_atomic_int_get(&n_slots), MAX_SLOTS);
    const uint64_t *execs = slot_execs ? qemu_plugin_scoreboard_find(slot_execs, vcpu) : NULL;
    for (int c = 0; c < N_CLASSES; c++) {
        sums->n[c] = qemu_plugin_u64_get(class_entry[c], vcpu);
    }
    sums->load_bytes = qemu_plugin_u64_get(load_entry, vcpu);
    sums->store_bytes = qemu_plugin_u64_get(store_entry, vcpu);
    for (int i = 0; execs != NULL && i < used; i++) {
        if (execs[i]) {
            for (int c = 0; c < N_CLASSES; c++) {
                sums->n[c] += execs[i] * slots[i].n[c];
            }
            sums->load_bytes += execs[i] * slots[i].load_bytes;
            sums->store_bytes += execs[i] * slots[i].store_bytes;
        }
    }
}

static uint64_t total_of(const Counts *sums)
{
    uint64_t total = 0;
    for (int c = 0; c < N_CLASSES; c++) {
        total += sums->n[c];
    }
    return total;
}

static void add_inline(struct qemu_plugin_tb *tb, qemu_plugin_u64 entry, uint64_t n)
{
    if (n) {
        qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, entry, n);
    }
}

static void vcpu_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n_insns = qemu_plugin_tb_n_insns(tb);
    Slot counts = {{0}, 0, 0};
    int slot;

    if (!with_mix) {
        add_inline(tb, class_entry[OTHER], n_insns);
        return;
    }
    for (size_t i = 0; i < n_insns; i++) {
        uint32_t insn = 0;
        enum insn_class class;
        qemu_plugin_insn_data(qemu_plugin_tb_get_insn(tb, i), &insn, sizeof(insn));
        class = classify(insn);
        counts.n[class]++;
        if (class == LOAD || class == STORE || class == OTHER) {
            add_memory_bytes(insn, class, &counts.load_bytes, &counts.store_bytes);
        }
    }
    slot = g_atomic_int_add(&n_slots, 1);
    if (slot >= MAX_SLOTS) { /* no slot left: one inline add per class present, and per direction of bytes */
        for (int c = 0; c < N_CLASSES; c++) {
            add_inline(tb, class_entry[c], counts.n[c]);
        }
        add_inline(tb, load_entry, counts.load_bytes);
        add_inline(tb, store_entry, counts.store_bytes);
        return;
    }
    slots[slot] = counts;
    add_inline(tb, (qemu_plugin_u64){slot_execs, slot * sizeof(uint64_t)}, 1);
}

static uint64_t other_threads(unsigned int vcpu)
{
    uint64_t others = 0;
    Counts sums;
    for (int v = 0; v < qemu_plugin_num_vcpus(); v++) {
        if ((unsigned int)v != vcpu) {
            sum_counts(v, &sums);
            others += total_of(&sums);
        }
    }
    return others;
}

static void vcpu_syscall(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num, uint64_t a1, uint64_t a2,
                         uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
    Counts sums;
    if (num != MARKER_SYSCALL) {
        return;
    }
    sum_counts(vcpu_index, &sums);
    fprintf(out, "%" PRIu64 " %" PRIu64, a1, total_of(&sums));
    if (with_mix) {
        for (int c = 0; c < N_CLASSES; c++) {
            fprintf(out, " %" PRIu64, sums.n[c]);
        }
        fprintf(out, " %" PRIu64 " %" PRIu64 " %" PRIu64, sums.load_bytes, sums.store_bytes,
                other_threads(vcpu_index));
    }
    fputc('\n', out);
    fflush(out);
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
    uint64_t total = 0;
    Counts sums;
    for (int v = 0; v < qemu_plugin_num_vcpus(); v++) {
        sum_counts(v, &sums);
        total += total_of(&sums);
    }
    fprintf(out, "exit %" PRIu64 "\nblocks %d\n", total, g_atomic_int_get(&n_slots));
    fclose(out);
}

static int parse_args(int argc, char **argv, const char **path)
{
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            *path = argv[i] + 4;
        } else if (strncmp(argv[i], "mix=", 4) == 0) {
            if (!qemu_plugin_bool_parse("mix", argv[i] + 4, &with_mix)) {
                fprintf(stderr, "count plugin: mix= takes on or off, not %s\n", argv[i] + 4);
                return -1;
            }
        } else {
            fprintf(stderr, "count plugin: unknown argument %s (out=PATH, mix=on|off)\n", argv[i]);
            return -1;
        }
    }
    if (*path == NULL) {
        fprintf(stderr, "count plugin: needs out=PATH\n");
        return -1;
    }
    return 0;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    const char *path = NULL;
    if (parse_args(argc, argv, &path) != 0) {
        return -1;
    }
    out = fopen(path, "w");
    if (out == NULL) {
        fprintf(stderr, "count plugin: cannot write %s\n", path);
        return -1;
    }
    board = qemu_plugin_scoreboard_new(sizeof(Counts));
    if (with_mix) {
        slots = g_new0(Slot, MAX_SLOTS);
        slot_execs = qemu_plugin_scoreboard_new(MAX_SLOTS * sizeof(uint64_t));
    }
    for (int c = 0; c < N_CLASSES; c++) {
        class_entry[c] = (qemu_plugin_u64){board, offsetof(Counts, n) + c * sizeof(uint64_t)};
    }
    load_entry = qemu_plugin_scoreboard_u64_in_struct(board, Counts, load_bytes);
    store_entry = qemu_plugin_scoreboard_u64_in_struct(board, Counts, store_bytes);
    qemu_plugin_register_vcpu_tb_trans_cb(id, vcpu_tb_trans);
    qemu_plugin_register_vcpu_syscall_cb(id, vcpu_syscall);
    qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
    return 0;
}

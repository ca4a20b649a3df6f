/*
 * Block-profile plugin for qemu-user (TCG plugin API version 4), used by tests/benchmarks/cycle_model.py only.
 *
 * Writes, for the first counted inference of devices/arm64_emu/guest.py (between its markers 100 and 101, the
 * marker system call MARKER_SYSCALL as devices/arm64_emu/plugin/count.c reads it), every translation block that ran
 * there: its address, how many times it ran, and its instructions' 32-bit encodings, one block a line:
 *
 *   <address, hex> <executions> <encoding, 8 hex digits> ...
 *
 * Executions are counted by one inline add per block execution into the block's slot (as count.c does); the two
 * markers snapshot and difference the slots of the marking thread.
 *
 *   qemu-aarch64 -plugin libblock_profile.so,out=/tmp/blocks.txt ...
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MARKER_SYSCALL 0x4d42
#define WINDOW_START 100 /* guest.py: 100 + 2i before inference i, 101 + 2i after it */
#define WINDOW_END 101
#define MAX_SLOTS (1 << 19)

typedef struct {
    uint64_t vaddr;
    uint32_t n_insns;
    uint32_t *insns;
} Block;

static Block *blocks;
static gint n_slots;
static struct qemu_plugin_scoreboard *execs; /* per vCPU: uint64_t executions[MAX_SLOTS] */
static uint64_t *at_start;
static FILE *out;

static void vcpu_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    int slot = g_atomic_int_add(&n_slots, 1);
    if (slot >= MAX_SLOTS) {
        return; /* reported at exit: a profile with blocks missing is refused by the reader */
    }
    blocks[slot].vaddr = qemu_plugin_tb_vaddr(tb);
    blocks[slot].n_insns = n;
    blocks[slot].insns = g_new(uint32_t, n);
    for (size_t i = 0; i < n; i++) {
        qemu_plugin_insn_data(qemu_plugin_tb_get_insn(tb, i), &blocks[slot].insns[i], sizeof(uint32_t));
    }
    qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64,
                                                      (qemu_plugin_u64){execs, slot * sizeof(uint64_t)}, 1);
}

static void write_window(const uint64_t *now, int used)
{
    for (int i = 0; i < used; i++) {
        uint64_t ran = now[i] - at_start[i];
        if (ran == 0) {
            continue;
        }
        fprintf(out, "%" PRIx64 " %" PRIu64, blocks[i].vaddr, ran);
        for (uint32_t k = 0; k < blocks[i].n_insns; k++) {
            fprintf(out, " %08x", blocks[i].insns[k]);
        }
        fputc('\n', out);
    }
    fflush(out);
}

static void vcpu_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1, uint64_t a2, uint64_t a3,
                         uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
    int used = MIN(g_atomic_int_get(&n_slots), MAX_SLOTS);
    const uint64_t *now;
    if (num != MARKER_SYSCALL || (a1 != WINDOW_START && a1 != WINDOW_END)) {
        return;
    }
    now = qemu_plugin_scoreboard_find(execs, vcpu);
    if (a1 == WINDOW_START) {
        at_start = g_new0(uint64_t, MAX_SLOTS);
        memcpy(at_start, now, used * sizeof(uint64_t));
    } else if (at_start != NULL) {
        write_window(now, used);
    }
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
    fprintf(out, "blocks %d\n", g_atomic_int_get(&n_slots));
    fclose(out);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    if (argc != 1 || strncmp(argv[0], "out=", 4) != 0) {
        fprintf(stderr, "block-profile plugin: takes out=PATH only\n");
        return -1;
    }
    out = fopen(argv[0] + 4, "w");
    if (out == NULL) {
        fprintf(stderr, "block-profile plugin: cannot write %s\n", argv[0] + 4);
        return -1;
    }
    blocks = g_new0(Block, MAX_SLOTS);
    execs = qemu_plugin_scoreboard_new(MAX_SLOTS * sizeof(uint64_t));
    qemu_plugin_register_vcpu_tb_trans_cb(id, vcpu_tb_trans);
    qemu_plugin_register_vcpu_syscall_cb(id, vcpu_syscall);
    qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
    return 0;
}

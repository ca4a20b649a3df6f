/*
 * Marker-count plugin for qemu-user (TCG plugin API of qemu 7.2).
 *
 * Counts every guest instruction executed (inline add per translation block, as tests/plugin/bb.c does in its
 * inline mode: no helper call per block, so counting costs little). When the guest makes the marker system call
 * (number MARKER_SYSCALL, which Linux does not define, so qemu answers -ENOSYS and nothing else happens), the
 * plugin appends "<label> <instructions so far>" to the file named by the plugin argument out=PATH. The host side
 * takes differences between markers; the markers bracket exactly the code the guest wants counted.
 *
 *   qemu-aarch64 -plugin libcount.so,out=/tmp/markers.txt ...
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MARKER_SYSCALL 0x4d42 /* "MB"; far above aarch64's last syscall number */

static uint64_t insn_count;
static FILE *out;

static void vcpu_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insn_count,
                                             qemu_plugin_tb_n_insns(tb));
}

static void vcpu_syscall(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num, uint64_t a1, uint64_t a2,
                         uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
    if (num != MARKER_SYSCALL) {
        return;
    }
    fprintf(out, "%" PRIu64 " %" PRIu64 "\n", a1, insn_count);
    fflush(out);
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
    fprintf(out, "exit %" PRIu64 "\n", insn_count);
    fclose(out);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            path = argv[i] + 4;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "count plugin: needs out=PATH\n");
        return -1;
    }
    out = fopen(path, "w");
    if (out == NULL) {
        fprintf(stderr, "count plugin: cannot write %s\n", path);
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, vcpu_tb_trans);
    qemu_plugin_register_vcpu_syscall_cb(id, vcpu_syscall);
    qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
    return 0;
}

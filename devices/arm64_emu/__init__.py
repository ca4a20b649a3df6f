"""The emulated ARM64 CPU target (arm64-emu): host driver (emulator.py, cache.py, target.py), the guest script run
under qemu (guest.py), the count plugin (plugin/count.c) and the set-up script that builds it all (setup.sh)."""

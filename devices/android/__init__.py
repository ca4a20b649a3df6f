"""Android phones over adb, timed by TFLite's benchmark_model on the device."""

"""A named phone's CPU milliseconds predicted from arm64-emu's exact figures (instructions, instruction mix, cache
misses), through a calibration fitted on real measurements of that phone. Pure library: bench.core, numpy, scipy (and, only
where a count or calibration names no emulated CPU, the arm64-emu target, asked for its default).

    cal = calibration_for("pixel6", "int8")          # shipped first, then the user's; None when there is none
    predict(cal, count=31_656_410).ms                # milliseconds on the phone's big core, with low_ms/high_ms
"""

from bench.prediction.calibration import Calibration, calibration_for, save_calibration, user_dir
from bench.prediction.features import Figures, MissingFigures
from bench.prediction.fitting import FitRow, NotEnoughModels, Prediction, fit_calibration, predict
from bench.prediction.phones import Phone, list_phones, phone

__all__ = ["Calibration", "Figures", "FitRow", "MissingFigures", "NotEnoughModels", "Phone", "Prediction",
           "calibration_for", "fit_calibration", "list_phones", "phone", "predict", "save_calibration", "user_dir"]

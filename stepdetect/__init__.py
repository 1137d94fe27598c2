"""What the microphone hears: streaming footfall detection, accelerometer steps, cadence,
beat-footfall drift statistics and left/right asymmetry."""

from stepdetect.cadence import (
    Asymmetry,
    Gap,
    assign_feet,
    cadence_spm,
    cadence_track,
    find_gaps,
    interval_flags,
    step_asymmetry,
)
from stepdetect.evaluate import ErrorClasses, Scores, classify_errors, match_events, score_events
from stepdetect.features import onset_curve
from stepdetect.online import Footfalls, StepDetector, detect_footfalls
from stepdetect.peaks import PickParams
from stepdetect.tracker import Decision, StepTracker, Track, TrackerParams, track_events
from stepdetect.validate import ParameterError

__all__ = [
    "Asymmetry", "Decision", "ErrorClasses", "Footfalls", "Gap", "ParameterError", "PickParams", "Scores", "StepDetector", "StepTracker", "Track", "TrackerParams",
    "assign_feet", "cadence_spm", "cadence_track", "classify_errors", "detect_footfalls", "find_gaps", "interval_flags",
    "match_events", "onset_curve", "score_events", "step_asymmetry", "track_events",
]

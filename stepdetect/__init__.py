"""What the microphone hears: streaming footfall detection, accelerometer steps, cadence,
beat-footfall drift statistics and left/right asymmetry."""

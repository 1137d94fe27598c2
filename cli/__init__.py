"""The ``cadence`` command-line app: wires ``metronome`` and ``stepdetect`` together."""

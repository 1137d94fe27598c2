"""The product core of Cadence: the duplex engine, the session, its figures and the history.

No user interface here (no click, no rich): ``cli`` drives it. Imports point down only:
``cli -> coach -> {metronome, stepdetect}``.
"""

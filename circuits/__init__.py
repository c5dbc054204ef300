"""circuits: a SPICE-like solver for N-LEM crossbars and photodiode arrays.

Owns netlists, sparse modified nodal analysis with damped Newton, elements (R, C, sources,
virtual-ground readout, N-LEM cells from the compact model, photodiodes, DAC/ADC), crossbar and
photodiode-array builders, SPICE export/import of a subset checked against ngspice form by form
(:mod:`circuits.spice_parse`: ``.op`` and fixed-step ``.tran``, waveform sources, ``m=``,
``.param``, ``.options temp``, N-LEM cells as ``B`` pwl sources; anything else is refused by
line), and the FCN-1/FCN-2 co-design. Writes ``results/circuits/<study>.h5``.
"""

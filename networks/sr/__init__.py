"""Super-resolution tooling of the USRNN experiment (Fig. 6).

Owns the Y-channel metrics (:mod:`.metrics`), the MATLAB-compatible bicubic resize
(:mod:`.resize`), the LR/HR patch data (:mod:`.data`), the training loop with resumable
checkpoints and the ×4 fine-tuning (:mod:`.train`), evaluation on Set5/Set14
(:mod:`.evaluate`), the Fig. 6 panels (:mod:`.figures`) and the ``upscale`` command
(:mod:`.upscale`). The architectures live in ``networks/archs``.
"""

"""pipeline: the integration layer on top of every stage.

It holds what combines stages: the root configuration tree (:mod:`pipeline.config`), the
paper-vs-simulation rows of the device physics (:mod:`pipeline.device_rows`,
:mod:`pipeline.study_rows`), the material-to-accuracy sweep (:mod:`pipeline.material_sweep`),
run timings and the ``lemsim`` command line (:mod:`pipeline.cli`). Nothing imports it except
the workflow scripts and the tests (the import contract in ``pyproject.toml``).
"""

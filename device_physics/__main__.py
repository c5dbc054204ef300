"""``python -m device_physics``: see :mod:`device_physics.cli`."""

from device_physics.cli import main

raise SystemExit(main())

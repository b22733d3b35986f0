"""``python -m lambda_runtime module.handler``: the same command line as ``python -m awslambdaric``."""

from .runtime import main

raise SystemExit(main())

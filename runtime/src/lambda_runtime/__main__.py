"""``python -m lambda_runtime module.handler``: the same command line as ``python -m awslambdaric``."""

from .cli import main

raise SystemExit(main())
